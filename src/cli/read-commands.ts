/**
 * The CLI's read-only views of stored procs: `history`, `inspect` and `status`.
 */
import { connect } from 'node:net';
import type { Db } from 'mongodb';
import type { MongoProcStore } from '../../persistence/mongodb/mongo-proc-store.js';
import { ProcLedger } from '../../persistence/proc-ledger.js';
import { PROCESS_STATUSES, type ProcessStatus } from '../../machines/process-status.js';
import { InvalidArgumentError, ProcNotFoundError } from '../../machines/errors.js';
import { replayLedger, sessionIdOf, type ReplayRecord } from '../inspection.js';
import { childCountsOf, type ChildCounts } from '../process-context.js';
import { toProcSnapshot } from '../proc-snapshot.js';
import { connectClient, databaseFromUri } from './connect.js';
import { formatDuration, formatTable } from './format.js';
import { assertCollectionsExist, resolveKind, storeForKinds, type KindInfo } from './kind-store.js';
import { loadModule } from './kinds-module.js';
import { importPeer } from './peers.js';

/** Where the stored procs are. */
export interface StoreLocation {
  readonly uri: string;
  readonly database?: string | undefined;
  /** A kinds module (for collections and child kinds). */
  readonly modulePath?: string | undefined;
  /** The kind's collection, when no module says it. */
  readonly collection?: string | undefined;
  readonly serverTimeoutMs?: number | undefined;
}

interface OpenStore {
  readonly db: Db;
  readonly kind: KindInfo;
  readonly ledger: ProcLedger;
  readonly store: MongoProcStore;
  close(): Promise<void>;
}

async function openStore(location: StoreLocation, kind: string, command: string): Promise<OpenStore> {
  const module = location.modulePath === undefined ? undefined : await loadModule(location.modulePath);
  const info = resolveKind(kind, module, location.collection, command);
  const client = await connectClient(location.uri, location.serverTimeoutMs);
  try {
    const db = client.db(location.database ?? databaseFromUri(location.uri) ?? module?.database ?? 'procstate');
    await assertCollectionsExist(db, [info.collection], 'pass --db, --collection or a --module whose `collections` name it.');
    const store = storeForKinds(db, [info, ...info.children]);
    return { db, kind: info, ledger: new ProcLedger(store), store, close: () => client.close() };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** `procstate history`: the proc's ledger as a table, or as JSON. */
export async function runHistory(location: StoreLocation, kind: string, id: string, json: boolean): Promise<string> {
  const open = await openStore(location, kind, 'history');
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
      record.to === 'FAILURE' ? (record.snapshot?.context.errors ?? []).join('; ') : '',
    ]);
    return `${kind} ${id}: ${records.length} transitions\n\n${formatTable(['seq', 'time', 'since first', 'transition', 'cause', 'step', 'worker', 'errors'], rows)}\n`;
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
  const open = await openStore(location, kind, 'inspect');
  let replay: ReplayRecord[];
  try {
    const records = await open.ledger.history({ kind, id });
    if (records.length === 0) throw new ProcNotFoundError(kind, id);
    replay = replayLedger(kind, id, records);
  } finally {
    await open.close();
  }
  if (options.json) return `${JSON.stringify(replay, null, 2)}\n`;
  const { createWebSocketInspector } = await importPeer<typeof import('@statelyai/inspect')>('@statelyai/inspect');
  await assertInspectorListens(options.inspectorUrl);
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
  const open = await openStore(location, kind, 'status');
  try {
    let report: StatusReport;
    if (id === undefined) {
      report = { kind, counts: await open.store.countByStatus(kind) };
    } else {
      const proc = await open.ledger.load({ kind, id });
      if (proc === undefined) throw new ProcNotFoundError(kind, id);
      const children: NonNullable<StatusReport['children']> = {};
      for (const child of open.kind.children) {
        children[child.name] = childCountsOf(await open.store.countByStatus(child.name, { field: child.parentKey, value: id }));
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

/**
 * Checks that something accepts connections where the inspector should be: the inspector's
 * client queues what it cannot send and never reports a refused connection, so replaying into
 * nothing would look like success.
 * @throws InvalidArgumentError when the URL is malformed or nothing listens there
 */
async function assertInspectorListens(url: string): Promise<void> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new InvalidArgumentError(`--inspector ${JSON.stringify(url)} is not a URL (expected ws://host:port).`);
  }
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') throw new InvalidArgumentError(`--inspector must be a ws:// or wss:// URL, got ${JSON.stringify(url)}.`);
  const port = Number(target.port || (target.protocol === 'wss:' ? 443 : 80));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port, timeout: 3_000 });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new InvalidArgumentError(`no inspector answers at ${url} (${reason}): start one (the relay of @statelyai/inspect/server) or pass --format json to print the records.`));
    };
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('timeout', () => fail('no answer within 3 s'));
    socket.once('error', (error: Error) => fail(error.message));
  });
}

/** Options of `procstate list`. */
export interface ListOptions {
  readonly statuses: readonly ProcessStatus[];
  /** Only children of this parent (the kind must have a parent, per the module). */
  readonly parent?: string | undefined;
  /** Ids after this one (the `next` of the previous page). */
  readonly after?: string | undefined;
  readonly limit: number;
  readonly json: boolean;
}

/** One row of `procstate list`. */
interface ListedProc {
  readonly id: string;
  readonly process_status: unknown;
  readonly current_process: unknown;
  readonly current_process_step: unknown;
  readonly last_status_message: unknown;
  readonly complete_time: unknown;
}

/** `procstate list`: ids of a kind's procs in some statuses, a page at a time in id order. */
export async function runList(location: StoreLocation, kind: string, options: ListOptions): Promise<string> {
  const open = await openStore(location, kind, 'list');
  try {
    if (options.parent !== undefined && open.kind.parentKey === undefined) {
      throw new InvalidArgumentError(`--parent needs a kind with a parent; ${JSON.stringify(kind)} has none in the module${location.modulePath === undefined ? ' (pass --module)' : ''}.`);
    }
    const where = options.parent === undefined ? undefined : { field: open.kind.parentKey as string, value: options.parent };
    const documents = await open.store.findByStatus(kind, options.statuses, { limit: options.limit, afterId: options.after, where });
    const procs: ListedProc[] = documents.map((document) => ({
      id: document._id,
      process_status: document['process_status'] ?? null,
      current_process: document['current_process'] ?? null,
      current_process_step: document['current_process_step'] ?? null,
      last_status_message: document['last_status_message'] ?? null,
      complete_time: document['complete_time'] ?? null,
    }));
    const next = procs.length === options.limit ? (procs.at(-1)?.id ?? null) : null;
    if (options.json) return `${JSON.stringify({ kind, statuses: options.statuses, procs, next }, null, 2)}\n`;
    const text = (value: unknown) => (value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value));
    const rows = procs.map((proc) => [proc.id, text(proc.process_status), text(proc.current_process), text(proc.current_process_step), text(proc.last_status_message)]);
    return [
      `${kind}: ${procs.length} proc(s) ${options.statuses.join(' or ')}${options.parent === undefined ? '' : ` of parent ${options.parent}`}${options.after === undefined ? '' : ` after ${options.after}`}`,
      '',
      ...(rows.length === 0 ? [] : [formatTable(['id', 'status', 'process', 'step', 'message'], rows), '']),
      ...(next === null ? [] : [`more: --after ${next}`, '']),
    ].join('\n');
  } finally {
    await open.close();
  }
}
