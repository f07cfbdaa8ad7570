/**
 * A scheduler on Agenda 6, on procstate's Agenda backend ({@link createAgendaBackend}).
 *
 * Agenda only delivers jobs here: every transition happens inside the job handler (Agenda's
 * event listeners are not awaited), and the run's lease is renewed together with Agenda's lock
 * (`job.touch()`). Agenda is used through its public API only; what procstate adds lives in the
 * backend: the lock by claims where the server needs it, jobs dispatched many to one
 * `insertMany`, and knowing when a finished job's bookkeeping is done. One job may carry a batch
 * of runs. Duplicate or stale deliveries that still happen (a lock that expired, a server whose
 * lock is not atomic) are rejected by the ledger.
 */
import { Agenda, InMemoryNotificationChannel, type Job, type NotificationChannel } from 'agenda';
import type { Db, Document } from 'mongodb';
import { InvalidArgumentError, PersistenceError } from '../../machines/errors.js';
import type { ServerCapabilities } from '../../persistence/server-capabilities.js';
import { defaultLogger, reportError, type RuntimeLogger } from '../runtime/logger.js';
import { runKeysOf, type JobDelivery, type JobHandler, type ProcJob, type Scheduler } from '../scheduler.js';
import { waitAtMost } from '../wait-at-most.js';
import { createAgendaBackend, type ProcstateAgendaBackend } from './agenda-backend.js';
import { parseJobData, toJobData, type ProcJobData } from './job-data.js';
import { RedisNotificationChannel } from './redis-notification-channel.js';

const DEFAULT_POLL_MS = 2_000;

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
  /**
   * Capabilities to use instead of the server's (`atomicFindAndModify` decides how jobs are
   * locked). @defaultValue asked of the server once, unless `PROCSTATE_CAPABILITIES` names a set
   */
  readonly capabilities?: Partial<ServerCapabilities> | undefined;
  /** Where Agenda's own errors (a lock query that failed, a job that could not be saved) go. @defaultValue `console` */
  readonly logger?: RuntimeLogger | undefined;
}

