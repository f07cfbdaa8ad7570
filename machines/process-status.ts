/**
 * The six values of `process_status`, NOMAD's names, and the groups NOMAD queries by.
 *
 * A leaf module: it imports nothing, so every layer (machines, persistence, runtime, CLI)
 * may depend on it.
 */

/** The statuses a proc can be in. The XState state value *is* the status. */
export const ProcessStatus = Object.freeze({
  /** Created or reset; a process may be called. */
  READY: 'READY',
  /** A process was called and waits for a worker. */
  PENDING: 'PENDING',
  /** A worker (or the caller, for a local process) runs the process function or the kind's join. */
  RUNNING: 'RUNNING',
  /** The process returned WAITING_FOR_RESULT and waits for its children. */
  WAITING_FOR_RESULT: 'WAITING_FOR_RESULT',
  /** The last process completed successfully. */
  SUCCESS: 'SUCCESS',
  /** The last process failed. */
  FAILURE: 'FAILURE',
} as const);

/** One of the six statuses. */
export type ProcessStatus = (typeof ProcessStatus)[keyof typeof ProcessStatus];

/** Every status, in lifecycle order; handy for iteration and for `fc.constantFrom`. */
export const PROCESS_STATUSES: readonly ProcessStatus[] = Object.freeze([
  ProcessStatus.READY,
  ProcessStatus.PENDING,
  ProcessStatus.RUNNING,
  ProcessStatus.WAITING_FOR_RESULT,
  ProcessStatus.SUCCESS,
  ProcessStatus.FAILURE,
]);

/** A process is called, running, or waiting for its children. */
export const STATUSES_PROCESSING: readonly ProcessStatus[] = Object.freeze([
  ProcessStatus.PENDING,
  ProcessStatus.RUNNING,
  ProcessStatus.WAITING_FOR_RESULT,
]);

/** Nothing is in flight: a new process may be called. */
export const STATUSES_NOT_PROCESSING: readonly ProcessStatus[] = Object.freeze([
  ProcessStatus.READY,
  ProcessStatus.SUCCESS,
  ProcessStatus.FAILURE,
]);

/** The last process ended, one way or the other. */
export const STATUSES_COMPLETED: readonly ProcessStatus[] = Object.freeze([
  ProcessStatus.SUCCESS,
  ProcessStatus.FAILURE,
]);

/**
 * Return-value signals of a process function that are never stored as a status:
 * `WAITING_FOR_RESULT` asks the runtime to wait for the proc's children, `DELETED` says the
 * process deleted its own object.
 */
export const ProcessResult = Object.freeze({
  WAITING_FOR_RESULT: 'WAITING_FOR_RESULT',
  DELETED: 'DELETED',
} as const);

/** A return-value signal of a process function. */
export type ProcessResult = (typeof ProcessResult)[keyof typeof ProcessResult];

/** True when `value` is one of the six statuses (useful on untrusted input). */
export function isProcessStatus(value: unknown): value is ProcessStatus {
  return typeof value === 'string' && (PROCESS_STATUSES as readonly string[]).includes(value);
}

/** True for PENDING, RUNNING and WAITING_FOR_RESULT. */
export function isProcessing(status: ProcessStatus): boolean {
  return STATUSES_PROCESSING.includes(status);
}

/** True for SUCCESS and FAILURE. */
export function isCompleted(status: ProcessStatus): boolean {
  return STATUSES_COMPLETED.includes(status);
}
