/**
 * The embedded default scheduler: jobs run in this process, as soon as a slot is free.
 */
import { ClosedError, InvalidArgumentError } from '../machines/errors.js';
import { runKeysOf, type JobHandler, type ProcJob, type Scheduler } from './scheduler.js';
import { waitAtMost } from './wait-at-most.js';

/** Options of {@link InProcessScheduler}. */
export interface InProcessSchedulerOptions {
  /** Jobs handled at the same time. @defaultValue 8 */
  readonly concurrency?: number | undefined;
  /**
   * Delivers a job once more after it was handled when this returns true; simulates the
   * at-least-once delivery of real schedulers in tests. @defaultValue never
   */
  readonly redeliver?: ((job: ProcJob) => boolean) | undefined;
  /** Called with errors a handler threw (the job is dropped). @defaultValue ignore */
  readonly onError?: ((error: unknown, job: ProcJob) => void) | undefined;
}

interface QueuedJob {
  readonly job: ProcJob;
  readonly jobId: string;
  readonly redelivery: boolean;
}

/**
 * Runs jobs in this process with bounded concurrency; timed jobs use timers. Queued jobs die
 * with the process, like everything in the embedded store.
 *
 * @example
 * ```ts
 * import { InProcessScheduler } from 'procstate';
 * const scheduler = new InProcessScheduler({ concurrency: 4 });
 * ```
 */
export class InProcessScheduler implements Scheduler {
  readonly name = 'in-process';
  readonly #concurrency: number;
  readonly #redeliver: (job: ProcJob) => boolean;
  readonly #onError: (error: unknown, job: ProcJob) => void;
  readonly #queue: QueuedJob[] = [];
  /** Run keys of the jobs running now, counted (a key may run twice under redelivery). */
  readonly #active = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #idleWaiters = new Set<() => void>();
  #handler: JobHandler | undefined;
  #running = 0;
  #nextId = 1;
  #draining = false;

  constructor(options: InProcessSchedulerOptions = {}) {
    const concurrency = options.concurrency ?? 8;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be a positive integer, got ${String(concurrency)}.`);
    this.#concurrency = concurrency;
    this.#redeliver = options.redeliver ?? (() => false);
    this.#onError = options.onError ?? (() => undefined);
  }

  async start(handler: JobHandler): Promise<void> {
    this.#handler = handler;
    this.#draining = false;
    this.#pump();
  }

  async dispatch(jobs: readonly ProcJob[]): Promise<string[]> {
    if (this.#draining) throw new ClosedError('The in-process scheduler is draining and takes no new jobs.');
    return jobs.map((job) => {
      const jobId = `mem-${this.#nextId++}`;
      this.#enqueue({ job, jobId, redelivery: false });
      return jobId;
    });
  }

  async schedule(job: ProcJob, at: Date): Promise<string> {
    if (this.#draining) throw new ClosedError('The in-process scheduler is draining and takes no new jobs.');
    const jobId = `mem-${this.#nextId++}`;
    this.#arm(at.getTime(), () => this.#enqueue({ job, jobId, redelivery: false }));
    return jobId;
  }

  /**
   * Runs `due` at `at` by the wall clock, never before: a timer counts from the event loop's
   * cached time, which lags the wall clock by however long the current turn has run, so it may
   * fire a few milliseconds early; then it is armed again for what is left.
   */
  #arm(at: number, due: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#draining) return;
      if (Date.now() < at) this.#arm(at, due);
      else due();
    }, Math.max(0, at - Date.now()));
    timer.unref();
    this.#timers.add(timer);
  }

  async queuedRuns(): Promise<ReadonlySet<string>> {
    return new Set([...this.#active.keys(), ...this.#queue.flatMap((queued) => runKeysOf(queued.job))]);
  }

  /** Jobs waiting for a slot plus jobs running. */
  get size(): number {
    return this.#queue.length + this.#running;
  }

  /** Resolves once no job is queued or running (timers may still be armed). */
  async onIdle(): Promise<void> {
    if (this.size === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.add(resolve));
  }

  async drain(timeoutMs: number): Promise<number> {
    this.#draining = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.length = 0;
    if (this.#running > 0) {
      await waitAtMost(this.onIdle(), timeoutMs, { keepAlive: false });
    }
    return this.#running;
  }

  #enqueue(queued: QueuedJob): void {
    this.#queue.push(queued);
    this.#pump();
  }

  #pump(): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const queued = this.#queue.shift() as QueuedJob;
      const keys = runKeysOf(queued.job);
      this.#running += 1;
      for (const key of keys) this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
      void handler(queued.job, { jobId: queued.jobId })
        .catch((error: unknown) => this.#onError(error, queued.job))
        .finally(() => {
          this.#running -= 1;
          for (const key of keys) {
            const remaining = (this.#active.get(key) ?? 1) - 1;
            if (remaining === 0) this.#active.delete(key);
            else this.#active.set(key, remaining);
          }
          if (!queued.redelivery && !this.#draining && this.#redeliver(queued.job)) {
            this.#queue.push({ ...queued, redelivery: true });
          }
          this.#pump();
          if (this.size === 0) {
            for (const resolve of this.#idleWaiters) resolve();
            this.#idleWaiters.clear();
          }
        });
    }
  }
}
