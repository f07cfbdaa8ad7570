/**
 * Job locks decided by an insert, for servers whose filtered `findOneAndUpdate` is not atomic
 * (`ServerCapabilities.atomicFindAndModify` false: FerretDB 1.x reads, then writes the whole
 * document back, so two workers both "lock" one job).
 *
 * Before a worker may lock a job it inserts a *claim* under a unique `_id` naming the job and the
 * state it saw the job in (its generation): free with a given run time, last run and failure
 * count, or held under a given expired lock. Only the insert that wins may lock that generation;
 * the generation changes whenever the job becomes lockable again, so each is decided once.
 *
 * A claim whose maker died before it marked the job locked would block that generation forever:
 * once it is older than the job's lock lifetime (the time Agenda gives any lock), the next key of
 * its chain (`<generation>#2`, `#3`, …) is claimed instead, again by one insert. A worker reads a
 * claim it lost only when it loses the same key again a lock lifetime later, so the usual race
 * costs no read.
 */
import type { Collection, Document } from 'mongodb';
import type { JobDocument } from './job-document.js';

/** A claim on one lock generation of a job. */
interface ClaimDocument {
  /** `<job id>/<generation>[#n]`: the unique key the claim is decided by. */
  _id: string;
  /** The job's id. */
  job: string;
  /** When the claim was made: stale claims are taken over, old ones purged. */
  at: Date;
  /** The Agenda instance that made it. */
  by: string | null;
}

/** Most takeovers of one generation's stale claims in a row: each is a worker that died holding it. */
const MAX_TAKEOVERS = 16;
/** The duplicate-key error code, the one answer that means another claim won. */
const DUPLICATE_KEY = 11000;

/** The generation of a lockable job: what changes whenever it becomes lockable again. */
function generationOf(job: JobDocument): string {
  const time = (value: unknown) => (value instanceof Date ? value.getTime() : 0);
  if (job.lockedAt instanceof Date) return `lock@${job.lockedAt.getTime()}`;
  return `free@${time(job.nextRunAt)}/${time(job['lastRunAt'])}/${Number(job['failCount'] ?? 0)}`;
}

/** Options of {@link JobClaims}. */
export interface JobClaimsOptions {
  /** Where claims are kept (`<jobs collection>_claims`). */
  readonly collection: Collection<Document>;
  /** Claims older than this are purged; longer than any lock lifetime. */
  readonly retentionMs: number;
}

/** The claims collection of one jobs collection. */
export class JobClaims {
  readonly #claims: Collection<ClaimDocument>;
  readonly #retentionMs: number;
  /**
   * Claim keys this instance lost, and when first: a key lost again a lock lifetime later may be
   * a claim whose maker died, and only then is it read. In the usual race the winner locks the
   * job, its generation changes, and the key is never met again.
   */
  readonly #lostKeys = new Map<string, number>();
  #lastPurge = Date.now();

  constructor(options: JobClaimsOptions) {
    this.#claims = options.collection as unknown as Collection<ClaimDocument>;
    this.#retentionMs = options.retentionMs;
  }

  /**
   * Claims the generation the job was read in; the key of the claim won, or undefined when
   * another instance holds it. `lifetimeMs` is the job's lock lifetime: a claim older than that
   * whose job was never locked is stale and taken over.
   */
  async claim(job: JobDocument, lifetimeMs: number, by: string | null): Promise<string | undefined> {
    this.#purgeOld();
    const id = job._id.toHexString();
    const generation = `${id}/${generationOf(job)}`;
    let key = generation;
    for (let attempt = 1; attempt <= MAX_TAKEOVERS; ) {
      if (await this.#insert(key, id, by)) {
        this.#lostKeys.delete(key);
        return key;
      }
      if (!this.#lostBefore(key, lifetimeMs)) return undefined;
      const existing = await this.#claims.findOne({ _id: key });
      attempt += 1;
      // Withdrawn meanwhile: the same key is free again.
      if (existing === null) continue;
      if (Date.now() - existing.at.getTime() < lifetimeMs) return undefined;
      key = `${generation}#${attempt}`;
    }
    return undefined;
  }

  /** Withdraws a claim whose lock did not happen (the job changed since it was read). */
  async withdraw(key: string): Promise<void> {
    await this.#claims.deleteOne({ _id: key });
  }

  async #insert(key: string, job: string, by: string | null): Promise<boolean> {
    try {
      await this.#claims.insertOne({ _id: key, job, at: new Date(), by });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw error;
    }
  }

  /**
   * Whether this instance lost the claim `key` a lock lifetime ago or more (so that it may be
   * stale now); remembers the first loss otherwise.
   */
  #lostBefore(key: string, lifetimeMs: number): boolean {
    const now = Date.now();
    const first = this.#lostKeys.get(key);
    if (first !== undefined) return now - first >= lifetimeMs;
    this.#lostKeys.set(key, now);
    // Forget keys lost long ago (their jobs ran since): the map stays as small as the recent losses.
    for (const [lost, at] of this.#lostKeys) {
      if (now - at < this.#retentionMs) break;
      this.#lostKeys.delete(lost);
    }
    return false;
  }

  /**
   * Removes claims far older than any lock: a job locked under such a claim has run, expired or
   * been unlocked since. Fire and forget, at most twice per retention period.
   */
  #purgeOld(): void {
    if (Date.now() - this.#lastPurge < this.#retentionMs / 2) return;
    this.#lastPurge = Date.now();
    void this.#claims.deleteMany({ at: { $lt: new Date(Date.now() - this.#retentionMs) } }).catch(() => undefined);
  }
}
