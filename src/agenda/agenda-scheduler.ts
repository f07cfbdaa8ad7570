/**
 * A scheduler on Agenda 6 with its MongoDB backend.
 *
 * Agenda only delivers jobs here: every transition happens inside the job handler (Agenda's
 * event listeners are not awaited), duplicate or stale deliveries — Agenda re-runs a job whose
 * lock expired, and on FerretDB two workers can lock one job — are rejected by the ledger, and
 * the run's lease is renewed together with Agenda's lock (`job.touch()`).
 */
import { Agenda, InMemoryNotificationChannel, type AgendaBackend, type Job, type NotificationChannel } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Db, Document } from 'mongodb';
import { PersistenceError } from '../errors.js';
import type { JobDelivery, JobHandler, ProcJob, Scheduler } from '../scheduler.js';
import { parseJobData, toJobData, type ProcJobData } from './job-data.js';
import { RedisNotificationChannel } from './redis-notification-channel.js';

/** Agenda's job name for every procstate job. */
export const AGENDA_JOB_NAME = 'procstate';
/** The collection Agenda keeps procstate's jobs in. */
export const DEFAULT_AGENDA_COLLECTION = 'procstate_jobs';

/** Options of {@link AgendaScheduler}. */
export interface AgendaSchedulerOptions {
  /** A connected database (never a URI: Agenda crashes the process when its own connect fails). */
  readonly db: Db;
  /** Agenda's jobs collection. @defaultValue {@link DEFAULT_AGENDA_COLLECTION} */
  readonly collection?: string | undefined;
  /** This worker's name in Agenda (`lastModifiedBy`) and in notifications. */
  readonly name?: string | undefined;
  /** Jobs this worker handles at once. @defaultValue 8 */
  readonly concurrency?: number | undefined;
  /**
   * Polling interval, the fallback when a notification is lost. @defaultValue 2000 ms
   */
  readonly pollMs?: number | undefined;
  /**
   * How long Agenda keeps a job locked without `touch()`; the run's heartbeat touches it.
   * After this a dead worker's job is delivered again. @defaultValue 600000 ms (Agenda's)
   */
  readonly lockLifetimeMs?: number | undefined;
  /**
   * Where job notifications travel: {@link RedisNotificationChannel} across processes, an
   * in-memory channel within this one. @defaultValue an in-memory channel
   */
  readonly notificationChannel?: NotificationChannel | undefined;
  /** Handle jobs in this process (false for producers such as the CLI). @defaultValue true */
  readonly work?: boolean | undefined;
}

/**
 * A backend whose `connect` never rejects: Agenda's constructor calls it without a `catch`, so a
 * rejection would crash the process. The failure is kept and reported by `start()` instead.
 */
class GuardedBackend implements AgendaBackend {
  readonly name: string;
  failure: unknown;
  constructor(readonly inner: MongoBackend) {
    this.name = inner.name;
  }
  get repository() {
    return this.inner.repository;
  }
  get logger() {
    return this.inner.logger;
  }
  readonly ownsConnection = false;
  readonly notificationChannel = undefined;
  async connect(): Promise<void> {
    try {
      await this.inner.connect();
    } catch (error) {
      this.failure = error;
    }
  }
  async disconnect(): Promise<void> {
    await this.inner.disconnect();
  }
}

/**
 * Runs procstate's jobs on Agenda. Construction does no I/O; `start()` connects Agenda and
 * begins handling jobs.
 *
 * @example
 * ```ts
 * import { MongoClient } from 'mongodb';
 * import { AgendaScheduler } from 'procstate/agenda';
 * import { createProcRuntime } from 'procstate';
 *
 * const client = await new MongoClient(uri).connect();
 * const scheduler = new AgendaScheduler({ db: client.db('nomad'), concurrency: 8 });
 * const runtime = createProcRuntime({ kinds, store, scheduler });
 * await runtime.start();
 * ```
 */
export class AgendaScheduler implements Scheduler {
  readonly name = 'agenda';
  readonly #options: AgendaSchedulerOptions;
  readonly #collection: string;
  #agenda: Agenda | undefined;
  #starting: Promise<Agenda> | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #channel: NotificationChannel | undefined;

  constructor(options: AgendaSchedulerOptions) {
    const concurrency = options.concurrency ?? 8;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    this.#options = options;
    this.#collection = options.collection ?? DEFAULT_AGENDA_COLLECTION;
  }

  /** The Agenda instance, once started (for dashboards such as Agendash). */
  get agenda(): Agenda | undefined {
    return this.#agenda;
  }

