/**
 * The Agenda backend procstate runs its jobs on, usable by anyone as `new Agenda({ backend })`:
 * Agenda's MongoDB backend with procstate's job repository ({@link ProcstateJobRepository}),
 * which locks jobs by claims where the server's `findOneAndUpdate` is not atomic, inserts jobs in
 * bulk and tells when a job's bookkeeping is done. Its contract tests are Agenda's own checks,
 * run on both capability sets (test/contract/agenda-backend.contract.ts).
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import type { AgendaBackend, JobLogger } from 'agenda';
import type { Db } from 'mongodb';
import { InvalidArgumentError, PersistenceError } from '../../machines/errors.js';
import { serverCapabilities, type ServerCapabilities } from '../../persistence/server-capabilities.js';
import { JobClaims } from './job-claims.js';
import { ProcstateJobRepository, type ConnectedRepository } from './job-repository.js';

/** Suffix of the collection holding the claims that decide job locks, after the jobs collection's name. */
export const CLAIMS_SUFFIX = '_claims';
/** Agenda's own default jobs collection. */
const AGENDA_COLLECTION = 'agendaJobs';
/** Candidates read per lock query where locks are claimed. */
const DEFAULT_CANDIDATES = 32;
/** Claims older than this are purged: far longer than the moment between a claim and its lock. */
const DEFAULT_CLAIM_RETENTION_MS = 5 * 60_000;

/** Options of {@link createAgendaBackend}. */
export interface AgendaBackendOptions {
  /** The database (a `Db` of your `MongoClient`; never a URI, so a failed connect cannot crash the process). */
  readonly db: Db;
  /** The jobs collection. @defaultValue `agendaJobs`, Agenda's */
  readonly collection?: string | undefined;
  /**
   * Capabilities to use instead of the server's: any subset of the flags
   * (`atomicFindAndModify` decides the lock). @defaultValue asked of the server once, unless the
   * environment variable `PROCSTATE_CAPABILITIES` names a set
   */
  readonly capabilities?: Partial<ServerCapabilities> | undefined;
  /** Candidates read per lock query where locks are claimed. @defaultValue 32 */
  readonly candidatesPerQuery?: number | undefined;
  /** How long claims are kept (where locks are claimed). @defaultValue 300000 ms */
  readonly claimRetentionMs?: number | undefined;
  /** Create Agenda's lock-query index on connect, as Agenda's backend does. @defaultValue true */
  readonly ensureIndex?: boolean | undefined;
  /** Agenda's job-log collection, if you enable its logging. */
  readonly logCollection?: string | undefined;
}

function wholeNumber(value: number | undefined, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}.`);
  return chosen;
}

/**
 * An Agenda backend on MongoDB. `connect()` never rejects: Agenda's constructor calls it without
 * handling a rejection, which would end the process. A failed connect is kept instead:
 * {@link ProcstateAgendaBackend.ready} rejects with it, and so does every repository call.
 */
export class ProcstateAgendaBackend implements AgendaBackend {
  readonly name = 'procstate-mongodb';
  readonly ownsConnection = false;
  readonly notificationChannel = undefined;
  readonly repository: ProcstateJobRepository;
  readonly #inner: MongoBackend;
  readonly #db: Db;
  readonly #collection: string;
  readonly #claimRetentionMs: number;
  readonly #capabilities: () => Promise<ServerCapabilities>;
  #connecting: Promise<ConnectedRepository> | undefined;

  constructor(options: AgendaBackendOptions) {
    if (typeof options !== 'object' || options === null || typeof (options as { db?: unknown }).db !== 'object' || options.db === null) {
      throw new InvalidArgumentError('createAgendaBackend needs { db }: a Db of a MongoClient.');
    }
    const candidates = wholeNumber(options.candidatesPerQuery, DEFAULT_CANDIDATES, 'candidatesPerQuery');
    this.#claimRetentionMs = wholeNumber(options.claimRetentionMs, DEFAULT_CLAIM_RETENTION_MS, 'claimRetentionMs');
    this.#db = options.db;
    this.#collection = options.collection ?? AGENDA_COLLECTION;
    this.#capabilities = serverCapabilities(options.db.admin(), options.capabilities);
    this.#inner = new MongoBackend({
      mongo: options.db,
      collection: this.#collection,
      ...(options.ensureIndex === undefined ? {} : { ensureIndex: options.ensureIndex }),
      ...(options.logCollection === undefined ? {} : { logCollection: options.logCollection }),
    });
    this.repository = new ProcstateJobRepository({ inner: this.#inner.repository, connected: () => this.#connected(), candidatesPerQuery: candidates });
  }

  get logger(): JobLogger | undefined {
    return this.#inner.logger;
  }

  /** The jobs collection's name. */
  get collectionName(): string {
    return this.#collection;
  }

  async connect(): Promise<void> {
    await this.#connected().catch(() => undefined);
  }

  /**
   * Resolves once connected, with the capabilities in use.
   * @throws PersistenceError when the backend could not connect
   */
  async ready(): Promise<ServerCapabilities> {
    return (await this.#connected()).capabilities;
  }

  async disconnect(): Promise<void> {
    await this.#inner.disconnect();
  }

  #connected(): Promise<ConnectedRepository> {
    this.#connecting ??= (async () => {
      try {
        await this.#inner.connect();
        const capabilities = await this.#capabilities();
        return {
          capabilities,
          jobs: this.#db.collection(this.#collection),
          claims: new JobClaims({ collection: this.#db.collection(`${this.#collection}${CLAIMS_SUFFIX}`), retentionMs: this.#claimRetentionMs }),
        };
      } catch (error) {
        throw error instanceof PersistenceError ? error : new PersistenceError(`Agenda's backend could not connect to ${this.#collection}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    })();
    return this.#connecting;
  }
}

/**
 * An Agenda 6 backend on MongoDB with procstate's job repository: Agenda's own lock where the
 * server's `findOneAndUpdate` is atomic, claims where it is not (FerretDB 1.x).
 *
 * @example
 * ```ts
 * import { Agenda } from 'agenda';
 * import { createAgendaBackend } from 'procstate/agenda';
 *
 * const agenda = new Agenda({ backend: createAgendaBackend({ db: client.db('app') }) });
 * agenda.define('send mail', async (job) => { ... });
 * await agenda.start();
 * ```
 */
export function createAgendaBackend(options: AgendaBackendOptions): ProcstateAgendaBackend {
  return new ProcstateAgendaBackend(options);
}
