/**
 * The CLI's read-only views of stored procs: `history`, `inspect` and `status`.
 */
import type { Db } from 'mongodb';
import { MongoProcStore } from '../../persistence/mongodb/mongo-proc-store.js';
import { ProcLedger } from '../../persistence/proc-ledger.js';
import { PROCESS_STATUSES, type ProcessStatus } from '../../machines/process-status.js';
import type { KindDefinition } from '../define-kind.js';
import { ProcNotFoundError } from '../../machines/errors.js';
import { replayLedger, sessionIdOf, type ReplayRecord } from '../inspection.js';
import { childCountsOf, type ChildCounts } from '../process-context.js';
import { toProcSnapshot } from '../proc-snapshot.js';
import { connectClient, databaseFromUri } from './connect.js';
import { formatDuration, formatTable } from './format.js';
import { loadModule, storeForKinds } from './mongo-runtime.js';

/** Where the stored procs are. */
export interface StoreLocation {
  readonly uri: string;
  readonly database?: string | undefined;
  /** A kinds module (for collections and child kinds). */
  readonly modulePath?: string | undefined;
  /** The kind's collection, when no module says it. @defaultValue the kind's name */
  readonly collection?: string | undefined;
}

interface OpenStore {
  readonly db: Db;
  readonly ledger: ProcLedger;
  readonly store: MongoProcStore;
  readonly children: readonly KindDefinition[];
  close(): Promise<void>;
}

async function openStore(location: StoreLocation, kind: string): Promise<OpenStore> {
  const module = location.modulePath === undefined ? undefined : await loadModule(location.modulePath);
  const client = await connectClient(location.uri);
  const db = client.db(location.database ?? databaseFromUri(location.uri) ?? module?.database ?? 'procstate');
  const kinds = module?.kinds ?? [];
  const children = kinds.filter((candidate) => candidate.parent?.kind === kind);
  const collectionOf = (name: string) => module?.collections?.[name] ?? (name === kind ? (location.collection ?? name) : name);
  // Without a module only the kind itself is known, as a kind without a parent.
  const store = storeForKinds(db, [kinds.find((candidate) => candidate.name === kind) ?? { name: kind }, ...children], collectionOf);
  return { db, ledger: new ProcLedger(store), store, children, close: () => client.close() };
}

/** `procstate history`: the proc's ledger as a table, or as JSON. */
export async function runHistory(location: StoreLocation, kind: string, id: string, json: boolean): Promise<string> {
  const open = await openStore(location, kind);
  try {
    const records = await open.ledger.history({ kind, id });
    if (records.length === 0) throw new ProcNotFoundError(kind, id);
    if (json) return `${JSON.stringify(records, null, 2)}\n`;
    const start = records[0]?.at.getTime() ?? 0;
    const rows = records.map((record) => [
      String(record.seq),
      record.at.toISOString(),
      `+${formatDuration(record.at.getTime() - start)}`,
      `${record.from ?? '-'} -> ${record.to ?? '(deleted)'}`,
      record.cause,
      record.snapshot?.context.current_process_step ?? '',
      record.worker ?? '',
    ]);
    return `${kind} ${id}: ${records.length} transitions\n\n${formatTable(['seq', 'time', 'since first', 'transition', 'cause', 'step', 'worker'], rows)}\n`;
  } finally {
    await open.close();
  }
}

/** Options of `procstate inspect`. */
export interface InspectOptions {
  /** Print the replay records as JSON instead of sending them. */
  readonly json: boolean;
  /** The WebSocket inspector (e.g. `@statelyai/inspect/server`'s relay). @defaultValue ws://127.0.0.1:8080 */
  readonly inspectorUrl: string;
  /** Pause between steps, so the inspector shows the proc as it happened. @defaultValue 400 */
  readonly stepMs: number;
}

