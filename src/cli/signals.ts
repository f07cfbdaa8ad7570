/**
 * Shutting a long-running command down on SIGTERM or SIGINT: drain first (stop taking jobs,
 * let running ones finish, unlock the ones not started), exit at once on a second signal.
 */
import type { Logger } from '../runtime/logger.js';

/** What {@link untilSignal} closes. */
export interface Drainable {
  readonly name: string;
  readonly logger: Logger;
  readonly drainTimeoutMs: number;
  close(drainTimeoutMs: number): Promise<void>;
  /** Called on the first signal, before the drain (e.g. to stop waiting for an upload). */
  onSignal?(signal: NodeJS.Signals): void;
}

/** The exit status of a process ended by a signal (128 + its number), as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/**
 * Resolves with an exit code once a signal came and the drain ended: 0 after SIGTERM or SIGINT
 * drained cleanly, 1 when the drain failed or a second signal cut it short.
 */
export function untilSignal(target: Drainable): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        target.logger.warn(`${signal} again, exiting without waiting`);
        resolve(1);
        return;
      }
      stopping = true;
      target.onSignal?.(signal);
      target.logger.info(`${signal}, draining for up to ${target.drainTimeoutMs} ms`);
      target.close(target.drainTimeoutMs).then(
        () => {
          target.logger.info('stopped');
          detach();
          resolve(0);
        },
        (error: unknown) => {
          target.logger.error('shutdown failed', { error });
          detach();
          resolve(1);
        },
      );
    };
    const detach = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** Resolves with the first SIGINT or SIGTERM (for commands that serve until stopped and have nothing to drain). */
export function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
