/**
 * procstate's job repository for Agenda: Agenda's own MongoDB repository, with two things added
 * and one replaced where the server needs it.
 *
 * - **The lock.** Where the server's filtered `findOneAndUpdate` is atomic (MongoDB), jobs are
 *   locked by Agenda's own repository. Where it is not (FerretDB 1.x), a lock is decided by a
 *   claim insert ({@link JobClaims}) and then marked on the job with Agenda's own conditional
 *   update, so a job disabled, moved or deleted since the lock query is not locked.
 * - **Bulk insertion** of new jobs ({@link ProcstateJobRepository.insertJobs}), which Agenda's API
 *   lacks: one `insertMany` of the documents Agenda's `saveJob` would insert one by one.
 * - **Knowing when a job's bookkeeping is done** ({@link JobSettlements}): the final state save
 *   and the removal of a completed job pass through here.
 *
 * Everything else, every write of a job's state included, is Agenda's repository unchanged.
 */
import type { JobId, JobParameters, JobRepository, JobRepositoryOptions, JobsOverview, JobsQueryOptions, JobsResult, RemoveJobsOptions } from 'agenda';
import { ObjectId, type Collection, type Document, type Filter } from 'mongodb';
import type { ServerCapabilities } from '../../persistence/server-capabilities.js';
import type { JobClaims } from './job-claims.js';
import { newJobDocument, toJobParameters, type JobDocument } from './job-document.js';
import { JobSettlements } from './job-settlements.js';

/** How long the candidates of one lock query serve further locks of the same fill round. */
const CANDIDATES_FRESH_MS = 250;

/** What the repository needs once its backend connected. @internal */
export interface ConnectedRepository {
  /** The capabilities in use. */
  readonly capabilities: ServerCapabilities;
  /** The jobs collection. */
  readonly jobs: Collection<Document>;
  /** The claims, where locks need them. */
  readonly claims: JobClaims;
}

/** Options of {@link ProcstateJobRepository}. @internal */
export interface ProcstateJobRepositoryOptions {
  /** Agenda's own repository for the same collection (`MongoBackend.repository`). */
  readonly inner: JobRepository;
  /** Resolves once the backend connected; rejects with the reason it could not. */
  readonly connected: () => Promise<ConnectedRepository>;
  /** Candidates read per lock query where locks are claimed; a fill round claims from them one by one. */
  readonly candidatesPerQuery: number;
}

/**
 * Workers that hear of the same jobs read the same candidates in the same order, and would then
 * race for each in turn, every second claim lost. Jobs due at the same instant with the same
 * priority have no order among them (the server returns them in any order), so each instance
 * takes those in an order of its own and they mostly claim different jobs. Jobs due earlier or
 * of higher priority stay first.
 */
function spreadTies(jobs: JobDocument[]): void {
  let start = 0;
  while (start < jobs.length) {
    const first = jobs[start] as JobDocument;
    let end = start + 1;
    while (end < jobs.length && sameSlot(jobs[end] as JobDocument, first)) end += 1;
    for (let index = end - 1; index > start; index -= 1) {
      const other = start + Math.floor(Math.random() * (index - start + 1));
      [jobs[index], jobs[other]] = [jobs[other] as JobDocument, jobs[index] as JobDocument];
    }
    start = end;
  }
}

function sameSlot(a: JobDocument, b: JobDocument): boolean {
  return a.nextRunAt?.getTime() === b.nextRunAt?.getTime() && a['priority'] === b['priority'];
}

/** Agenda's `JobRepository` on its own MongoDB one, locking by claims where the server needs them. */
export class ProcstateJobRepository implements JobRepository {
  readonly #inner: JobRepository;
  readonly #connected: () => Promise<ConnectedRepository>;
  readonly #candidatesPerQuery: number;
  readonly #candidates = new Map<string, { readonly at: number; readonly jobs: JobDocument[] }>();
  /**
   * The claim this instance holds on each job it locked by a claim, until the job's run saved its
   * end, or the job was unlocked or removed. An unlocked job is free again in the very state it
   * was claimed in, so its claim is withdrawn, or no one could lock it until the claim is stale.
   */
  readonly #held = new Map<string, string>();
  /** Jobs whose bookkeeping a drain waits for. @internal */
  readonly settlements = new JobSettlements();

