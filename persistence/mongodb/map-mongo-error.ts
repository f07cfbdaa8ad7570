/**
 * The only module that looks at server error codes: it turns them into procstate's errors and
 * wraps everything else as `PersistenceError`, with the driver's error as `cause`.
 */
import { PersistenceError, ProcstateError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';

/** E11000, the duplicate-key error of a unique index (the `_id` index included). */
export const DUPLICATE_KEY = 11000;

/** One refused document of an unordered bulk command. */
export interface BulkFailure {
  /** Its position in the command. */
  readonly index: number;
  /** The server's error code (11000 for a duplicate key). */
  readonly code: number;
  /** The server's error for that document. */
  readonly cause: unknown;
}

/**
 * The per-document failures of an unordered `insertMany`, or undefined when the command as a
 * whole failed (then any document may or may not have landed). A write-concern error also
 * counts as the whole command failing: the writes may not be durable.
 */
export function bulkWriteErrors(error: unknown): BulkFailure[] | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { writeErrors, writeConcernErrors, errorResponse } = error as {
    writeErrors?: unknown;
    writeConcernErrors?: unknown;
    errorResponse?: { writeConcernError?: unknown };
  };
  if (writeErrors === undefined) return undefined;
  if ((Array.isArray(writeConcernErrors) && writeConcernErrors.length > 0) || errorResponse?.writeConcernError !== undefined) return undefined;
  const list = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  const failures: BulkFailure[] = [];
  for (const item of list) {
    const { index, code } = item as { index?: unknown; code?: unknown };
    if (typeof index !== 'number' || typeof code !== 'number') return undefined;
    failures.push({ index, code, cause: item });
  }
  return failures;
}

/** How many documents a failed bulk command inserted, as the driver reports it; undefined when it does not say. */
export function insertedCountOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { insertedCount, result } = error as { insertedCount?: unknown; result?: { insertedCount?: unknown } };
  const count = typeof insertedCount === 'number' ? insertedCount : result?.insertedCount;
  return typeof count === 'number' ? count : undefined;
}

/** The server refused one document of a bulk command: a `PersistenceError` for that item alone. */
export function refusal(failure: BulkFailure, what: string, ref: ProcRef): PersistenceError {
  const { errmsg } = failure.cause as { errmsg?: unknown };
  return new PersistenceError(`${what} was refused (code ${failure.code}): ${String(errmsg ?? 'no message')}`, { kind: ref.kind, id: ref.id, cause: failure.cause });
}

/** Our own errors pass through; anything else becomes a `PersistenceError` naming what failed. */
export function toPersistenceError(error: unknown, what: string): ProcstateError {
  if (error instanceof ProcstateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PersistenceError(`${what} failed: ${message}`, { cause: error });
}