/** Candidates one lock query reads per job this worker runs at once (where locks are claimed): a wide window keeps workers apart. */
const CANDIDATES_PER_SLOT = 4;
/** Claims older than this are purged: far longer than the moment between a claim and its lock. */
const CLAIM_RETENTION_MS = 5 * 60_000;

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
  readonly #concurrency: number;
  readonly #lockLifetimeMs: number;
  readonly #logger: RuntimeLogger;
  readonly #backend: ProcstateAgendaBackend;
  #agenda: Agenda | undefined;
  #starting: Promise<Agenda> | undefined;
  /** Each running job's handler, then Agenda's bookkeeping of it (its unlock and removal). */
  readonly #inFlight = new Set<Promise<void>>();
  #channel: NotificationChannel | undefined;
  #refilling = false;

  constructor(options: AgendaSchedulerOptions) {
    const concurrency = options.concurrency ?? 8;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be a positive integer, got ${String(concurrency)}.`);
    const lockLifetimeMs = options.lockLifetimeMs ?? 600_000;
    if (!Number.isSafeInteger(lockLifetimeMs) || lockLifetimeMs < 1) throw new InvalidArgumentError(`lockLifetimeMs must be a positive integer, got ${String(lockLifetimeMs)}.`);
    this.#options = options;
    this.#concurrency = concurrency;
    this.#lockLifetimeMs = lockLifetimeMs;
    this.#logger = options.logger ?? defaultLogger;
    this.#backend = createAgendaBackend({
      db: options.db,
      collection: options.collection ?? DEFAULT_AGENDA_COLLECTION,
      capabilities: options.capabilities,
      candidatesPerQuery: concurrency * CANDIDATES_PER_SLOT,
      claimRetentionMs: Math.max(CLAIM_RETENTION_MS, 2 * lockLifetimeMs),
    });
  }

  /** The Agenda instance, once started (for dashboards such as Agendash). */
  get agenda(): Agenda | undefined {
    return this.#agenda;
  }

  /** The backend jobs are kept in; `backend.ready()` tells the capabilities in use. */
  get backend(): ProcstateAgendaBackend {
    return this.#backend;
  }

  /**
   * How long after a job started on this worker Agenda's liveness check for it may keep the
   * process alive, even after a close: `max(pollMs, lockLifetimeMs) / 2` (docs/operations.md).
   */
  get lingerMs(): number {
    return Math.max(this.#options.pollMs ?? DEFAULT_POLL_MS, this.#lockLifetimeMs) / 2;
  }

  async #connect(): Promise<Agenda> {
    this.#starting ??= (async () => {
      // Fail before Agenda exists when the server does not answer.
      await this.#options.db.command({ ping: 1 }).catch((error: unknown) => {
        throw new PersistenceError(`the scheduler's database does not answer: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
      const agenda = new Agenda({
        backend: this.#backend,
        name: this.#workerName(),
        processEvery: this.#options.pollMs ?? DEFAULT_POLL_MS,
        maxConcurrency: this.#concurrency,
        defaultConcurrency: this.#concurrency,
        defaultLockLimit: this.#concurrency,
        defaultLockLifetime: this.#lockLifetimeMs,
        removeOnComplete: true,
        notificationChannel: (this.#channel = this.#options.notificationChannel ?? new InMemoryNotificationChannel()),
      });
      agenda.on('error', (error: unknown) => reportError(this.#logger, error, 'Agenda'));
      await agenda.ready;
      await this.#backend.ready().catch((error: unknown) => {
        throw new PersistenceError(`Agenda could not prepare its collection: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
      this.#agenda = agenda;
      return agenda;
    })();
    return this.#starting;
  }

  #workerName(): string {
    return this.#options.name ?? `procstate-${process.pid}`;
  }

  async start(handler: JobHandler): Promise<void> {
    const agenda = await this.#connect();
    if (this.#options.work === false) {
      // Agenda connects its channel only when it starts processing; a producer must still publish.
      const channel = this.#channel;
      if (channel !== undefined && channel.state !== 'connected') await channel.connect();
      return;
    }
    const settlements = this.#backend.repository.settlements;
    agenda.define(
      AGENDA_JOB_NAME,
      async (job: Job<ProcJobData>) => {
        const jobId = String(job.attrs._id);
        const delivery: JobDelivery = { jobId, touch: () => job.touch(), keepAliveMs: Math.max(1_000, Math.floor(this.#lockLifetimeMs / 3)) };
        settlements.watch(jobId);
        let succeeded = false;
        let finished = () => {};
        const done = new Promise<void>((resolve) => (finished = resolve));
        this.#inFlight.add(done);
        try {
          await handler(parseJobData(job.attrs.data), delivery);
          succeeded = true;
        } finally {
          // A one-time job that succeeded is removed by Agenda after its final save (removeOnComplete).
          // Only then does Agenda free the job's slot (in the same turn), so only then is a signal
          // to lock more of use: sent earlier, it finds every slot still taken and is lost.
          void settlements.finished(jobId, succeeded).then(() => {
            this.#inFlight.delete(done);
            finished();
            this.#refill();
          });
        }
      },
      {
        concurrency: this.#concurrency,
        lockLimit: this.#concurrency,
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
    // Jobs that end together need one signal: each signal starts a fill round of its own.
    if (this.#refilling) return;
    this.#refilling = true;
    setImmediate(() => {
      this.#refilling = false;
      this.#signalRefill();
    });
  }

  #signalRefill(): void {
    const channel = this.#channel;
    if (channel === undefined || channel.state !== 'connected') return;
    const signal = { jobId: 'procstate-slot-free', jobName: AGENDA_JOB_NAME, nextRunAt: new Date(), priority: 0, timestamp: new Date() } as unknown as Parameters<NotificationChannel['publish']>[0];
    const sent = channel instanceof RedisNotificationChannel ? channel.deliverLocally(signal) : channel.publish(signal);
    void sent.catch(() => undefined);
  }

  /**
   * Saves the jobs with one `insertMany` (each job made with `agenda.create()`, Agenda's own
   * defaults, and written as Agenda's `saveJob` writes a new job), then announces them with one
   * notification.
   */
  async dispatch(jobs: readonly ProcJob[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const agenda = await this.#connect();
    const saved = await this.#backend.repository.insertJobs(
      jobs.map((job) => agenda.create(AGENDA_JOB_NAME, toJobData(job)).attrs),
      { lastModifiedBy: this.#workerName() },
    );
    const first = saved[0];
    const channel = this.#channel;
    if (first !== undefined && channel !== undefined && channel.state === 'connected') {
      // Not awaited: the in-process channel runs this worker's whole lock round before its
      // publish returns, and the caller need not wait for that (the jobs are saved).
      void channel
        .publish({ jobId: first._id as never, jobName: AGENDA_JOB_NAME, nextRunAt: first.nextRunAt, priority: first.priority, timestamp: new Date() } as Parameters<NotificationChannel['publish']>[0])
        .catch((error: unknown) => reportError(this.#logger, error, 'announcing dispatched jobs'));
    }
    return saved.map((job) => String(job._id));
  }

  async schedule(job: ProcJob, at: Date): Promise<string> {
    const agenda = await this.#connect();
    const saved = await agenda.schedule(at, AGENDA_JOB_NAME, toJobData(job));
    return String(saved.attrs._id);
  }

  /** One query over the jobs collection: every run of a job that is queued or running. */
  async queuedRuns(): Promise<ReadonlySet<string>> {
    const filter: Document = { name: AGENDA_JOB_NAME, disabled: { $ne: true }, $or: [{ nextRunAt: { $ne: null } }, { lockedAt: { $ne: null } }] };
    const keys = new Set<string>();
    for (const document of await this.#options.db.collection(this.#backend.collectionName).find(filter, { projection: { data: 1 } }).toArray()) {
      try {
        for (const key of runKeysOf(parseJobData(document['data']))) keys.add(key);
      } catch {
        // A job whose data is not procstate's (edited by hand) holds no call.
      }
    }
    return keys;
  }

  /**
   * Stops taking jobs (jobs locked here but not started are unlocked for other workers), then
   * waits up to `timeoutMs` for the handlers still running and Agenda's bookkeeping of them (a
   * job's unlock and removal come after its function returned: closing the client before would
   * leave finished jobs locked). Agenda's own `drain()` is not used: it can wait for its whole
   * timeout when a handler ends just as the drain begins.
   */
  async drain(timeoutMs: number): Promise<number> {
    const agenda = this.#agenda;
    if (agenda === undefined) return 0;
    await agenda.stop(false);
    if (this.#options.work === false && this.#channel?.state === 'connected') await this.#channel.disconnect();
    if (this.#inFlight.size > 0) await waitAtMost(Promise.all([...this.#inFlight]), timeoutMs);
    return this.#inFlight.size;
  }
}
