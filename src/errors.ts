/**
 * Every error procstate throws, in one tree. A leaf module: it imports nothing.
 *
 * A process that fails is not an exception here: FAILURE is a status. Exceptions mean misuse
 * (an unknown kind, an event the status does not accept) or trouble in the infrastructure.
 * Callers branch on `code` or `instanceof`, never on the message, which is for humans and
 * says what to do. Each class sets a literal `name`, so names survive bundling.
 */

/** Stable, string-valued error codes; part of the public API. */
export const ErrorCode = Object.freeze({
  UNKNOWN_KIND: 'UNKNOWN_KIND',
  UNKNOWN_PROCESS: 'UNKNOWN_PROCESS',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_DEFINITION: 'INVALID_DEFINITION',
  INVALID_TRANSITION: 'INVALID_TRANSITION',
  PROCESS_ALREADY_RUNNING: 'PROCESS_ALREADY_RUNNING',
  PROC_NOT_FOUND: 'PROC_NOT_FOUND',
  PROC_ALREADY_EXISTS: 'PROC_ALREADY_EXISTS',
  TRANSITION_CONFLICT: 'TRANSITION_CONFLICT',
  RUN_FENCED: 'RUN_FENCED',
  CORRUPT_DOCUMENT: 'CORRUPT_DOCUMENT',
  SNAPSHOT_VERSION_MISMATCH: 'SNAPSHOT_VERSION_MISMATCH',
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
  SYNC_FAILURE: 'SYNC_FAILURE',
  DISPATCH_FAILED: 'DISPATCH_FAILED',
  PERSISTENCE_FAILURE: 'PERSISTENCE_FAILURE',
} as const);

/** One of the stable error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every error procstate throws; never thrown itself. */
export abstract class ProcstateError extends Error {
  /** The stable code to branch on. */
  abstract readonly code: ErrorCode;
}

/** The kind is not defined in this runtime. */
export class UnknownKindError extends ProcstateError {
  override readonly name = 'UnknownKindError';
  readonly code = ErrorCode.UNKNOWN_KIND;
  constructor(readonly kind: string) {
    super(`Unknown kind ${JSON.stringify(kind)}: define it and pass it to the runtime's \`kinds\`.`);
  }
}

/** The kind has no process of that name (or the process is of the wrong sort for the call). */
export class UnknownProcessError extends ProcstateError {
  override readonly name = 'UnknownProcessError';
  readonly code = ErrorCode.UNKNOWN_PROCESS;
  constructor(
    readonly kind: string,
    readonly process: string,
    detail = 'is not a process of this kind',
  ) {
    super(`${JSON.stringify(process)} ${detail} (kind ${JSON.stringify(kind)}).`);
  }
}

/** An id, argument, field or option is malformed; nothing was read or written with it. */
export class InvalidArgumentError extends ProcstateError {
  override readonly name = 'InvalidArgumentError';
  readonly code = ErrorCode.INVALID_ARGUMENT;
  constructor(message: string) {
    super(message);
  }
}

/** A kind or process definition is malformed. */
export class InvalidDefinitionError extends ProcstateError {
  override readonly name = 'InvalidDefinitionError';
  readonly code = ErrorCode.INVALID_DEFINITION;
  constructor(message: string) {
    super(message);
  }
}

/** The proc's status does not accept the event; nothing changed. */
export class InvalidTransitionError extends ProcstateError {
  override readonly name = 'InvalidTransitionError';
  readonly code = ErrorCode.INVALID_TRANSITION;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly status: string,
    readonly eventType: string,
  ) {
    super(`${kind} ${JSON.stringify(id)} is ${status}, which does not accept ${eventType}.`);
  }
}

/**
 * NOMAD's `ProcessAlreadyRunning`: a blocking process is current or queued, or a local
 * process (or an unforced reset) met a processing proc.
 */
export class ProcessAlreadyRunningError extends ProcstateError {
  override readonly name = 'ProcessAlreadyRunningError';
  readonly code = ErrorCode.PROCESS_ALREADY_RUNNING;
  constructor(
    readonly kind: string,
    readonly id: string,
    message: string,
  ) {
    super(`${kind} ${JSON.stringify(id)}: ${message}`);
  }
}

/** No proc with that kind and id exists. */
export class ProcNotFoundError extends ProcstateError {
  override readonly name = 'ProcNotFoundError';
  readonly code = ErrorCode.PROC_NOT_FOUND;
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`No ${kind} with id ${JSON.stringify(id)}.`);
  }
}

/** A proc with that kind and id exists already. */
export class ProcAlreadyExistsError extends ProcstateError {
  override readonly name = 'ProcAlreadyExistsError';
  readonly code = ErrorCode.PROC_ALREADY_EXISTS;
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`A ${kind} with id ${JSON.stringify(id)} exists already.`);
  }
}

/**
 * Another writer recorded this sequence number first. The caller's view of the proc is
 * stale: reload and decide again. The runtime does this itself, a bounded number of times.
 */
