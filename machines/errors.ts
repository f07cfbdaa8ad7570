/**
 * Every error procstate throws, in one tree. A leaf module at the bottom of the layers: it
 * imports nothing, so machines, persistence, the runtime and the CLI all throw from here.
 *
 * A process that fails is not an exception: FAILURE is a status. Exceptions mean one of two
 * things, and the tree says which (the MongoDB driver's split into API and runtime errors):
 *
 * - {@link ProcstateMisuseError}: the caller asked for something that cannot be done — an
 *   unknown kind, a malformed id, an event the status does not accept. Nothing was read or
 *   written with it; fix the call.
 * - {@link ProcstateRuntimeError}: the world got in the way — another writer won, a document
 *   was edited by hand, the database failed, a wait ran out. The call was well-formed.
 *
 * Callers branch on `code` or `instanceof`, never on the message, which is for humans and says
 * what to do. Each class sets a literal `name`, so names survive bundling. Errors about one
 * proc carry its `kind` and `id` on the base class.
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
  CLOSED: 'CLOSED',
  TRANSITION_CONFLICT: 'TRANSITION_CONFLICT',
  RUN_FENCED: 'RUN_FENCED',
  CORRUPT_DOCUMENT: 'CORRUPT_DOCUMENT',
  INVALID_FIELDS: 'INVALID_FIELDS',
  SNAPSHOT_VERSION_MISMATCH: 'SNAPSHOT_VERSION_MISMATCH',
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
  SYNC_FAILURE: 'SYNC_FAILURE',
  DISPATCH_FAILED: 'DISPATCH_FAILED',
  PERSISTENCE_FAILURE: 'PERSISTENCE_FAILURE',
  MIGRATION_LOCKED: 'MIGRATION_LOCKED',
  INVARIANT_VIOLATED: 'INVARIANT_VIOLATED',
  MISSING_PEER: 'MISSING_PEER',
} as const);

/** One of the stable error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What every procstate error may carry besides its message. */
export interface ProcstateErrorOptions {
  /** The kind of the proc the error is about. */
  readonly kind?: string | undefined;
  /** The id of the proc the error is about. */
  readonly id?: string | undefined;
  /** The error that caused this one (a driver's error, a scheduler's error), unchanged. */
  readonly cause?: unknown;
}

/** Base of every error procstate throws; never thrown itself. */
export abstract class ProcstateError extends Error {
  /** The stable code to branch on. */
  abstract readonly code: ErrorCode;
  /** The kind of the proc the error is about, when it is about one. */
  readonly kind: string | undefined;
  /** The id of the proc the error is about, when it is about one. */
  readonly id: string | undefined;

  constructor(message: string, options: ProcstateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.id = options.id;
  }
}

/** The caller asked for something that cannot be done; nothing was read or written with it. */
export abstract class ProcstateMisuseError extends ProcstateError {}

/** The call was well-formed, but another writer, the data or the infrastructure got in the way. */
export abstract class ProcstateRuntimeError extends ProcstateError {}

/** `upload "u1"`: how messages name a proc. */
function procName(kind: string, id: string): string {
  return `${kind} ${JSON.stringify(id)}`;
}

// ----- Misuse ------------------------------------------------------------------------------

/** The kind is not defined in this runtime. */
export class UnknownKindError extends ProcstateMisuseError {
  override readonly name = 'UnknownKindError';
  readonly code = ErrorCode.UNKNOWN_KIND;
  constructor(kind: string, hint = "define it and pass it to the runtime's `kinds`") {
    super(`Unknown kind ${JSON.stringify(kind)}: ${hint}.`, { kind });
  }
}

/** The kind has no process of that name (or the process is of the wrong sort for the call). */
export class UnknownProcessError extends ProcstateMisuseError {
  override readonly name = 'UnknownProcessError';
  readonly code = ErrorCode.UNKNOWN_PROCESS;
  constructor(
    kind: string,
    readonly process: string,
    detail = 'is not a process of this kind',
  ) {
    super(`${JSON.stringify(process)} ${detail} (kind ${JSON.stringify(kind)}).`, { kind });
  }
}

/** One problem a schema found: where in the value (`entries`, `files.0.path`; empty for the value itself) and what. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * An id, argument, field or option is malformed; nothing was read or written with it. When a
 * kind's schema refused a process's arguments or a proc's fields, `issues` lists what it found.
 */
