/**
 * `procstate worker`: handles jobs for the kinds of a module, on MongoDB with Agenda, until
 * SIGTERM or SIGINT; then drains (stops taking jobs, lets running ones finish) and exits.
 */
import { hostname } from 'node:os';
import { redactUri } from '../redact.js';
import type { Logger } from '../runtime/logger.js';
import { loadModule } from './kinds-module.js';
import type { OpenMongoRuntime } from './mongo-runtime.js';
import { requirePeers } from './peers.js';
import { untilSignal } from './signals.js';

/** Options of the worker command. */
export interface WorkerCommandOptions {
  readonly uri: string;
  readonly modulePath: string;
  readonly database?: string | undefined;
  readonly redis?: string | undefined;
  readonly concurrency: number;
  readonly leaseMs?: number | undefined;
  readonly leaseGraceMs?: number | undefined;
  readonly lockLifetimeMs?: number | undefined;
  readonly pollMs?: number | undefined;
  readonly sweepIntervalMs?: number | undefined;
  readonly drainTimeoutMs: number;
  readonly serverTimeoutMs: number;
  readonly name?: string | undefined;
  readonly logger: (name: string) => Logger;
}

/** Runs a worker until a signal; resolves with the exit code. */
export async function runWorker(options: WorkerCommandOptions): Promise<number> {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const logger = options.logger(`procstate worker ${name}`);
  const module = await loadModule(options.modulePath);
  await requirePeers(['mongodb', 'agenda', '@agendajs/mongo-backend'], 'procstate worker');
  const { openMongoRuntime } = await import('./mongo-runtime.js');
  const open: OpenMongoRuntime = await openMongoRuntime({ ...options, module, name, logger });
  await open.runtime.start();
  logger.info(`handling ${module.kinds.map((kind) => kind.name).join(', ')} on ${redactUri(options.uri)}`, {
    database: open.databaseName,
    concurrency: options.concurrency,
    ...(options.redis === undefined ? {} : { notifications: redactUri(options.redis) }),
  });
  return untilSignal({
    name: `procstate worker ${name}`,
    logger,
    drainTimeoutMs: options.drainTimeoutMs,
    close: (drainTimeoutMs) => open.close(drainTimeoutMs),
  });
}
