/**
 * Events of the proc machine: facts from callers, workers, the sweeper and operators.
 *
 * Types are lowercase, dot-namespaced and in the past tense, so they never look like a
 * status in logs. Every event carries its own time (`at`), which keeps the machine pure.
 */
import type { ProcessCall } from './proc-context.js';

/** Event type names, as stored in each ledger record's `cause`. */
export const ProcEventType = Object.freeze({
  PROCESS_CALLED: 'process.called',
  PROCESS_CALLED_LOCALLY: 'process.called_locally',
  DISPATCH_FAILED: 'dispatch.failed',
  WORKER_STARTED: 'worker.started',
  RUN_PROGRESSED: 'run.progressed',
  RUN_SOFT_TIMED_OUT: 'run.soft_timed_out',
  RUN_SUCCEEDED: 'run.succeeded',
  RUN_WAITING: 'run.waiting',
  RUN_FAILED: 'run.failed',
  JOIN_STARTED: 'join.started',
  WORKER_LOST: 'worker.lost',
  RUN_TIMED_OUT: 'run.timed_out',
  RUN_STOPPED: 'run.stopped',
  PROC_RESET: 'proc.reset',
} as const);

/** One of the machine's event type names. */
export type ProcEventType = (typeof ProcEventType)[keyof typeof ProcEventType];

/** Every event type, for iteration and generators. */
export const PROC_EVENT_TYPES: readonly ProcEventType[] = Object.freeze(Object.values(ProcEventType));

/** A process was called; it becomes current (PENDING) or joins the queue. */
export interface ProcessCalledEvent {
  readonly type: 'process.called';
  readonly call: ProcessCall;
  readonly at: string;
}

/** A local process was called: it runs at once, in the caller. */
export interface ProcessCalledLocallyEvent {
  readonly type: 'process.called_locally';
  readonly call: ProcessCall;
  readonly run_id: string;
  readonly lease_ms: number;
  readonly at: string;
}

/** Handing the current call to the scheduler failed. */
export interface DispatchFailedEvent {
  readonly type: 'dispatch.failed';
  readonly call_id: string;
  readonly error: string;
  readonly at: string;
}

/** A worker took the job of the current call. */
export interface WorkerStartedEvent {
  readonly type: 'worker.started';
  readonly call_id: string;
  readonly run_id: string;
  readonly worker: string;
  readonly job_id: string | null;
  readonly lease_ms: number;
  readonly at: string;
}

/** The run recorded a step, a status message or warnings. */
export interface RunProgressedEvent {
  readonly type: 'run.progressed';
  readonly run_id: string;
  readonly step?: string | undefined;
  readonly message?: string | undefined;
  readonly warnings: readonly string[];
  readonly at: string;
}

/** The run's soft time limit passed; the worker is asked to stop its function. */
export interface RunSoftTimedOutEvent {
  readonly type: 'run.soft_timed_out';
  readonly run_id: string;
  readonly at: string;
}

/** The function (or join) returned nothing and recorded no error. */
export interface RunSucceededEvent {
  readonly type: 'run.succeeded';
  readonly run_id: string;
  readonly warnings: readonly string[];
  readonly at: string;
}

/** The function (or join) returned WAITING_FOR_RESULT. */
export interface RunWaitingEvent {
  readonly type: 'run.waiting';
  readonly run_id: string;
  readonly step?: string | undefined;
  readonly message?: string | undefined;
  readonly warnings: readonly string[];
  readonly at: string;
}

/** The function (or join) failed: it threw, returned an invalid value or recorded errors. */
export interface RunFailedEvent {
  readonly type: 'run.failed';
  readonly run_id: string;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  readonly at: string;
}

/** A joiner found no child processing and takes the parent back to RUNNING. */
export interface JoinStartedEvent {
  readonly type: 'join.started';
  readonly run_id: string;
  readonly worker: string;
  readonly processing_children: number;
  readonly lease_ms: number;
  readonly at: string;
}

/** The worker holding the proc vanished (lease expired, job lost). */
export interface WorkerLostEvent {
  readonly type: 'worker.lost';
  /** When set, only this run (or this pending call) is failed: a newer one is left alone. */
  readonly run_id?: string | undefined;
  readonly call_id?: string | undefined;
  readonly reason: string;
  readonly at: string;
}

/** The run's hard time limit passed. */
export interface RunTimedOutEvent {
  readonly type: 'run.timed_out';
  readonly run_id: string;
  readonly at: string;
}

/** An operator stopped the process. */
export interface RunStoppedEvent {
  readonly type: 'run.stopped';
  readonly reason: string;
  readonly at: string;
}

/** The proc is reset to READY; `force` is needed while processing. */
export interface ProcResetEvent {
  readonly type: 'proc.reset';
  readonly force: boolean;
  readonly at: string;
}

/** Any event the proc machine understands. */
export type ProcEvent =
  | ProcessCalledEvent
  | ProcessCalledLocallyEvent
  | DispatchFailedEvent
  | WorkerStartedEvent
  | RunProgressedEvent
  | RunSoftTimedOutEvent
  | RunSucceededEvent
  | RunWaitingEvent
  | RunFailedEvent
  | JoinStartedEvent
  | WorkerLostEvent
  | RunTimedOutEvent
  | RunStoppedEvent
  | ProcResetEvent;
