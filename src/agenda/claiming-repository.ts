/**
 * Agenda's job repository, with the lock decided by an insert instead of `findOneAndUpdate`.
 *
 * Agenda 6 locks a job with one `findOneAndUpdate` (`lockedAt: null` → now). On MongoDB that is
 * atomic until the lock expires; on FerretDB it is not at all (it reads, then writes the whole
 * document back), so two workers regularly lock the same job and run it twice. Here a worker
 * first inserts a *claim* under a unique `_id` naming the job and the state it saw it in — the
 * free job (its run time, its last run, its failures) or the expired lock (its lock time) —
 * and only the one insert that wins may lock it. The claim key changes whenever the job becomes
 * lockable again, so every lock generation is decided once, on MongoDB and FerretDB alike.
 *
 * Everything else is Agenda's own repository. Two more changes save round trips: job state saves
 * and the auto-removal of completed jobs of concurrent jobs share commands (group commit), and
 * jobs can be inserted in bulk (`insertJobs`, which Agenda's API lacks).
 */
import { toJobId, type JobId, type JobParameters, type JobRepository, type JobRepositoryOptions, type JobsOverview, type JobsQueryOptions, type JobsResult, type RemoveJobsOptions } from 'agenda';
import { ObjectId, type AnyBulkWriteOperation, type Collection, type Document, type Filter } from 'mongodb';
import { GroupCommit } from '../../persistence/group-commit.js';
import { UPDATES_PER_COMMAND, type ServerProfile } from '../../persistence/server-profile.js';

/** A claim on one lock generation of a job. */
interface ClaimDocument {
  /** `<job id>/<generation>`: the unique key the claim is decided by. */
  _id: string;
  /** The job's id. */
  job: string;
  /** When the claim was made; old claims are purged. */
  at: Date;
  /** The Agenda instance that made it. */
  by: string | null;
}

/** A job document as Agenda's MongoDB backend stores it. */
type JobDocument = Document & { _id: ObjectId; name: string; nextRunAt: Date | null; lockedAt?: Date | null };

/** Options of {@link ClaimingJobRepository}. */
export interface ClaimingJobRepositoryOptions {
  /** Agenda's own repository for the same collection (`MongoBackend.repository`). */
  readonly inner: JobRepository;
  /** The jobs collection. */
  readonly jobs: Collection<Document>;
  /** Where claims are kept (`<jobs>_claims`). */
  readonly claims: Collection<Document>;
  /** How the server runs batched commands (asked once). */
  readonly server: () => Promise<ServerProfile>;
  /** Candidates read per lock query; a fill round claims from them one by one. */
  readonly candidates: number;
  /** Claims older than this are removed; longer than any lock lifetime. */
  readonly claimRetentionMs: number;
  /**
   * Agenda's lock lifetime: a claim older than this whose job was never marked locked (its
   * worker died between the claim and the job's start) is taken over, as Agenda takes over an
   * expired lock. Its maker, if it only stalled, finds its lock expired and does not start it.
   */
  readonly claimLifetimeMs: number;
  /** Offer the jobs this instance inserts to its own lock attempts first (a worker, not a producer). */
  readonly offerInserted: boolean;
}

/** How long the candidates of one lock query serve further locks of the same fill round. */
const CANDIDATES_FRESH_MS = 250;
/** Most state saves or removals sent in one round of commands. */
const MAX_BATCH = 128;
/** Most inserted jobs kept to offer to this instance's own lock attempts. */
const MAX_OFFERED = 1_000;
/** Candidates read per lock query, per job this instance runs at once: a wide window keeps workers apart. */
const CANDIDATES_PER_SLOT = 4;
/**
 * How long a job whose claim this instance lost is skipped: another worker holds it, and reads
 * it as free only until that worker's start is saved, a moment later.
 */
const LOST_CLAIM_SKIP_MS = 5_000;
/** Most takeovers of one job's stale claims in a row: each is a worker that died holding it. */
const MAX_TAKEOVERS = 16;

interface StateSave {
  readonly job: JobParameters;
  readonly options: JobRepositoryOptions | undefined;
}

