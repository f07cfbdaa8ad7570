/**
 * The machine's context: everything a proc carries besides its status.
 *
 * Field names are NOMAD's `Proc` field names, because the context is what lands on the Proc
 * document. Values are JSON-safe (ISO strings, not `Date`), so a persisted snapshot survives
 * JSON and BSON round trips unchanged. Types only: this module has no runtime code.
 */
import type { ProcessStatus } from './process-status.js';

/** Where a proc sits in a parent/child hierarchy. */
export interface ProcRef {
  /** The kind of proc, e.g. `upload` or `entry`. */
  readonly kind: string;
  /** The proc's id, the `_id` of its document. */
  readonly id: string;
}

/** Behaviour flags of a process, fixed when it is called. */
export interface ProcessFlags {
  /** While current or queued, any further call raises `ProcessAlreadyRunningError`. */
  readonly blocking: boolean;
  /** A failure drops the calls queued behind this process (NOMAD's default). */
  readonly clear_queue_on_failure: boolean;
  /** NOMAD's flag for a process run on the parent's behalf (recorded; joins wait for every processing child). */
  readonly child: boolean;
}

/** A call of a process: what to run, with which (JSON-encoded) arguments. */
export interface ProcessCall extends ProcessFlags {
  /** Unique per call; a scheduler job names the call it was dispatched for. */
  readonly id: string;
  /** The process (function) name. */
  readonly process: string;
  /** The arguments as JSON text; text keeps any JSON value storable on every MongoDB-compatible server. */
  readonly args: string;
  /** When the call was made (ISO 8601). */
  readonly called_at: string;
}

/** The current call, once it is no longer queued. */
export interface CurrentCall extends ProcessCall {
  /** Runs in the caller rather than on a worker. */
  readonly local: boolean;
  /** When the call became current (ISO 8601); the sweep measures stuck PENDING from here. */
  readonly pending_since: string;
}

/** The run that holds RUNNING: one worker's execution of a process, or of a join. */
export interface CurrentRun {
  /** Unique per run; every write the run makes names it, which is what fences stale workers. */
  readonly id: string;
  /** When the run started (ISO 8601). */
  readonly started_at: string;
  /** How long the run's lease lasts without a renewal, in milliseconds. */
  readonly lease_ms: number;
  /** The run executes the kind's `join` rather than a process function. */
  readonly join: boolean;
  /** Set once the soft time limit was reached (ISO 8601); the worker aborts its function. */
  readonly soft_timeout_at: string | null;
}

/** The machine's context, i.e. the proc's state besides `process_status`. */
export interface ProcContext {
  /** Name of the current or last process. */
  readonly current_process: string | null;
  /** The current step, or the last step a completed process executed. */
  readonly current_process_step: string | null;
  /** Human-readable: what the process is doing, or how the last one ended. */
  readonly last_status_message: string | null;
  /** `<ErrorClass>: <message>` strings of the last failure; cleared when a worker starts. */
  readonly errors: readonly string[];
  /** Warnings recorded by the current or last process; cleared when a worker starts. */
  readonly warnings: readonly string[];
  /** When the last process completed (ISO 8601). */
  readonly complete_time: string | null;
  /** Host of the worker running (or that last ran) the process; null for local processes. */
  readonly worker_hostname: string | null;
  /** Scheduler job id of the current (or last) run; null for local processes. */
  readonly job_id: string | null;
  /** Calls waiting for the current process to finish, first in first out. */
  readonly queue: readonly ProcessCall[];
  /** The current call; null when nothing is called. */
  readonly call: CurrentCall | null;
  /** The current run; set exactly while RUNNING. */
  readonly run: CurrentRun | null;
  /** The parent proc, for procs of a child kind. */
  readonly parent: ProcRef | null;
}

/** A proc's machine state: its status plus its context. */
export interface ProcMachineState {
  readonly status: ProcessStatus;
  readonly context: ProcContext;
}

/** XState's persisted snapshot of a proc (what `actor.getPersistedSnapshot()` gives), as stored in the ledger. */
export interface PersistedProcSnapshot {
  readonly status: 'active';
  readonly value: ProcessStatus;
  readonly context: ProcContext;
  readonly historyValue: Record<string, never>;
  readonly children: Record<string, never>;
}