export class InvalidArgumentError extends ProcstateMisuseError {
  override readonly name = 'InvalidArgumentError';
  readonly code = ErrorCode.INVALID_ARGUMENT;
  /** What a schema found wrong; empty when no schema was involved. */
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, options: ProcstateErrorOptions & { readonly issues?: readonly ValidationIssue[] | undefined } = {}) {
    super(message, options);
    this.issues = Object.freeze([...(options.issues ?? [])]);
  }
}

/**
 * An optional peer package that this path needs is not installed; the message says which
 * package to install and what needs it.
 */
export class MissingPeerError extends ProcstateMisuseError {
  override readonly name = 'MissingPeerError';
  readonly code = ErrorCode.MISSING_PEER;
  constructor(
    readonly packageName: string,
    readonly neededFor: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${neededFor} needs the package ${JSON.stringify(packageName)}, which is not installed: npm install ${packageName}`, options);
  }
}

/** A kind or process definition is malformed. */
export class InvalidDefinitionError extends ProcstateMisuseError {
  override readonly name = 'InvalidDefinitionError';
  readonly code = ErrorCode.INVALID_DEFINITION;
}

/** The proc's status does not accept the event; nothing changed. */
export class InvalidTransitionError extends ProcstateMisuseError {
  override readonly name = 'InvalidTransitionError';
  readonly code = ErrorCode.INVALID_TRANSITION;
  constructor(
    kind: string,
    id: string,
    readonly status: string,
    readonly eventType: string,
  ) {
    super(`${procName(kind, id)} is ${status}, which does not accept ${eventType}.`, { kind, id });
  }
}

/**
 * NOMAD's `ProcessAlreadyRunning`: a blocking process is current or queued, or a local
 * process (or an unforced reset) met a processing proc.
 */
export class ProcessAlreadyRunningError extends ProcstateMisuseError {
  override readonly name = 'ProcessAlreadyRunningError';
  readonly code = ErrorCode.PROCESS_ALREADY_RUNNING;
  constructor(kind: string, id: string, message: string) {
    super(`${procName(kind, id)}: ${message}`, { kind, id });
  }
}

/** No proc with that kind and id exists. */
export class ProcNotFoundError extends ProcstateMisuseError {
  override readonly name = 'ProcNotFoundError';
  readonly code = ErrorCode.PROC_NOT_FOUND;
  constructor(kind: string, id: string) {
    super(`No ${kind} with id ${JSON.stringify(id)}.`, { kind, id });
  }
}

/** A proc with that kind and id exists already. */
export class ProcAlreadyExistsError extends ProcstateMisuseError {
  override readonly name = 'ProcAlreadyExistsError';
  readonly code = ErrorCode.PROC_ALREADY_EXISTS;
  constructor(kind: string, id: string) {
    super(`A ${kind} with id ${JSON.stringify(id)} exists already.`, { kind, id });
  }
}

/** The runtime or scheduler was closed (or is draining) and takes no more work; create a new one. */
export class ClosedError extends ProcstateMisuseError {
  override readonly name = 'ClosedError';
  readonly code = ErrorCode.CLOSED;
}

// ----- Runtime -----------------------------------------------------------------------------

/**
 * Another writer recorded this sequence number first. The caller's view of the proc is
 * stale: reload and decide again. The runtime does this itself, a bounded number of times.
 */
export class TransitionConflictError extends ProcstateRuntimeError {
  override readonly name = 'TransitionConflictError';
  readonly code = ErrorCode.TRANSITION_CONFLICT;
  constructor(
    kind: string,
    id: string,
    readonly seq: number,
  ) {
    super(`${procName(kind, id)}: transition ${seq} was recorded by another writer; reload and retry.`, { kind, id });
  }
}

/**
 * A worker's write for its run was refused: its lease is gone, or someone else moved the proc
 * on (a reset, a stop, a lost-worker failure, a duplicate start elsewhere). The run must stop.
 */
export class RunFencedError extends ProcstateRuntimeError {
  override readonly name = 'RunFencedError';
  readonly code = ErrorCode.RUN_FENCED;
  constructor(
    kind: string,
    id: string,
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`${procName(kind, id)}: run ${runId} may no longer write (${reason}).`, { kind, id });
  }
}

/**
 * The stored document cannot be explained by procstate: an unknown status, a wrong type, a
 * missing field, legacy fields, or a state that disagrees with the ledger (edited by hand).
 * It is left as it is; fix it by hand or with the datafix, or reset the proc.
 */
export class CorruptDocumentError extends ProcstateRuntimeError {
  override readonly name = 'CorruptDocumentError';
  readonly code = ErrorCode.CORRUPT_DOCUMENT;
  constructor(
    kind: string,
    id: string,
    readonly problems: readonly string[],
  ) {
    super(`${procName(kind, id)} cannot be loaded, it was left untouched: ${problems.join('; ')}.`, { kind, id });
  }
}

/**
 * A stored document's own fields do not match its kind's `fields` schema (someone wrote them
 * outside procstate, or the schema changed). Reported, never repaired: the document is left as it is.
 */
export class InvalidFieldsError extends ProcstateRuntimeError {
  override readonly name = 'InvalidFieldsError';
  readonly code = ErrorCode.INVALID_FIELDS;
  constructor(
    kind: string,
    id: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(`The fields of ${procName(kind, id)} do not match the kind's schema, and were left as they are: ${issues.map(issueText).join('; ')}.`, { kind, id });
  }
}

