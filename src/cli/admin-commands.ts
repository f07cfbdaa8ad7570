/**
 * The CLI's commands that change a proc: `call`, `reset` and `terminate`. Each goes through a
 * runtime on the kinds module, so it is a recorded transition (never a raw update), checked by
 * the machine like any call from code. The runtime only produces jobs; workers run them.
 */
import type { JsonValue } from '../define-kind.js';
import type { ProcSnapshot } from '../proc-snapshot.js';
import type { RuntimeLogger } from '../runtime/logger.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';
import { resolveKind } from './kind-store.js';
import { loadModule } from './kinds-module.js';
import { requirePeers } from './peers.js';
import type { StoreLocation } from './read-commands.js';

/** What one admin command does to the runtime. */
export type AdminAction = (runtime: ProcRuntime) => Promise<ProcSnapshot>;

/** `procstate call KIND ID PROCESS`: queues or starts the process, as `runtime.call` does. */
export function callAction(kind: string, id: string, process: string, args: JsonValue | undefined): AdminAction {
  return (runtime) => runtime.call(kind, id, process, args);
}

/** `procstate reset KIND ID`: back to READY, as `runtime.reset` does. */
export function resetAction(kind: string, id: string, force: boolean): AdminAction {
  return (runtime) => runtime.reset(kind, id, { force });
}

/** `procstate terminate KIND ID`: FAILURE with the reason, as `runtime.terminate` does. */
export function terminateAction(kind: string, id: string, reason: string | undefined): AdminAction {
  return (runtime) => runtime.terminate(kind, id, reason === undefined ? {} : { reason });
}

/** Runs one admin action on MongoDB and returns what to print. */
export async function runAdmin(location: StoreLocation & { readonly modulePath: string }, kind: string, command: string, action: AdminAction, json: boolean, logger: RuntimeLogger): Promise<string> {
  const module = await loadModule(location.modulePath);
  const info = resolveKind(kind, module, location.collection, command);
  await requirePeers(['mongodb', 'agenda', '@agendajs/mongo-backend'], `procstate ${command}`);
  const { openMongoRuntime } = await import('./mongo-runtime.js');
  const open = await openMongoRuntime({
    uri: location.uri,
    module,
    database: location.database,
    serverTimeoutMs: location.serverTimeoutMs,
    work: false,
    sweepIntervalMs: 0,
    mustExist: { collections: [info.collection], hint: 'pass --db, or a --module whose `collections` name it.' },
    logger,
  });
  try {
    await open.runtime.start();
    const proc = await action(open.runtime);
    if (json) return `${JSON.stringify(proc, null, 2)}\n`;
    return `${kind} ${proc.id}: ${proc.process_status}${proc.current_process === null ? '' : ` (${proc.current_process})`}${proc.last_status_message === null ? '' : ` — ${proc.last_status_message}`}\n`;
  } finally {
    await open.close(5_000);
  }
}