/** Agenda's fields of a job, as its repository returns them (absent where the document has null). */
function toJobParameters(document: JobDocument): JobParameters {
  const fields = ['lockedAt', 'lastFinishedAt', 'failedAt', 'failCount', 'failReason', 'repeatTimezone', 'lastRunAt', 'repeatInterval', 'repeatAt', 'disabled', 'progress', 'lastModifiedBy', 'fork'];
  const optional = Object.fromEntries(fields.flatMap((field) => (document[field] === null || document[field] === undefined ? [] : [[field, document[field]]])));
  return {
    _id: toJobId(document._id.toHexString()),
    name: document.name,
    priority: document['priority'] as number,
    nextRunAt: document.nextRunAt,
    type: document['type'] as 'normal' | 'single',
    data: document['data'],
    ...optional,
  } as JobParameters;
}

/** The generation of a lockable job: what changes whenever it becomes lockable again. */
function generationOf(job: JobDocument): string {
  const time = (value: unknown) => (value instanceof Date ? value.getTime() : 0);
  if (job.lockedAt instanceof Date) return `lock@${job.lockedAt.getTime()}`;
  return `free@${time(job.nextRunAt)}/${time(job['lastRunAt'])}/${Number(job['failCount'] ?? 0)}`;
}

/**
 * Workers that hear of the same jobs read the same candidates in the same order, and would then
 * race for each one in turn, every second claim of each lost. Each instance takes the first
 * candidates of equal priority in a random order of its own (the order among them is a race
 * anyway), so that they mostly claim different jobs.
 */
function spreadOut(jobs: JobDocument[]): void {
  const first = jobs[0];
  if (first === undefined) return;
  let same = 1;
  while (same < jobs.length && (jobs[same] as JobDocument)['priority'] === first['priority']) same += 1;
  for (let index = same - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [jobs[index], jobs[other]] = [jobs[other] as JobDocument, jobs[index] as JobDocument];
  }
}