  /** @internal */
  constructor(options: ProcstateJobRepositoryOptions) {
    this.#inner = options.inner;
    this.#connected = options.connected;
    this.#candidatesPerQuery = options.candidatesPerQuery;
  }

  async connect(): Promise<void> {
    await this.#connected();
  }

  queryJobs(options?: JobsQueryOptions): Promise<JobsResult> {
    return this.#inner.queryJobs(options);
  }

  getJobsOverview(): Promise<JobsOverview[]> {
    return this.#inner.getJobsOverview();
  }

  getDistinctJobNames(): Promise<string[]> {
    return this.#inner.getDistinctJobNames();
  }

  getJobById(id: string): Promise<JobParameters | null> {
    return this.#inner.getJobById(id);
  }

  getQueueSize(): Promise<number> {
    return this.#inner.getQueueSize();
  }

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    try {
      return await this.#inner.removeJobs(options);
    } finally {
      // Agenda removes a completed job by its id alone.
      const ids = [...(options.id === undefined ? [] : [String(options.id)]), ...(Array.isArray(options.ids) ? options.ids.map(String) : [])];
      for (const id of ids) this.#held.delete(id);
      this.settlements.removed(ids);
    }
  }

  saveJob<DATA = unknown>(job: JobParameters<DATA>, options: JobRepositoryOptions | undefined): Promise<JobParameters<DATA>> {
    return this.#inner.saveJob(job, options);
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    try {
      await this.#inner.saveJobState(job, options);
    } finally {
      // A save without a lock is the last one of a run (Agenda's `touch` and start saves hold one).
      // The run changed the job's last run time, so the claim it was locked under is spent.
      if (!job.lockedAt && job._id !== undefined) {
        this.#held.delete(String(job._id));
        this.settlements.unlocked(String(job._id), Boolean(job.nextRunAt));
      }
    }
  }

  async lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    const { capabilities, jobs } = await this.#connected();
    if (capabilities.atomicFindAndModify || job._id === undefined) return this.#inner.lockJob(job, options);
    // The same lock as Agenda's, decided by a claim first: read the job in the state it is asked for.
    // Agenda's job ids are the hex strings of the documents' ObjectIds.
    const filter: Filter<Document> = { _id: new ObjectId(String(job._id)), name: job.name, lockedAt: null, nextRunAt: job.nextRunAt, disabled: { $ne: true } };
    const current = (await jobs.findOne(filter)) as JobDocument | null;
    if (current === null) return undefined;
    return this.#claimAndLock(current, new Date(), DEFAULT_CLAIM_LIFETIME_MS, options?.lastModifiedBy ?? null);
  }

  async unlockJob(job: JobParameters): Promise<void> {
    await this.#inner.unlockJob(job);
    if (job._id !== undefined) await this.#withdraw([String(job._id)]);
  }

  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    await this.#inner.unlockJobs(jobIds);
    await this.#withdraw(jobIds.map(String));
  }

  /** Withdraws this instance's claims on jobs it unlocked, so that they can be locked again at once. */
  async #withdraw(ids: readonly string[]): Promise<void> {
    const keys = ids.flatMap((id) => {
      const key = this.#held.get(id);
      this.#held.delete(id);
      return key === undefined ? [] : [key];
    });
    if (keys.length === 0) return;
    const { claims } = await this.#connected();
    for (const key of keys) await claims.withdraw(key);
  }

  disableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.#inner.disableJobs(options);
  }

  enableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.#inner.enableJobs(options);
  }

  purgeAllJobs(): Promise<number> {
    return this.#inner.purgeAllJobs();
  }

  /**
   * The next job to run, locked for this worker: Agenda's own lock where it is atomic; else a
   * candidate from the lock query (whose result serves the rest of the fill round), claimed by one
   * insert and then locked conditionally on the state it was claimed in.
   */
  async getNextJobToRun(jobName: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    const { capabilities } = await this.#connected();
    if (capabilities.atomicFindAndModify) return this.#inner.getNextJobToRun(jobName, nextScanAt, lockDeadline, now, options);
    const lockTime = now ?? new Date();
    // The definition's lock lifetime, as Agenda gives it: a claim lasts as long as a lock.
    const lifetimeMs = Math.max(1, lockTime.getTime() - lockDeadline.getTime());
    const by = options?.lastModifiedBy ?? null;
    // At most two lock queries per call: the cached candidates, then one fresh read.
    for (let query = 0; query < 2; query += 1) {
      const cached = this.#candidates.get(jobName);
      const fresh = cached !== undefined && Date.now() - cached.at < CANDIDATES_FRESH_MS && cached.jobs.length > 0;
      const candidates = fresh ? cached.jobs : await this.#readCandidates(jobName, nextScanAt, lockDeadline);
      if (candidates.length === 0) return undefined;
      for (let candidate = candidates.shift(); candidate !== undefined; candidate = candidates.shift()) {
        if (!lockable(candidate, nextScanAt, lockDeadline)) continue;
        const locked = await this.#claimAndLock(candidate, lockTime, lifetimeMs, by);
        if (locked !== undefined) return locked;
      }
    }
    return undefined;
  }

  /**
   * Claims the state a job was read in and, when the claim won, locks the job with the update
   * Agenda's repository makes, filtered on that same state: a job that changed since (disabled,
   * moved, deleted, locked by a worker that took over a stale claim) is not locked, and the claim
   * is withdrawn.
   */
  async #claimAndLock(candidate: JobDocument, lockTime: Date, lifetimeMs: number, by: string | null): Promise<JobParameters | undefined> {
    const { jobs, claims } = await this.#connected();
    const claim = await claims.claim(candidate, lifetimeMs, by);
    if (claim === undefined) return undefined;
    const filter: Filter<Document> = {
      _id: candidate._id,
      name: candidate.name,
      disabled: { $ne: true },
      lockedAt: candidate.lockedAt ?? null,
      nextRunAt: candidate.nextRunAt,
    };
    const locked = (await jobs.findOneAndUpdate(filter, { $set: { lockedAt: lockTime, lastModifiedBy: by } }, { returnDocument: 'after' })) as JobDocument | null;
    if (locked === null) {
      await claims.withdraw(claim);
      return undefined;
    }
    this.#held.set(candidate._id.toHexString(), claim);
    return toJobParameters(locked);
  }

  async #readCandidates(jobName: string, nextScanAt: Date, lockDeadline: Date): Promise<JobDocument[]> {
    const { jobs } = await this.#connected();
    // Agenda's own lock query, and its order: due first, then higher priority.
    const filter: Filter<Document> = {
      name: jobName,
      disabled: { $ne: true },
      $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: nextScanAt } }, { lockedAt: { $lte: lockDeadline } }],
    };
    const found = (await jobs.find(filter).sort({ nextRunAt: 1, priority: -1 }).limit(this.#candidatesPerQuery).toArray()) as JobDocument[];
    spreadTies(found);
    this.#candidates.set(jobName, { at: Date.now(), jobs: found });
    return found;
  }

  /**
   * Inserts new jobs in one command: the documents Agenda's `saveJob` inserts for new jobs, with
   * their ids; returns them as Agenda's repository returns a saved job. Jobs `saveJob` would not
   * simply insert (an id already, `unique`, type `single`) are saved by it, one by one.
   */
  async insertJobs(jobs: readonly JobParameters[], options: JobRepositoryOptions | undefined): Promise<JobParameters[]> {
    const { jobs: collection } = await this.#connected();
    const plain = (job: JobParameters) => job._id === undefined && job.unique === undefined && job.type !== 'single';
    const documents = jobs.filter(plain).map((job) => newJobDocument(job, options?.lastModifiedBy ?? null));
    if (documents.length > 0) await collection.insertMany(documents, { ordered: true });
    let next = 0;
    const saved: JobParameters[] = [];
    for (const job of jobs) saved.push(plain(job) ? toJobParameters(documents[next++] as JobDocument) : await this.#inner.saveJob(job, options));
    return saved;
  }
}

/** A claim made through `lockJob` lasts Agenda's default lock lifetime: the call names none. */
const DEFAULT_CLAIM_LIFETIME_MS = 600_000;

/**
 * Whether a candidate read by an earlier lock query is due for this call's window (disabled jobs
 * are not read; a job disabled since is not locked by the conditional update).
 */
function lockable(job: JobDocument, nextScanAt: Date, lockDeadline: Date): boolean {
  if (job.lockedAt instanceof Date) return job.lockedAt <= lockDeadline;
  return job.nextRunAt instanceof Date && job.nextRunAt <= nextScanAt;
}
