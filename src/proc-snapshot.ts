/**
 * The read-only view of a proc that the runtime hands out.
 */
import type { ProcRef } from '../machines/proc-context.js';
import { isProcessing, type ProcessStatus } from '../machines/process-status.js';
import type { StoredProc } from '../persistence/proc-ledger.js';
import type { JsonValue } from './define-kind.js';

/** A call waiting in a proc's queue. */
export interface QueuedProcess {
  /** The process that will run. */
  readonly process: string;
  /** Its arguments. */
  readonly args: JsonValue;
  /** Whether it blocks further calls while queued. */
  readonly blocking: boolean;
}

/** A proc as it is now: NOMAD's fields plus where it is in its ledger. */
export interface ProcSnapshot {
  /** The proc's kind. */
  readonly kind: string;
  /** The proc's id, its document's `_id`. */
  readonly id: string;
  /** Sequence number of the ledger record this view comes from (the document's `sync_counter`). */
  readonly seq: number;
  /** One of the six statuses. */
  readonly process_status: ProcessStatus;
  /** True while PENDING, RUNNING or WAITING_FOR_RESULT (NOMAD's `process_running`). */
  readonly process_running: boolean;
  /** The current or last process. */
  readonly current_process: string | null;
  /** The current step, or the last step a completed process executed. */
  readonly current_process_step: string | null;
  /** NOMAD's texts (`Pending: …`, `Process … failed: …`) or the current step. */
  readonly last_status_message: string | null;
  /** Errors of the current or last process; cleared when a worker starts. */
  readonly errors: readonly string[];
  /** Warnings of the current or last process; cleared when a worker starts. */
  readonly warnings: readonly string[];
  /** When the last process completed. */
  readonly complete_time: Date | null;
  /** The worker of the current or last run; null for local processes. */
  readonly worker_hostname: string | null;
  /** The scheduler's job id of the current or last run; null for local processes. */
  readonly job_id: string | null;
  /** Calls waiting behind the current process, first in first out. */
  readonly queue: readonly QueuedProcess[];
  /** The parent proc, for a proc of a child kind. */
  readonly parent: ProcRef | null;
}

/** The public view of a stored proc. Pure. */
export function toProcSnapshot(proc: StoredProc): ProcSnapshot {
  const { status, context } = proc.state;
  return Object.freeze({
    kind: proc.ref.kind,
    id: proc.ref.id,
    seq: proc.seq,
    process_status: status,
    process_running: isProcessing(status),
    current_process: context.current_process,
    current_process_step: context.current_process_step,
    last_status_message: context.last_status_message,
    errors: Object.freeze([...context.errors]),
    warnings: Object.freeze([...context.warnings]),
    complete_time: context.complete_time === null ? null : new Date(context.complete_time),
    worker_hostname: context.worker_hostname,
    job_id: context.job_id,
    queue: Object.freeze(
      context.queue.map((call) => Object.freeze({ process: call.process, args: JSON.parse(call.args) as JsonValue, blocking: call.blocking })),
    ),
    parent: context.parent,
  });
}