export class TransitionConflictError extends ProcstateError {
  override readonly name = 'TransitionConflictError';
  readonly code = ErrorCode.TRANSITION_CONFLICT;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly seq: number,
  ) {
    super(`${kind} ${JSON.stringify(id)}: transition ${seq} was recorded by another writer; reload and retry.`);
  }
}

/**
 * A worker's write for its run was refused: its lease is gone, or someone else moved the proc
 * on (a reset, a stop, a lost-worker failure, a duplicate start elsewhere). The run must stop.
 */
export class RunFencedError extends ProcstateError {
  override readonly name = 'RunFencedError';
  readonly code = ErrorCode.RUN_FENCED;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`${kind} ${JSON.stringify(id)}: run ${runId} may no longer write (${reason}).`);
  }
}

/**
 * The stored document cannot be explained by procstate: an unknown status, a wrong type, a
 * missing field, legacy fields, or a state that disagrees with the ledger (edited by hand).
 * It is left as it is; fix it by hand or with the datafix, or reset the proc.
 */
export class CorruptDocumentError extends ProcstateError {
  override readonly name = 'CorruptDocumentError';
  readonly code = ErrorCode.CORRUPT_DOCUMENT;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly problems: readonly string[],
  ) {
    super(`${kind} ${JSON.stringify(id)} cannot be loaded, it was left untouched: ${problems.join('; ')}.`);
  }
}

/** The stored snapshot was written by a machine this build does not know (a newer version?). */
export class SnapshotVersionMismatchError extends ProcstateError {
  override readonly name = 'SnapshotVersionMismatchError';
  readonly code = ErrorCode.SNAPSHOT_VERSION_MISMATCH;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly stored: string,
    readonly supported: string,
  ) {
    super(`${kind} ${JSON.stringify(id)} was written by machine ${stored}; this build reads ${supported}. Upgrade procstate.`);
  }
}

/** A wait helper gave up before the proc got where it was awaited. */
export class WaitTimeoutError extends ProcstateError {
  override readonly name = 'WaitTimeoutError';
  readonly code = ErrorCode.WAIT_TIMEOUT;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly timeoutMs: number,
    readonly lastStatus: string | undefined,
  ) {
    super(`${kind} ${JSON.stringify(id)} did not get where it was awaited within ${timeoutMs} ms (last status ${lastStatus ?? 'unknown: not found'}).`);
  }
}

/** The same transition lost its race too many times in a row (NOMAD's `ProcessSyncFailure`). */
export class SyncFailureError extends ProcstateError {
  override readonly name = 'SyncFailureError';
  readonly code = ErrorCode.SYNC_FAILURE;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly attempts: number,
  ) {
    super(`${kind} ${JSON.stringify(id)}: gave up after ${attempts} conflicting attempts; the proc is under heavy contention.`);
  }
}

/** The store failed; `cause` holds the driver's error, unchanged. */
export class PersistenceError extends ProcstateError {
  override readonly name = 'PersistenceError';
  readonly code = ErrorCode.PERSISTENCE_FAILURE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown by a process function to fail its process with these error texts (NOMAD's
 * `ProcessFailure`). Unlike other exceptions, its errors are recorded as given, without the
 * `<ErrorClass>: ` prefix.
 *
 * @example
 * ```ts
 * throw new ProcessFailure('no mainfile found', 'upload is empty');
 * ```
 */
export class ProcessFailure extends Error {
  override readonly name = 'ProcessFailure';
  /** The error texts to record, in order. */
  readonly errors: readonly string[];
  constructor(...errors: string[]) {
    super(errors.join('; ') || 'process failed');
    this.errors = errors.length > 0 ? errors : ['process failed'];
  }
}

/**
 * The reason a run's `signal` aborts when its soft time limit passes (Celery's name). A
 * process that stops on it fails with `SoftTimeLimitExceeded: …`.
 */
export class SoftTimeLimitExceeded extends Error {
  override readonly name = 'SoftTimeLimitExceeded';
  constructor(readonly limitMs: number) {
    super(`the process exceeded its soft time limit of ${limitMs} ms`);
  }
}

/** The reason a run's `signal` aborts when its worker shuts down before the run ended. */
export class WorkerShutdown extends Error {
  override readonly name = 'WorkerShutdown';
  constructor() {
    super('the worker shut down before the process finished');
  }
}

/** Handing a call to the scheduler failed; the proc went to FAILURE. `cause` holds the scheduler's error. */
export class DispatchError extends ProcstateError {
  override readonly name = 'DispatchError';
  readonly code = ErrorCode.DISPATCH_FAILED;
  constructor(
    readonly kind: string,
    readonly id: string,
    options: { cause: unknown },
  ) {
    super(`${kind} ${JSON.stringify(id)}: the scheduler did not take the call (${options.cause instanceof Error ? options.cause.message : String(options.cause)}); the proc is FAILURE.`, options);
  }
}
