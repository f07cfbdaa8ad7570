/**
 * The scheduler port: how procstate hands work to workers.
 *
 * A scheduler only delivers jobs; it decides nothing. Delivery may be late, duplicated or
 * lost: the ledger makes a duplicate start a no-op, fences a stale run, and the sweep re-sends
 * or fails a call no worker took. Implementations: {@link InProcessScheduler} (embedded
 * default) and the Agenda scheduler in `procstate/agenda`.
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
export type ProcJob = RunJob | JoinJob | TimeoutJob;

/** What a scheduler tells the handler about the delivery. */
export interface JobDelivery {
  /** The scheduler's id of this job. */
  readonly jobId: string;
  /** Extends the scheduler's own lock on the job, if it has one (Agenda's `touch`). */
  readonly touch?: (() => Promise<void>) | undefined;
}

/** Handles one delivered job; resolves when the work is done. */
export type JobHandler = (job: ProcJob, delivery: JobDelivery) => Promise<void>;

/** The port every scheduler implements. */
export interface Scheduler {
  /** A short name for logs. */
  readonly name: string;
  /** Delivers jobs to `handler` from now on. */
  start(handler: JobHandler): Promise<void>;
  /** Queues a job to run as soon as a worker is free; returns the scheduler's job id. */
  dispatch(job: ProcJob): Promise<string>;
  /** Queues a job to run at `at`; returns the scheduler's job id. */
  schedule(job: ProcJob, at: Date): Promise<string>;
  /**
   * Whether a job equal to `job` is queued or running. `undefined` means the scheduler cannot
   * tell, and the sweep then relies on time alone.
   */
  isQueued(job: ProcJob): Promise<boolean | undefined>;
  /** Stops taking jobs and waits up to `timeoutMs` for running ones; returns how many still run. */
  drain(timeoutMs: number): Promise<number>;
}

/** A key that identifies equal jobs. */
export function jobKey(job: ProcJob): string {
  switch (job.type) {
    case 'run':
      return `run\u0000${job.kind}\u0000${job.id}\u0000${job.callId}`;
    case 'join':
      return `join\u0000${job.kind}\u0000${job.id}`;
    case 'timeout':
      return `timeout\u0000${job.kind}\u0000${job.id}\u0000${job.runId}\u0000${job.limit}`;
  }
}
