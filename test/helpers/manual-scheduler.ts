/**
 * A scheduler whose jobs wait until the test delivers them, any number of times: the test
 * decides the order, the duplicates and the losses.
 */
import { runKeysOf, type JobHandler, type ProcJob, type Scheduler } from '../../src/index.js';

export interface ManualJob {
  readonly jobId: string;
  readonly job: ProcJob;
  deliveries: number;
}

export class ManualScheduler implements Scheduler {
  readonly name = 'manual';
  readonly jobs: ManualJob[] = [];
  #handler: JobHandler | undefined;
  #next = 1;

  async start(handler: JobHandler): Promise<void> {
    this.#handler = handler;
  }

  async dispatch(jobs: readonly ProcJob[]): Promise<string[]> {
    return jobs.map((job) => {
      const jobId = `manual-${this.#next++}`;
      this.jobs.push({ jobId, job, deliveries: 0 });
      return jobId;
    });
  }

  async schedule(job: ProcJob): Promise<string> {
    const [jobId] = await this.dispatch([job]);
    return jobId as string;
  }

  async queuedRuns(): Promise<ReadonlySet<string>> {
    return new Set(this.undelivered.flatMap((queued) => runKeysOf(queued.job)));
  }

  async drain(): Promise<number> {
    return 0;
  }

  /** Undelivered jobs, oldest first. */
  get undelivered(): ManualJob[] {
    return this.jobs.filter((job) => job.deliveries === 0);
  }

  /** Hands a job to the runtime; resolves when the runtime is done with it. */
  deliver(job: ManualJob): Promise<void> {
    if (this.#handler === undefined) throw new Error('not started');
    job.deliveries += 1;
    return this.#handler(job.job, { jobId: job.jobId });
  }
}