function objectIdOf(id: JobId | string | undefined): ObjectId {
  return new ObjectId(String(id));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/** A {@link JobRepository} whose locks are won by inserting a claim. */
export class ClaimingJobRepository implements JobRepository {
  readonly #inner: JobRepository;
  readonly #jobs: Collection<JobDocument>;
  readonly #claims: Collection<ClaimDocument>;
  readonly #server: () => Promise<ServerProfile>;
  readonly #candidatesPerQuery: number;
  readonly #claimRetentionMs: number;
  readonly #claimLifetimeMs: number;
  /** How long a lost job is skipped: never longer than a claim can stay valid. */
  readonly #lostSkipMs: number;
  readonly #offerInserted: boolean;
  readonly #candidates = new Map<string, { readonly at: number; readonly jobs: JobDocument[] }>();
  /** Jobs this instance inserted and has not tried to lock yet: offered before any lock query. */
  readonly #inserted = new Map<string, JobDocument[]>();
  /** The claim this instance holds on each job it locked, to withdraw it on unlock. */
  readonly #held = new Map<string, string>();
  /** Jobs whose claim this instance lost lately, and when: skipped for a while. */
  readonly #lost = new Map<string, number>();
  /**
   * Claim keys this instance lost, and when first: a key lost again later may be a claim whose
   * maker died, and only then is it read to see. In the usual race the winner starts the job, its
   * generation changes, and the key is never met again.
   */
  readonly #lostKeys = new Map<string, number>();
  readonly #saves: GroupCommit<StateSave, Error | undefined>;
  readonly #removals: GroupCommit<string, number>;
  #lastPurge = Date.now();

  constructor(options: ClaimingJobRepositoryOptions) {
    this.#inner = options.inner;
    this.#jobs = options.jobs as unknown as Collection<JobDocument>;
    this.#claims = options.claims as unknown as Collection<ClaimDocument>;
    this.#server = options.server;
    this.#candidatesPerQuery = options.candidates;
    this.#claimRetentionMs = options.claimRetentionMs;
    this.#claimLifetimeMs = options.claimLifetimeMs;
    this.#lostSkipMs = Math.min(LOST_CLAIM_SKIP_MS, options.claimLifetimeMs);
    this.#offerInserted = options.offerInserted;
    this.#saves = new GroupCommit((saves) => this.#saveStates(saves), MAX_BATCH);
    this.#removals = new GroupCommit((ids) => this.#removeByIds(ids), MAX_BATCH);
  }

  connect(): Promise<void> {
    return this.#inner.connect();
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
    // Agenda removes each completed job by id alone: those share commands.
    const keys = Object.keys(options).filter((key) => (options as Record<string, unknown>)[key] !== undefined);
    if (keys.length === 1 && keys[0] === 'id' && ObjectId.isValid(String(options.id))) return this.#removals.submit(String(options.id));
    return this.#inner.removeJobs(options);
  }

  saveJob<DATA = unknown>(job: JobParameters<DATA>, options: JobRepositoryOptions | undefined): Promise<JobParameters<DATA>> {
    return this.#inner.saveJob(job, options);
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    if (job._id === undefined) throw new Error('Cannot save job state without job ID');
    const failure = await this.#saves.submit({ job, options });
    if (failure !== undefined) throw failure;
  }

  lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    return this.#inner.lockJob(job, options);
  }

  async unlockJob(job: JobParameters): Promise<void> {
    await this.#inner.unlockJob(job);
    await this.#withdraw([String(job._id)]);
  }

  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    await this.#inner.unlockJobs(jobIds);
    await this.#withdraw(jobIds.map(String));
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
   * The next job to run, locked for this worker: a candidate from the lock query (whose result
   * serves the rest of the fill round), claimed by one insert.
   */
  async getNextJobToRun(jobName: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    const lockTime = now ?? new Date();
    const by = options?.lastModifiedBy ?? null;
    // A job this process just dispatched needs no lock query to be found. Once one of them was
    // claimed elsewhere, other workers take them too, in the same order: the lock query, whose
    // order each worker shuffles, keeps them apart better.
    const fresh = this.#inserted.get(jobName);
    for (let candidate = fresh?.shift(); candidate !== undefined; candidate = fresh?.shift()) {
      const locked = await this.#tryLock(candidate, nextScanAt, lockDeadline, lockTime, by);
      if (locked !== undefined) return locked;
      if (this.#lost.has(candidate._id.toHexString())) {
        this.#inserted.delete(jobName);
        break;
      }
    }
    // At most two lock queries per call: the cached candidates, then one fresh read.
    for (let query = 0; query < 2; query += 1) {
      const cached = this.#candidates.get(jobName);
      const fresh = cached !== undefined && Date.now() - cached.at < CANDIDATES_FRESH_MS && cached.jobs.length > 0;
      const candidates = fresh ? cached.jobs : await this.#readCandidates(jobName, nextScanAt, lockDeadline);
      if (candidates.length === 0) return undefined;
      for (let candidate = candidates.shift(); candidate !== undefined; candidate = candidates.shift()) {
        const locked = await this.#tryLock(candidate, nextScanAt, lockDeadline, lockTime, by);
        if (locked !== undefined) return locked;
      }
    }
    return undefined;
  }

  /** Claims one candidate; the job, locked for this worker, when the claim won. */
  async #tryLock(candidate: JobDocument, nextScanAt: Date, lockDeadline: Date, lockTime: Date, by: string | null): Promise<JobParameters | undefined> {
    const id = candidate._id.toHexString();
    // Concurrent fill rounds of this instance read the same jobs; this one holds it already, or
    // lost it a moment ago.
    const lostAt = this.#lost.get(id);
    if (lostAt !== undefined && Date.now() - lostAt < this.#lostSkipMs) return undefined;
    if (this.#held.has(id) || !this.#lockable(candidate, nextScanAt, lockDeadline)) return undefined;
    const generation = `${id}/${generationOf(candidate)}`;
    this.#held.set(id, generation);
    const claim = await this.#claim(generation, id, by);
    if (claim === undefined) {
      this.#held.delete(id);
      this.#rememberLost(id);
      return undefined;
    }
    this.#held.set(id, claim);
    // `lockedAt` reaches the document with Agenda's own save when the job starts, a moment
    // later (Agenda locks no more jobs than it can start). Until then other workers may read
    // the job as free; their claim loses.
    return toJobParameters({ ...candidate, lockedAt: lockTime, lastModifiedBy: by });
  }

  /**
   * Inserts new jobs in one command, with the fields Agenda's `saveJob` writes for a new job;
   * returns them with their ids.
   */
  async insertJobs(jobs: readonly JobParameters[], options: JobRepositoryOptions | undefined): Promise<JobParameters[]> {
    if (jobs.length === 0) return [];
    const documents = jobs.map(({ _id: _ignored, unique: _unique, uniqueOpts: _uniqueOpts, ...props }) => ({
      ...props,
      _id: new ObjectId(),
      lockedAt: props.lockedAt ?? null,
      lastFinishedAt: props.lastFinishedAt ?? null,
      failedAt: props.failedAt ?? null,
      failCount: props.failCount ?? null,
      failReason: props.failReason ?? null,
      repeatTimezone: props.repeatTimezone ?? null,
      lastRunAt: props.lastRunAt ?? null,
      repeatInterval: props.repeatInterval ?? null,
      repeatAt: props.repeatAt ?? null,
      disabled: props.disabled ?? null,
      progress: props.progress ?? null,
      debounceStartedAt: props.debounceStartedAt ?? null,
      fork: props.fork ?? null,
      startDate: props.startDate ?? null,
      endDate: props.endDate ?? null,
      skipDays: props.skipDays ?? null,
      lastModifiedBy: options?.lastModifiedBy ?? null,
    }));
    await this.#jobs.insertMany(documents as unknown as JobDocument[], { ordered: true });
    if (this.#offerInserted) {
      for (const document of documents as unknown as JobDocument[]) {
        let fresh = this.#inserted.get(document.name);
        if (fresh === undefined) this.#inserted.set(document.name, (fresh = []));
        // Bounded: a producer that never works (or dispatches far more than it takes) keeps only the latest.
        if (fresh.length < MAX_OFFERED) fresh.push(document);
      }
    }
    return documents.map((document) => toJobParameters(document as unknown as JobDocument));
  }

  #rememberLost(id: string): void {
    const now = Date.now();
    // Deleted first, so that the map stays in the order of the times it holds.
    this.#lost.delete(id);
    this.#lost.set(id, now);
    // Forget what is past: the map stays as small as the jobs lost in the last few seconds.
    for (const [lost, at] of this.#lost) {
      if (now - at < this.#lostSkipMs) break;
      this.#lost.delete(lost);
    }
  }

  #lockable(job: JobDocument, nextScanAt: Date, lockDeadline: Date): boolean {
    if (job['disabled'] === true) return false;
    const lockedAt = job.lockedAt;
    if (lockedAt instanceof Date) return lockedAt <= lockDeadline;
    return job.nextRunAt instanceof Date && job.nextRunAt <= nextScanAt;
  }

  async #readCandidates(jobName: string, nextScanAt: Date, lockDeadline: Date): Promise<JobDocument[]> {
    this.#purgeOldClaims();
    const filter: Filter<JobDocument> = {
      name: jobName,
      disabled: { $ne: true },
      $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: nextScanAt } }, { lockedAt: { $lte: lockDeadline } }],
    };
    // Jobs held here or lost to another worker may still read as free (their start has not been
    // saved yet): look past them.
    const limit = this.#candidatesPerQuery * CANDIDATES_PER_SLOT + this.#held.size + this.#lost.size;
    const jobs = await this.#jobs.find(filter).sort({ nextRunAt: 1, priority: -1 }).limit(limit).toArray();
    spreadOut(jobs);
    this.#candidates.set(jobName, { at: Date.now(), jobs });
    return jobs;
  }

  /**
   * Claims one lock generation of a job; the key of the claim won, or undefined when another
   * instance holds it. A claim that outlived the lock lifetime without its job being marked
   * locked is stale: the next key in its chain (`<generation>#2`, `#3`, …) is claimed instead,
   * again decided by one insert, so that two instances taking over the same stale claim cannot
   * both win.
   */
  async #claim(generation: string, job: string, by: string | null): Promise<string | undefined> {
    let key = generation;
    for (let attempt = 1; attempt <= MAX_TAKEOVERS; ) {
      if (await this.#insertClaim(key, job, by)) {
        this.#lostKeys.delete(key);
        return key;
      }
      if (!this.#lostBefore(key)) return undefined;
      const existing = await this.#claims.findOne({ _id: key });
      // Withdrawn meanwhile: the same key is free again.
      if (existing !== null) {
        if (Date.now() - existing.at.getTime() < this.#claimLifetimeMs) return undefined;
        attempt += 1;
        key = `${generation}#${attempt}`;
      } else attempt += 1;
    }
    return undefined;
  }

  async #insertClaim(key: string, job: string, by: string | null): Promise<boolean> {
    try {
      await this.#claims.insertOne({ _id: key, job, at: new Date(), by });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 11000) return false;
      throw error;
    }
  }

  /**
   * Whether this instance lost the claim `key` before, a lock lifetime ago or more (so that it
   * may be stale now); remembers the first loss otherwise.
   */
  #lostBefore(key: string): boolean {
    const now = Date.now();
    const first = this.#lostKeys.get(key);
    if (first !== undefined) return now - first >= this.#claimLifetimeMs;
    this.#lostKeys.set(key, now);
    // Forget keys lost long ago (their jobs ran since): the map stays as small as the recent losses.
    for (const [lost, at] of this.#lostKeys) {
      if (now - at < 2 * this.#claimLifetimeMs) break;
      this.#lostKeys.delete(lost);
    }
    return false;
  }

  /** Withdraws this instance's claims on unlocked jobs, so that they can be locked again. */
  async #withdraw(jobIds: readonly string[]): Promise<void> {
    const claims = jobIds.flatMap((id) => {
      const claim = this.#held.get(id);
      this.#held.delete(id);
      return claim === undefined ? [] : [claim];
    });
    for (const claim of claims) await this.#claims.deleteOne({ _id: claim });
  }

  /**
   * Removes claims far older than any lock: a job locked under such a claim has run, expired or
   * been unlocked since. A claim whose lock was never marked (its worker died in between)
   * blocks its job until then, which is why the retention is kept short.
   */
  #purgeOldClaims(): void {
    if (Date.now() - this.#lastPurge < this.#claimRetentionMs / 2) return;
    this.#lastPurge = Date.now();
    void this.#claims.deleteMany({ at: { $lt: new Date(Date.now() - this.#claimRetentionMs) } }).catch(() => undefined);
  }

  async #saveStates(saves: readonly StateSave[]): Promise<Array<Error | undefined>> {
    const operations: AnyBulkWriteOperation<JobDocument>[] = saves.map(({ job, options }) => ({
      updateOne: {
        filter: { _id: objectIdOf(job._id), name: job.name },
        update: {
          $set: {
            lockedAt: job.lockedAt ? new Date(job.lockedAt) : null,
            nextRunAt: job.nextRunAt ? new Date(job.nextRunAt) : null,
            lastRunAt: job.lastRunAt ? new Date(job.lastRunAt) : null,
            progress: job.progress ?? null,
            failReason: job.failReason ?? null,
            failCount: job.failCount ?? null,
            failedAt: job.failedAt ? new Date(job.failedAt) : null,
            lastFinishedAt: job.lastFinishedAt ? new Date(job.lastFinishedAt) : null,
            lastModifiedBy: options?.lastModifiedBy ?? null,
          },
        },
      },
    }));
    const results: Array<Error | undefined> = saves.map(() => undefined);
    const perCommand = UPDATES_PER_COMMAND[await this.#server()];
    for (let start = 0; start < operations.length; start += perCommand) {
      const part = operations.slice(start, start + perCommand);
      const written = await this.#jobs.bulkWrite(part, { ordered: false });
      if (written.matchedCount === part.length) continue;
      // Some job is gone (removed while it ran): find which, as Agenda's own save would say.
      for (let index = start; index < start + part.length; index += 1) {
        const { job } = saves[index] as StateSave;
        if ((await this.#jobs.findOne({ _id: objectIdOf(job._id) }, { projection: { _id: 1 } })) === null) {
          results[index] = new Error(`job ${String(job._id)} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`);
        }
      }
    }
    return results;
  }

  /**
   * Removes jobs by id in few commands. Each id counts 1 when its job is gone afterwards: a
   * batch cannot tell a job it removed from one already gone, which only Agenda's auto-removal
   * of completed jobs (which ignores the count) ever sends here.
   */
  async #removeByIds(ids: readonly string[]): Promise<number[]> {
    for (const id of ids) this.#held.delete(id);
    const perCommand = UPDATES_PER_COMMAND[await this.#server()];
    for (const part of chunks(ids, perCommand)) {
      await this.#jobs.bulkWrite(part.map((id) => ({ deleteOne: { filter: { _id: new ObjectId(id) } } })), { ordered: false });
    }
    return ids.map(() => 1);
  }
}
