/**
 * The scheduler port: how procstate hands work to workers.
 *
 * A scheduler only delivers jobs; it decides nothing. Delivery may be late, duplicated or
 * lost: the ledger makes a duplicate start a no-op, fences a stale run, and the sweep re-sends
 * or fails a call no worker took. Implementations: {@link InProcessScheduler} (embedded
 * default) and the Agenda scheduler in `procstate/agenda`.
 *
 * Jobs are dispatched in batches (one round trip for many jobs where the scheduler's store
 * allows), and one job may carry many runs ({@link RunBatchJob}): at NOMAD's scale the cost of
 * a job — locking it, completing it — is what has to be shared.
 */

/** Run the pending call `callId` of a proc. */
export interface RunJob {
  /** The job's sort. */
  readonly type: 'run';
  /** The proc's kind. */
  readonly kind: string;
  /** The proc's id. */
  readonly id: string;
  /** The call to start; a job for a call that is no longer pending does nothing. */
  readonly callId: string;
  /**
   * The sequence number of the record that made the call pending: the worker reads that one
   * record instead of loading the proc. @defaultValue the worker loads the proc
   */
  readonly seq?: number | undefined;
}

/** One run of a {@link RunBatchJob}. */
export interface BatchedRun {
  /** The proc's id. */
  readonly id: string;
  /** The call to start. */
  readonly callId: string;
  /** As {@link RunJob.seq}. */
  readonly seq?: number | undefined;
}

/**
 * Run the pending calls of several procs of one kind (e.g. children of one parent): one job,
 * one lock, one completion, while every proc still starts through its own ledger insert. A
 * duplicate delivery starts nothing twice; a worker that dies mid-batch leaves the procs it
 * did not start PENDING, for the job's redelivery or the sweep.
 */
export interface RunBatchJob {
  /** The job's sort. */
  readonly type: 'runs';
  /** The procs' kind. */
  readonly kind: string;
  /**
   * The parent all the runs' procs share, when they do (a fan-out's children): a worker that
   * holds the batch knows which siblings are still to end here. @defaultValue none
   */
  readonly parent?: { readonly kind: string; readonly id: string } | undefined;
  /** The runs, started in this order as slots free up. */
  readonly runs: readonly BatchedRun[];
}

/** Join a proc waiting for its children, if none is processing. */
export interface JoinJob {
  /** The job's sort. */
  readonly type: 'join';
  /** The parent's kind. */
  readonly kind: string;
  /** The parent's id. */
  readonly id: string;
}

/** A run's soft or hard time limit passed. */
export interface TimeoutJob {
  /** The job's sort. */
  readonly type: 'timeout';
  /** The proc's kind. */
  readonly kind: string;
  /** The proc's id. */
  readonly id: string;
  /** The run the limit applies to; a timeout for a run that ended does nothing. */
  readonly runId: string;
  /** Which limit passed. */
  readonly limit: 'soft' | 'hard';
}

/** Any job procstate schedules. */
export type ProcJob = RunJob | RunBatchJob | JoinJob | TimeoutJob;

/** What a scheduler tells the handler about the delivery. */
export interface JobDelivery {
  /** The scheduler's id of this job. */
  readonly jobId: string;
  /** Extends the scheduler's own lock on the job, if it has one (Agenda's `touch`). */
  readonly touch?: (() => Promise<void>) | undefined;
  /**
   * How often a handler that keeps a job long (a batch waiting for free slots) should call
   * `touch`, when the scheduler's lock expires. @defaultValue never
   */
  readonly keepAliveMs?: number | undefined;
}

/** Handles one delivered job; resolves when the work is done. */
export type JobHandler = (job: ProcJob, delivery: JobDelivery) => Promise<void>;

/** The port every scheduler implements. */
export interface Scheduler {
  /** A short name for logs. */
  readonly name: string;
  /** Delivers jobs to `handler` from now on. */
  start(handler: JobHandler): Promise<void>;
  /**
   * Queues jobs to run as soon as a worker is free, in as few round trips as the scheduler's
   * store allows; returns the scheduler's job ids, in order.
   */
  dispatch(jobs: readonly ProcJob[]): Promise<string[]>;
  /** Queues a job to run at `at`; returns the scheduler's job id. */
  schedule(job: ProcJob, at: Date): Promise<string>;
  /**
   * The {@link runKey}s of every call whose run job (alone or in a batch) is queued or running,
   * read in one go for the sweep. `undefined` means the scheduler cannot tell, and the sweep
   * then relies on time alone.
   */
  queuedRuns(): Promise<ReadonlySet<string> | undefined>;
  /** Stops taking jobs and waits up to `timeoutMs` for running ones; returns how many still run. */
  drain(timeoutMs: number): Promise<number>;
}

/** The key of one call's run, as {@link Scheduler.queuedRuns} reports it. */
export function runKey(kind: string, id: string, callId: string): string {
  return `${kind}\u0000${id}\u0000${callId}`;
}

/** The runs a job starts, as keys (none for joins and timeouts). */
export function runKeysOf(job: ProcJob): string[] {
  switch (job.type) {
    case 'run':
      return [runKey(job.kind, job.id, job.callId)];
    case 'runs':
      return job.runs.map((run) => runKey(job.kind, run.id, run.callId));
    default:
      return [];
  }
}
