/**
 * A scheduler that delivers nothing by itself: jobs wait until the test hands them to a worker,
 * once, twice, late, out of order or never. It is how a test reproduces a race from a seed —
 * fast-check picks the deliveries (`fc.commands`, or {@link ControlledScheduler.deliverAll}
 * with an `fc.scheduler`) and the same seed picks them again.
 *
 * One queue can feed several runtimes ("workers"): the first runtime started on the scheduler
 * is worker 0; {@link ControlledScheduler.worker} gives the port for each further one.
 * Jobs scheduled for later ({@link Scheduler.schedule}: timeouts) fall due on the
 * {@link VirtualClock} given, else on the machine's clock.
 */
import type { Scheduler as FastCheckScheduler } from 'fast-check';
import { ClosedError, InvalidArgumentError } from '../../machines/errors.js';
import { runKeysOf, type JobDelivery, type JobHandler, type ProcJob, type Scheduler } from '../scheduler.js';
import { waitAtMost } from '../wait-at-most.js';
import type { VirtualClock } from './virtual-clock.js';

/** One job the scheduler holds, with what the test did to it. */
export interface ControlledJob {
  /** The scheduler's id of the job. */
  readonly jobId: string;
  /** The job. */
  readonly job: ProcJob;
  /** When it falls due (its `schedule` time, or the dispatch time; moved by `delay`). */
  readonly dueAt: Date;
  /** How many times it was handed to a worker. */
  readonly deliveries: number;
  /** Dropped by the test: never delivered. */
  readonly dropped: boolean;
}

interface HeldJob {
  readonly jobId: string;
  readonly job: ProcJob;
  dueAt: Date;
  deliveries: number;
  dropped: boolean;
}

/** Options of a {@link ControlledScheduler}. */
export interface ControlledSchedulerOptions {
  /** The clock that decides when scheduled jobs fall due. @defaultValue the machine's clock */
  readonly clock?: VirtualClock | undefined;
}

/** The queue, and the port of worker 0. */
export class ControlledScheduler implements Scheduler {
  readonly name = 'controlled';
  readonly #held: HeldJob[] = [];
  readonly #handlers: Array<JobHandler | undefined> = [undefined];
  /** Run keys of jobs being handled now, counted (a duplicate may run beside the first). */
  readonly #running = new Map<string, number>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #now: () => Date;
  readonly #arrivals = new Set<(held: HeldJob) => void>();
  #next = 1;
  #draining = false;

  constructor(options: ControlledSchedulerOptions = {}) {
    this.#now = options.clock?.now ?? (() => new Date());
  }

  /** Starts worker 0. */
  async start(handler: JobHandler): Promise<void> {
    this.#handlers[0] = handler;
    this.#draining = false;
  }

  /**
   * The scheduler port of another worker on the same queue: pass it as that runtime's
   * `scheduler`; what it dispatches joins this queue, and `deliver(job, { worker })` hands
   * jobs to it. Worker numbers count from 1 in the order the ports are made.
   */
  worker(): Scheduler & { readonly index: number } {
    const index = this.#handlers.length;
    this.#handlers.push(undefined);
    return {
      name: `controlled-${index}`,
      index,
      start: async (handler) => {
        this.#handlers[index] = handler;
      },
      dispatch: (jobs) => this.dispatch(jobs),
      schedule: (job, at) => this.schedule(job, at),
      queuedRuns: () => this.queuedRuns(),
      drain: async () => {
        this.#handlers[index] = undefined;
        return 0;
      },
    };
  }

