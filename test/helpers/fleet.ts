/**
 * Worker processes for multi-process tests: `procstate worker` started in its own process (the
 * TypeScript loader in that process, so SIGKILL reaches the worker itself), with its log kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { AgendaScheduler, RedisNotificationChannel } from '../../src/agenda/index.js';
import { createProcRuntime, type ProcRuntime } from '../../src/index.js';
import { kinds } from '../fixtures/fleet-kinds.js';
import { mongoUri } from './mongo.js';

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
  readonly extraArgs?: readonly string[];
}

/** Starts `procstate worker` with the fleet fixture's kinds. */
export function startWorker(name: string, options: FleetOptions): FleetWorker {
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'src/cli/main.ts', 'worker',
      '--uri', mongoUri(), '--db', options.database, '--module', 'test/fixtures/fleet-kinds.ts',
      '--redis', 'redis://127.0.0.1:6379', '--name', name, '--concurrency', String(options.concurrency ?? 4),
      '--lease-ms', String(options.leaseMs ?? 2_000), '--lease-grace-ms', '500', '--lock-lifetime-ms', '5000',
      '--poll-ms', '1000', '--sweep-interval-ms', '1000', '--drain-timeout-ms', '10000',
      ...(options.extraArgs ?? []),
    ],
    { cwd: ROOT, env: { ...process.env, FLEET_MONGODB_URI: mongoUri(), FLEET_DATABASE: options.database }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
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

/** Polls `condition` every 100 ms; throws with the workers' logs after `timeoutMs`. */
export async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number, workers: readonly FleetWorker[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${what}\n${workers.map((worker) => `--- ${worker.name}\n${worker.log.slice(-2000)}`).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
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
