/**
 * The only module that looks at server error codes: it turns them into procstate's errors and
 * wraps everything else as `PersistenceError`, with the driver's error as `cause`.
 */
import { PersistenceError, ProcstateError } from '../../src/errors.js';

const DUPLICATE_KEY = 11000;

/** True for E11000, the duplicate-key error of a unique index (the `_id` index included). */
export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DUPLICATE_KEY;
}

/** Our own errors pass through; anything else becomes a `PersistenceError` naming what failed. */
export function toPersistenceError(error: unknown, what: string): ProcstateError {
  if (error instanceof ProcstateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PersistenceError(`${what} failed: ${message}`, { cause: error });
}
