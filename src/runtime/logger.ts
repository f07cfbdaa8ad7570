/**
 * Where the runtime reports what it cannot throw to a caller: background work (job handlers,
 * heartbeats, document copies, the sweep) and runs whose results were dropped.
 */
import { errorText } from './texts.js';

/** Where the runtime reports trouble it cannot throw to a caller (background work). */
export interface RuntimeLogger {
  /** Something went wrong that procstate handled, e.g. a fenced run whose results were dropped. */
  warn(message: string, details?: Record<string, unknown>): void;
  /** Background work failed, e.g. a job handler, a heartbeat or a document copy. */
  error(message: string, details?: Record<string, unknown>): void;
}

/** The default: lines on the console, prefixed `procstate:`. */
export const consoleLogger: RuntimeLogger = {
  warn: (message, details) => console.warn(`procstate: ${message}`, details ?? ''),
  error: (message, details) => console.error(`procstate: ${message}`, details ?? ''),
};

/** Reports a failure of background work: `<context> failed` with the error's text. */
export function reportError(logger: RuntimeLogger, error: unknown, context: string): void {
  logger.error(`${context} failed`, { error: errorText(error) });
}
