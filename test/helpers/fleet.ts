/**
 * Worker processes for multi-process tests: `procstate worker` started in its own process (the
 * TypeScript loader in that process, so SIGKILL reaches the worker itself), with its log kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Db, Document } from 'mongodb';
import { expect } from 'vitest';
import { ProcLedger, type TransitionRecord } from '../../persistence/index.js';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { AgendaScheduler, RedisNotificationChannel } from '../../src/agenda/index.js';
import { createProcRuntime, replayLedger, type ProcRuntime } from '../../src/index.js';
import { kinds } from '../fixtures/fleet-kinds.js';
import { mongoUri } from './mongo.js';
import { watched, WatchdogError } from './watchdog.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** A running worker process. */
export interface FleetWorker {
  readonly name: string;
  readonly process: ChildProcess;
  log: string;
  readonly exited: Promise<number | null>;
}

/** Options of a worker of the fleet fixture (test/fixtures/fleet-kinds.ts). */
export interface FleetOptions {
  readonly database: string;
  readonly concurrency?: number;
  readonly leaseMs?: number;
  readonly leaseGraceMs?: number;
  readonly extraArgs?: readonly string[];
  /** The database as the worker reaches it. @defaultValue MONGODB_URI */
  readonly uri?: string;
  /** A command the worker runs under, e.g. `['ip', 'netns', 'exec', ns, 'faketime', '-f', '+120s']`. */
  readonly under?: readonly string[];
  /** Job notifications over Redis (127.0.0.1); without, the worker polls. @defaultValue true */
  readonly redis?: boolean;
}

/** Starts `procstate worker` with the fleet fixture's kinds. */
export function startWorker(name: string, options: FleetOptions): FleetWorker {
  const uri = options.uri ?? mongoUri();
  const command = [
    ...(options.under ?? []),
    process.execPath,
    '--import', 'tsx', 'src/cli/main.ts', 'worker',
    '--uri', uri, '--db', options.database, '--module', 'test/fixtures/fleet-kinds.ts',
    ...(options.redis === false ? [] : ['--redis', 'redis://127.0.0.1:6379']), '--name', name, '--concurrency', String(options.concurrency ?? 4),
    '--lease-ms', String(options.leaseMs ?? 2_000), '--lease-grace-ms', String(options.leaseGraceMs ?? 500), '--lock-lifetime-ms', '5000',
    '--poll-ms', '1000', '--sweep-interval-ms', '1000', '--drain-timeout-ms', '10000',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, FLEET_MONGODB_URI: uri, FLEET_DATABASE: options.database },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const worker: FleetWorker = {
    name,
    process: child,
    log: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stderr?.on('data', (chunk: Buffer) => {
    worker.log += chunk.toString();
  });
  return worker;
}

/**
 * Polls `condition` every 100 ms; after `timeoutMs` (or when one poll hangs that long) throws with
 * the server's state and the workers' logs.
 */
export async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number, workers: readonly FleetWorker[] = []): Promise<void> {
  const logs = () => workers.map((worker) => `--- ${worker.name}\n${worker.log.slice(-2000)}`).join('\n');
  let stopped = false;
  const polling = (async () => {
    while (!stopped && !(await condition())) await new Promise((resolve) => setTimeout(resolve, 100));
  })();
  try {
    await watched(`waiting for ${what}`, mongoUri(), timeoutMs, polling);
  } catch (error) {
    if (error instanceof WatchdogError) throw new WatchdogError(`${error.message}\n${logs()}`);
    throw error;
  } finally {
    stopped = true;
  }
}

/** Is the worker's process still alive? */
export function alive(worker: FleetWorker): boolean {
  return worker.process.exitCode === null && worker.process.signalCode === null;
}

/** The test's own runtime next to the fleet: it creates and calls procs, and never runs a job. */
export interface FleetProducer {
  readonly runtime: ProcRuntime;
  readonly store: MongoProcStore;
  close(): Promise<void>;
}

/**
 * Starts a runtime on the fleet fixture's collections that saves jobs for the workers and
 * announces them on Redis (Agenda with `work: false`); its sweep is off, so only the workers
 * recover procs.
 */
export async function startProducer(db: Db): Promise<FleetProducer> {
  const redis = new Redis('redis://127.0.0.1:6379');
  const store = new MongoProcStore({ db, kinds: { upload: 'uploads', entry: { documents: db.collection('entries'), parentKey: 'upload_id' } } });
  const runtime = createProcRuntime({
    kinds,
    store,
    scheduler: new AgendaScheduler({ db, work: false, notificationChannel: new RedisNotificationChannel({ client: redis }) }),
    sweepIntervalMs: 0,
    logger: { warn: () => undefined, error: () => undefined },
  });
  await runtime.start();
  return {
    runtime,
    store,
    async close() {
      await runtime.close({ drainTimeoutMs: 1_000 });
      redis.disconnect();
    },
  };
}

/** One entry of a fleet upload, as its checks left it. */
export interface CheckedEntry {
  readonly id: string;
  readonly history: readonly TransitionRecord[];
  readonly document: Document | null;
}

/**
 * The checks every fleet test makes once its upload completed: the upload joined exactly once,
 * no start ran its function twice (the fixture's `invocations`), and each entry's ledger has no
 * gap, replays through the machine, and is what its document reflects once loaded (never behind by more than a repair). Returns what it read,
 * for the test's own checks and figures.
 */
export async function expectCleanFleetRun(db: Db, store: MongoProcStore, uploadId: string, entries: number): Promise<{ uploadHistory: TransitionRecord[]; entries: CheckedEntry[] }> {
  const ledger = new ProcLedger(store);
  const uploadHistory = await ledger.history({ kind: 'upload', id: uploadId });
  expect(uploadHistory.filter((record) => record.cause === 'join.started')).toHaveLength(1);
  const duplicates = await db.collection('invocations').aggregate([{ $group: { _id: { proc: '$proc', start: '$start' }, n: { $sum: 1 } } }, { $match: { n: { $gt: 1 } } }]).toArray();
  expect(duplicates).toEqual([]);
  const checked: CheckedEntry[] = [];
  for (let index = 0; index < entries; index += 1) {
    // The fixture's entry ids (test/fixtures/fleet-kinds.ts).
    const id = `${uploadId}-e${String(index).padStart(4, '0')}`;
    const history = await ledger.history({ kind: 'entry', id });
    expect(history.map((record) => record.seq)).toEqual(history.map((_, position) => position + 1));
    expect(replayLedger('entry', id, history).filter((record) => record.type === '@xstate.snapshot' && !record.consistent)).toEqual([]);
    // A document may lag its ledger (FerretDB's updates are not atomic, and a writer can die
    // between its two writes), never lead it; a load repairs it to the head.
    const before = await db.collection('entries').findOne({ _id: id as never });
    expect(before?.['sync_counter']).toBeLessThanOrEqual(history.at(-1)?.seq as number);
    await ledger.load({ kind: 'entry', id });
    const document = await db.collection('entries').findOne({ _id: id as never });
    expect(document?.['sync_counter']).toBe(history.at(-1)?.seq);
    checked.push({ id, history, document });
  }
  return { uploadHistory, entries: checked };
}