  async dispatch(jobs: readonly ProcJob[]): Promise<string[]> {
    if (this.#draining) throw new ClosedError('The controlled scheduler is draining and takes no new jobs.');
    const now = this.#now();
    return jobs.map((job) => this.#hold(job, now));
  }

  async schedule(job: ProcJob, at: Date): Promise<string> {
    if (this.#draining) throw new ClosedError('The controlled scheduler is draining and takes no new jobs.');
    return this.#hold(job, at);
  }

  async queuedRuns(): Promise<ReadonlySet<string>> {
    return new Set([...this.#running.keys(), ...this.#held.filter((held) => held.deliveries === 0 && !held.dropped).flatMap((held) => runKeysOf(held.job))]);
  }

  /** Stops worker 0 taking jobs and waits up to `timeoutMs` for the deliveries in progress. */
  async drain(timeoutMs: number): Promise<number> {
    this.#draining = true;
    this.#handlers[0] = undefined;
    if (this.#inFlight.size > 0) await waitAtMost(Promise.allSettled([...this.#inFlight]), timeoutMs);
    return this.#inFlight.size;
  }

  /** Every job ever dispatched or scheduled, in that order. */
  get jobs(): readonly ControlledJob[] {
    return this.#held;
  }

  /** Jobs due now that were never delivered nor dropped, oldest first. */
  get undelivered(): readonly ControlledJob[] {
    const now = this.#now().getTime();
    return this.#held.filter((held) => held.deliveries === 0 && !held.dropped && held.dueAt.getTime() <= now);
  }

  /** Jobs never delivered nor dropped that are not due yet (timeouts, delayed jobs). */
  get notDue(): readonly ControlledJob[] {
    const now = this.#now().getTime();
    return this.#held.filter((held) => held.deliveries === 0 && !held.dropped && held.dueAt.getTime() > now);
  }

  /** Deliveries whose handler has not returned yet. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Hands `job` to a worker (0 unless said) — again if it was delivered before, which is a
   * duplicate delivery — and resolves when the worker is done with it. A handler's error is
   * the returned promise's rejection.
   * @throws InvalidArgumentError when the job is not this scheduler's, was dropped, or the worker has not started
   */
  deliver(job: ControlledJob, options: { readonly worker?: number } = {}): Promise<void> {
    const held = this.#own(job);
    if (held.dropped) throw new InvalidArgumentError(`Job ${held.jobId} was dropped; a dropped job is never delivered.`);
    const worker = options.worker ?? 0;
    const handler = this.#handlers[worker];
    if (handler === undefined) throw new InvalidArgumentError(`Worker ${worker} has not started (or has drained) on this scheduler.`);
    held.deliveries += 1;
    const keys = runKeysOf(held.job);
    for (const key of keys) this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
    const delivery: JobDelivery = { jobId: held.jobId };
    const handled = Promise.resolve()
      .then(() => handler(held.job, delivery))
      .finally(() => {
        this.#inFlight.delete(handled);
        for (const key of keys) {
          const left = (this.#running.get(key) ?? 1) - 1;
          if (left === 0) this.#running.delete(key);
          else this.#running.set(key, left);
        }
      });
    this.#inFlight.add(handled);
    // The caller may not await a delivery (a worker that hangs); its rejection is still theirs.
    handled.catch(() => undefined);
    return handled;
  }

  /** Marks `job` lost: it is never delivered (the sweep must notice the call no job holds). */
  drop(job: ControlledJob): void {
    const held = this.#own(job);
    if (held.deliveries > 0) throw new InvalidArgumentError(`Job ${held.jobId} was delivered already; only a queued job can be dropped.`);
    held.dropped = true;
  }

  /** Makes `job` fall due `ms` later than it would (a slow queue). */
  delay(job: ControlledJob, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`delay takes a finite number of milliseconds, 0 or more; got ${String(ms)}.`);
    const held = this.#own(job);
    held.dueAt = new Date(held.dueAt.getTime() + ms);
  }

  /**
   * Delivers every due job, and the jobs those deliveries dispatch, until none is due; resolves
   * with how many deliveries it made. With an `fc.scheduler`, all due jobs of a round are
   * delivered at once and fast-check orders them, so a race is a seed away; without one,
   * oldest first, one at a time.
   */
  async deliverAll(options: { readonly scheduler?: FastCheckScheduler; readonly worker?: number; readonly maxDeliveries?: number } = {}): Promise<number> {
    const max = options.maxDeliveries ?? 100_000;
    let delivered = 0;
    for (;;) {
      const due = this.undelivered;
      if (due.length === 0) return delivered;
      if (delivered + due.length > max) throw new InvalidArgumentError(`deliverAll stopped after ${delivered} deliveries (maxDeliveries ${max}): jobs keep dispatching jobs.`);
      delivered += due.length;
      const s = options.scheduler;
      if (s === undefined) {
        for (const job of due) await this.deliver(job, { worker: options.worker ?? 0 });
      } else {
        const deliveries = due.map((job) => s.schedule(Promise.resolve(`deliver ${job.jobId}`)).then(() => this.deliver(job, { worker: options.worker ?? 0 })));
        await s.waitFor(Promise.all(deliveries));
      }
    }
  }

  /**
   * Resolves with the first job not yet delivered nor dropped that `matches` (any, by default),
   * held now or dispatched later, due or not: for waiting on what the runtime hands over after
   * a transition it has already recorded (a timeout is armed after the run's start is written).
   */
  waitForJob(matches: (job: ProcJob) => boolean = () => true): Promise<ControlledJob> {
    const held = this.#held.find((candidate) => candidate.deliveries === 0 && !candidate.dropped && matches(candidate.job));
    if (held !== undefined) return Promise.resolve(held);
    return new Promise((resolve) => {
      const arrival = (candidate: HeldJob) => {
        if (!matches(candidate.job)) return;
        this.#arrivals.delete(arrival);
        resolve(candidate);
      };
      this.#arrivals.add(arrival);
    });
  }

  #hold(job: ProcJob, dueAt: Date): string {
    const jobId = `controlled-${this.#next++}`;
    const held: HeldJob = { jobId, job, dueAt: new Date(dueAt.getTime()), deliveries: 0, dropped: false };
    this.#held.push(held);
    for (const arrival of [...this.#arrivals]) arrival(held);
    return jobId;
  }

  #own(job: ControlledJob): HeldJob {
    const held = this.#held.find((candidate) => candidate === job || candidate.jobId === job.jobId);
    if (held === undefined) throw new InvalidArgumentError(`Job ${String(job?.jobId)} is not one of this scheduler's.`);
    return held;
  }
}