/** `path: message`, or the message alone for the value itself. */
export function issueText(issue: ValidationIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/** The stored snapshot was written by a machine this build does not know (a newer version?). */
export class SnapshotVersionMismatchError extends ProcstateRuntimeError {
  override readonly name = 'SnapshotVersionMismatchError';
  readonly code = ErrorCode.SNAPSHOT_VERSION_MISMATCH;
  constructor(
    kind: string,
    id: string,
    readonly stored: string,
    readonly supported: string,
  ) {
    super(`${procName(kind, id)} was written by machine ${stored}; this build reads ${supported}. Upgrade procstate.`, { kind, id });
  }
}

/** A wait helper gave up before the proc got where it was awaited. */
export class WaitTimeoutError extends ProcstateRuntimeError {
  override readonly name = 'WaitTimeoutError';
  readonly code = ErrorCode.WAIT_TIMEOUT;
  constructor(
    kind: string,
    id: string,
    readonly timeoutMs: number,
    readonly lastStatus: string | undefined,
  ) {
    super(`${procName(kind, id)} did not get where it was awaited within ${timeoutMs} ms (last status ${lastStatus ?? 'unknown: not found'}).`, { kind, id });
  }
}

/** The same transition kept losing its race, at least 12 times over at least 5 s (NOMAD's `ProcessSyncFailure`). */
export class SyncFailureError extends ProcstateRuntimeError {
  override readonly name = 'SyncFailureError';
  readonly code = ErrorCode.SYNC_FAILURE;
  constructor(
    kind: string,
    id: string,
    readonly attempts: number,
  ) {
    super(`${procName(kind, id)}: gave up after ${attempts} conflicting attempts; the proc is under heavy contention.`, { kind, id });
  }
}

/** The store failed; `cause` holds the driver's error, unchanged. */
export class PersistenceError extends ProcstateRuntimeError {
  override readonly name = 'PersistenceError';
  readonly code = ErrorCode.PERSISTENCE_FAILURE;
}

/** Handing a call to the scheduler failed; the proc went to FAILURE. `cause` holds the scheduler's error. */
export class DispatchError extends ProcstateRuntimeError {
  override readonly name = 'DispatchError';
  readonly code = ErrorCode.DISPATCH_FAILED;
  constructor(kind: string, id: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`${procName(kind, id)}: the scheduler did not take the call (${reason}); the proc is FAILURE.`, { kind, id, cause: options.cause });
  }
}

/** Another datafix run holds the lock of the same collections; nothing was migrated by this one. */
export class MigrationLockedError extends ProcstateRuntimeError {
  override readonly name = 'MigrationLockedError';
  readonly code = ErrorCode.MIGRATION_LOCKED;
  constructor(
    readonly owner: string,
    readonly heartbeatAt: Date,
  ) {
    super(`another migration run (${owner}) holds the lock; it was last seen at ${heartbeatAt.toISOString()}`);
  }
}

/**
 * A property test of kinds (`procstate/testing`) found the runtime's guarantees broken after a
 * step: each violation names the proc and what is wrong. fast-check then shrinks the sequence.
 */
export class InvariantViolationError extends ProcstateRuntimeError {
  override readonly name = 'InvariantViolationError';
  readonly code = ErrorCode.INVARIANT_VIOLATED;
  constructor(
    readonly violations: readonly string[],
    readonly after: string,
  ) {
    super(`after ${after}: ${violations.join('; ')}`);
  }
}

// ----- Signals for process functions (not procstate errors: they end a process, not a call) ---

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