/** `procstate inspect`: replays the proc's ledger into an inspector, or prints the records. */
export async function runInspect(location: StoreLocation, kind: string, id: string, options: InspectOptions, say: (line: string) => void): Promise<string> {
  const open = await openStore(location, kind);
  let replay: ReplayRecord[];
  try {
    const records = await open.ledger.history({ kind, id });
    if (records.length === 0) throw new ProcNotFoundError(kind, id);
    replay = replayLedger(kind, id, records);
  } finally {
    await open.close();
  }
  if (options.json) return `${JSON.stringify(replay, null, 2)}\n`;
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url: options.inspectorUrl });
  const sessionId = sessionIdOf(kind, id);
  say(`replaying ${replay.filter((record) => record.type === '@xstate.snapshot').length} transitions of ${sessionId} into ${options.inspectorUrl}`);
  for (const record of replay) {
    switch (record.type) {
      case '@xstate.actor':
        inspector.actor(sessionId, record.snapshot, { definition: record.definition });
        break;
      case '@xstate.event':
        inspector.event(sessionId, record.event);
        break;
      case '@xstate.snapshot':
        inspector.snapshot(sessionId, record.snapshot, { event: record.event });
        say(`  #${record.seq} ${record.at} ${record.event.type} -> ${record.snapshot.value ?? '(deleted)'}${record.consistent ? '' : '  (the machine would not have made this transition)'}`);
        await new Promise((resolve) => setTimeout(resolve, options.stepMs));
        break;
    }
  }
  // Let the socket deliver what it buffered before the process ends.
  await new Promise((resolve) => setTimeout(resolve, Math.max(500, options.stepMs)));
  inspector.stop();
  const inconsistent = replay.filter((record) => record.type === '@xstate.snapshot' && !record.consistent).length;
  return inconsistent === 0 ? 'replayed; every transition is one the machine makes\n' : `replayed; ${inconsistent} transition(s) the machine would not make\n`;
}

/** What `procstate status` reports. */
interface StatusReport {
  readonly kind: string;
  readonly counts: Record<ProcessStatus, number>;
  readonly proc?: ReturnType<typeof toProcSnapshot> | undefined;
  readonly children?: Record<string, ChildCounts> | undefined;
}

/** `procstate status`: counts by status, or one proc with its children by status. */
export async function runStatus(location: StoreLocation, kind: string, id: string | undefined, json: boolean): Promise<string> {
  const open = await openStore(location, kind);
  try {
    let report: StatusReport;
    if (id === undefined) {
      report = { kind, counts: await open.store.countByStatus(kind) };
    } else {
      const proc = await open.ledger.load({ kind, id });
      if (proc === undefined) throw new ProcNotFoundError(kind, id);
      const children: NonNullable<StatusReport['children']> = {};
      for (const child of open.children) {
        children[child.name] = childCountsOf(await open.store.countByStatus(child.name, { field: (child.parent as { key: string }).key, value: id }));
      }
      report = { kind, counts: await open.store.countByStatus(kind), proc: toProcSnapshot(proc), children };
    }
    if (json) return `${JSON.stringify(report, null, 2)}\n`;
    return formatStatus(report);
  } finally {
    await open.close();
  }
}

function formatStatus(report: StatusReport): string {
  const counts = PROCESS_STATUSES.map((status) => [status, String(report.counts[status])]);
  const lines = [`${report.kind}: ${Object.values(report.counts).reduce((a, b) => a + b, 0)} procs`, formatTable(['status', 'count'], counts), ''];
  if (report.proc !== undefined) {
    const proc = report.proc;
    lines.push(
      `${report.kind} ${proc.id}: ${proc.process_status}${proc.process_running ? ' (processing)' : ''}`,
      `  process: ${proc.current_process ?? '-'}, step: ${proc.current_process_step ?? '-'}`,
      `  message: ${proc.last_status_message ?? '-'}`,
      ...(proc.errors.length > 0 ? [`  errors: ${proc.errors.join(', ')}`] : []),
      ...(proc.warnings.length > 0 ? [`  warnings: ${proc.warnings.length}`] : []),
      ...(proc.queue.length > 0 ? [`  queued: ${proc.queue.map((call) => call.process).join(', ')}`] : []),
    );
    for (const [name, child] of Object.entries(report.children ?? {})) {
      lines.push(`  ${name}: ${child.processed}/${child.total} processed, ${child.failed} failed, ${child.processing} processing`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