  async #connect(): Promise<Agenda> {
    this.#starting ??= (async () => {
      // Fail before Agenda exists when the server does not answer.
      await this.#options.db.command({ ping: 1 }).catch((error: unknown) => {
        throw new PersistenceError(`the scheduler's database does not answer: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
      const backend = new GuardedBackend(new MongoBackend({ mongo: this.#options.db, collection: this.#collection }));
      const concurrency = this.#options.concurrency ?? 8;
      const agenda = new Agenda({
        backend,
        name: this.#options.name ?? `procstate-${process.pid}`,
        processEvery: this.#options.pollMs ?? 2_000,
        maxConcurrency: concurrency,
        defaultConcurrency: concurrency,
        defaultLockLimit: concurrency,
        defaultLockLifetime: this.#options.lockLifetimeMs ?? 600_000,
        removeOnComplete: true,
        notificationChannel: (this.#channel = this.#options.notificationChannel ?? new InMemoryNotificationChannel()),
      });
      agenda.on('error', () => undefined);
      await agenda.ready;
      if (backend.failure !== undefined) {
        throw new PersistenceError(`Agenda could not prepare its collection: ${String(backend.failure)}`, { cause: backend.failure });
      }
      this.#agenda = agenda;
      return agenda;
    })();
    return this.#starting;
  }

  async start(handler: JobHandler): Promise<void> {
    const agenda = await this.#connect();
    if (this.#options.work === false) {
      // Agenda connects its channel only when it starts processing; a producer must still publish.
      const channel = this.#channel;
      if (channel !== undefined && channel.state !== 'connected') await channel.connect();
      return;
    }
    agenda.define(
      AGENDA_JOB_NAME,
      async (job: Job<ProcJobData>) => {
        const delivery: JobDelivery = { jobId: String(job.attrs._id), touch: () => job.touch() };
        const handling = handler(parseJobData(job.attrs.data), delivery);
        const tracked = handling.then(
          () => undefined,
          () => undefined,
        );
        this.#inFlight.add(tracked);
        try {
          await handling;
        } finally {
          this.#inFlight.delete(tracked);
          this.#refill();
        }
      },
      {
        concurrency: this.#options.concurrency ?? 8,
        lockLimit: this.#options.concurrency ?? 8,
        // Infrastructure failures (the database went away) are retried; the handler is idempotent.
        backoff: (context) => (context.attempt <= 5 ? 500 * 2 ** context.attempt : null),
      },
    );
    await agenda.start();
  }

  /**
   * Asks this worker's Agenda to lock more jobs now that a slot is free. Agenda refills its
   * local queue only when it polls or hears of a newly saved job, so without this a worker runs
   * at most its lock limit per poll interval. The signal stays in this process.
   */
  #refill(): void {
    const channel = this.#channel;
    if (channel === undefined || channel.state !== 'connected') return;
    const signal = { jobId: 'procstate-slot-free', jobName: AGENDA_JOB_NAME, nextRunAt: new Date(), priority: 0, timestamp: new Date() } as unknown as Parameters<NotificationChannel['publish']>[0];
    const sent = channel instanceof RedisNotificationChannel ? channel.deliverLocally(signal) : channel.publish(signal);
    void sent.catch(() => undefined);
  }

  async dispatch(job: ProcJob): Promise<string> {
    const agenda = await this.#connect();
    const saved = await agenda.now(AGENDA_JOB_NAME, toJobData(job));
    return String(saved.attrs._id);
  }

  async schedule(job: ProcJob, at: Date): Promise<string> {
    const agenda = await this.#connect();
    const saved = await agenda.schedule(at, AGENDA_JOB_NAME, toJobData(job));
    return String(saved.attrs._id);
  }

  async isQueued(job: ProcJob): Promise<boolean> {
    const data = toJobData(job);
    // Every value comes from a validated job, so the filter holds no caller input as operators.
    const filter: Document = { name: AGENDA_JOB_NAME, disabled: { $ne: true }, $or: [{ nextRunAt: { $ne: null } }, { lockedAt: { $ne: null } }] };
    for (const [key, value] of Object.entries(data)) filter[`data.${key}`] = value;
    const found = await this.#options.db.collection(this.#collection).findOne(filter, { projection: { _id: 1 } });
    return found !== null;
  }

  /**
   * Stops taking jobs (jobs locked here but not started are unlocked for other workers), then
   * waits up to `timeoutMs` for the handlers still running. Agenda's own `drain()` is not used:
   * it can wait for its whole timeout when a handler ends just as the drain begins.
   */
  async drain(timeoutMs: number): Promise<number> {
    const agenda = this.#agenda;
    if (agenda === undefined) return 0;
    await agenda.stop(false);
    if (this.#options.work === false && this.#channel?.state === 'connected') await this.#channel.disconnect();
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.#inFlight]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    return this.#inFlight.size;
  }
}
