/**
 * `procstate worker`: handles jobs for the kinds of a module, on MongoDB with Agenda, until
 * SIGTERM or SIGINT; then drains (stops taking jobs, lets running ones finish) and exits.
 */
import { hostname } from 'node:os';
import { redactUri } from './format.js';
import { stderrLogger } from './logger.js';
import { loadModule, openMongoRuntime } from './mongo-runtime.js';

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
  readonly name?: string | undefined;
}

/** Runs a worker until a signal; resolves with the exit code. */
export async function runWorker(options: WorkerCommandOptions): Promise<number> {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const logger = stderrLogger(`procstate worker ${name}`);
  const module = await loadModule(options.modulePath);
  const open = await openMongoRuntime({ ...options, module, name, logger });
  await open.runtime.start();
  process.stderr.write(
    `procstate worker ${name}: handling ${module.kinds.map((kind) => kind.name).join(', ')} on ${redactUri(options.uri)} (database ${open.databaseName}), concurrency ${options.concurrency}${options.redis === undefined ? '' : `, notifications via ${redactUri(options.redis)}`}\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`procstate worker ${name}: ${signal} again, exiting without waiting\n`);
        resolve(1);
        return;
      }
      stopping = true;
      process.stderr.write(`procstate worker ${name}: ${signal}, draining for up to ${options.drainTimeoutMs} ms\n`);
      open.close(options.drainTimeoutMs).then(
        () => {
          process.stderr.write(`procstate worker ${name}: stopped\n`);
          resolve(0);
        },
        (error: unknown) => {
          logger.error('shutdown failed', { error: error instanceof Error ? error.message : String(error) });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
