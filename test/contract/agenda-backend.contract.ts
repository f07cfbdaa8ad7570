/**
 * The contract of an Agenda 6 backend (agenda's `AgendaBackend`, used as `new Agenda({ backend })`):
 * everything Agenda's own shared test suites check that a backend can change, rewritten here as
 * our own cases so that any backend (Agenda's stock `MongoBackend`, procstate's) runs the same
 * ones on a real server.
 *
 * What it covers, and the Agenda suites each part was derived from (agenda/agenda 6.2.2,
 * `packages/agenda/test/…`, checked against the installed agenda 6.2.6 and
 * @agendajs/mongo-backend 4.0.3, which decide where they differ):
 * - storing and reading jobs: every field saved comes back from `getJobById`, `queryJobs` and
 *   `getNextJobToRun`; updates by id, `single` jobs, `unique`/`insertOnly`; queries, counts,
 *   overview (`shared/repository-test-suite.ts`, `shared/agenda-test-suite.ts`: every(),
 *   queryJobs(), unique constraint, Job.save; `mongo-backend/test/mongo-backend.test.ts`: data
 *   queries);
 * - removing, disabling, purging, with the counts Agenda returns (`repository-test-suite.ts`
 *   removeJobs; `agenda-test-suite.ts` cancel(), disable/enable, purge);
 * - locking: a due job is locked once (lockedAt, lastModifiedBy), not handed out again before its
 *   lock lifetime passed and handed out after it, lockJob/unlockJob(s), oldest-first among equal
 *   priority and highest priority first among equal run times, a job changed by another instance
 *   after a lock query is not handed out, a job deleted between its lock and its start, a run
 *   seen from the stored document, touch(), stop(), a definition's lock limit, and (option) locks
 *   under concurrency (`repository-test-suite.ts` locking, getNextJobToRun;
 *   `agenda-test-suite.ts` job locking, priority, lock limits, touch, stop;
 *   `shared/jobprocessor-test-suite.ts`; `mongo-backend.test.ts` concurrent locking);
 * - failures and retries: failCount/failReason/failedAt, retries through `job.attrs.nextRunAt`,
 *   `job.save()` and `job.schedule()` in a failing job, the count reset on success, backoff
 *   strategies (`constant`, `linear`, `exponential`, a custom function) until success or
 *   exhaustion, backoff on a repeating job (`shared/retry-test-suite.ts`,
 *   `shared/backoff-test-suite.ts` auto-retry integration, `agenda-test-suite.ts` error handling);
 * - repeating jobs: nextRunAt moves to the last run plus the interval, failCount kept across
 *   failed runs (`agenda-test-suite.ts` repeating jobs, every());
 * - date constraints: endDate ends a repeating job, skipDays move its next run, startDate holds it
 *   back (`date-constraints.test.ts` checks the helpers alone; through a backend they only work
 *   if it stores the constraint fields and returns them with the job it locks);
 * - debounce: trailing, leading, maxWait, one run with the last data, debounceStartedAt kept
 *   (`shared/debounce-test-suite.ts`);
 * - stored fields across a run: a locked run and a `job.save()` inside the handler keep startDate,
 *   endDate, skipDays, debounceStartedAt and the unique fields, read back from the collection field
 *   by field; what a handler's save does to the lock (option);
 * - removeOnComplete, Agenda-wide and per definition (`shared/removeoncomplete-test-suite.ts`).
 *
 * Left out, because no backend can change the outcome: the backoff strategies as functions
 * (delays, caps, jitter, `combine`, `when`, presets) and the date-constraint helpers
 * (`shouldSkipDay`, `applySkipDays`, …) as functions (we only use `applyAllDateConstraints` to
 * compute an expected date); cron and human-interval parsing, timezones, `skipImmediate`,
 * `repeatAt` parsing, priority names, Job.fail/toJson in memory, `job.run()` called directly,
 * async-versus-callback handlers, which events Agenda emits, drain(), getRunningStats' version and
 * queue name, maxConcurrency/defaultConcurrency, the Agenda-wide lock limit (counted in memory
 * before the backend is asked, so the backend sees no query at all), "filling up the running
 * queue", and the lock-lifetime expiry of a running job (checked in memory by `isExpired` without a
 * database read for jobs the processor owns); decorators (`decorators.test.ts`). Left out because
 * they test something other than this interface: notification channels (a backend that brings one
 * runs `notification-channel-test-suite.ts`; MongoBackend has none), the job logger
 * (`joblogger-test-suite.ts`, off unless `logging` is set), fork mode (needs a fork helper script;
 * the `fork` field itself is stored and read back here), and MongoBackend's own constructor
 * details in `mongo-backend.test.ts` (connection strings, `ensureIndex`, index names, its
 * repository class). The Agenda 6.2.2 case "stop() clears the lock of a running job" is not
 * Agenda 6.2.6's behaviour: stop() releases only jobs it locked and had not started, which is
 * what is checked here.
 *
 * Assumptions: the stored document has the layout of @agendajs/mongo-backend (ObjectId `_id`, one
 * document per job, Agenda's field names; an absent field and `null` are the same); lock expiry
 * is decided by the `lockDeadline` argument of `getNextJobToRun`, as Agenda passes it (now minus
 * the definition's lock lifetime).
 *
 * Every test gets a jobs collection of its own. Waits are on Agenda's events and on the backend's
 * answers to lock queries (counted through a wrapper, so "not run again" is checked after a number
 * of further lock queries, not after a sleep), each under the project's watchdog, which fails with
 * the server's state. Sleeps appear only to let time pass where a case is about time passing (a
 * lock lifetime, a debounce maxWait, a lock renewed or a job saved again at a later instant).
 *
 * Single-instance cases are built not to depend on atomic `findOneAndUpdate`, with one caveat:
 * Agenda 6.2.6's JobProcessor starts a new fill of its queue every `processEvery` without waiting
 * for the previous one, so one instance's lock queries overlap whenever one takes longer than
 * `processEvery`. The cases here have one to three due jobs per name and poll every 100 ms, where
 * that does not happen on a healthy server; the case that forces overlaps (20 ms, 40 jobs) sits
 * under `exclusiveLocksUnderConcurrency`.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import {
  Agenda,
  applyAllDateConstraints,
  constant,
  exponential,
  linear,
  type AgendaBackend,
  type AgendaOptions,
  type BackoffStrategy,
  type Job,
  type JobParameters,
  type JobRepository,
  type RemoveJobsOptions,
  type RetryDetails,
} from 'agenda';
import { ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { mongoUri } from '../helpers/mongo.js';
import { watched } from '../helpers/watchdog.js';

/** What a backend under test gives the contract. */
export interface AgendaBackendContractSetup {
  /** The database the tests make their collections in (a fresh one per test file). */
  db(): Db;
  /** A backend over the jobs collection `collection` of `db`, not yet connected. */
  makeBackend(db: Db, collection: string): AgendaBackend | Promise<AgendaBackend>;
  /**
   * Whether concurrent lock queries from several callers never hand one job to two of them. True
   * on a real mongod (atomic `findOneAndUpdate`) or with locks arbitrated otherwise (procstate's
   * claims); false for the stock backend on FerretDB 1.x, whose filtered updates read and then
   * write, so that concurrent lock queries for one due job all win it. When false, the
   * concurrency cases are skipped.
   */
  readonly exclusiveLocksUnderConcurrency: boolean;
  /**
   * Whether `saveJob` keeps `unique` and `uniqueOpts` in the job document. The stock backend
   * does not: its saveJob takes both out before writing (they only shape the upsert query), so the
   * document and every read of it have neither. The cases then check that they stay absent.
   */
  readonly storesUniqueConstraint: boolean;
  /**
   * Whether a `job.save()` inside a running handler leaves `lockedAt` and `lastRunAt` as they
   * were. The stock backend does not: Agenda's `Job.save()` sends the job without the fields its
   * processor manages (lockedAt, lastRunAt, lastFinishedAt, failedAt, failCount, failReason,
   * progress), and @agendajs/mongo-backend 4.0.3's saveJob writes `null` for every field it was
   * not given, so the running job loses its lock in the database until Agenda's own state save at
   * the end of the run. The cases then check that this is what happens.
   */
  readonly keepsLockWhenHandlerSaves: boolean;
  /**
   * What Agenda sees when a job it has locked is deleted before it starts it. `'error-event'`: the
   * backend's `saveJobState` throws for the missing job, Agenda catches it and emits one `error`
   * event with the backend's message (the stock backend's, checked exactly), and the handler does
   * not run. `'quiet'`: no `error` event; the job completes without the document coming back.
   */
  readonly deletedJobStart:
    | { readonly kind: 'error-event'; message(id: string, name: string): string }
    | { readonly kind: 'quiet' };
}

/** How often the Agendas of these tests poll. */
const PROCESS_EVERY_MS = 100;
/** How long any one wait may take before the watchdog fails the test. */
const WAIT_MS = 20_000;
/** The name of the Agenda instances (stored as lastModifiedBy). */
const WORKER = 'contract-worker';
const DAY_MS = 86_400_000;

/** Every field of Agenda's JobParameters except `_id`. */
const JOB_FIELDS = [
  'name',
  'priority',
  'nextRunAt',
  'type',
  'data',
  'lockedAt',
  'lastFinishedAt',
  'failedAt',
  'failCount',
  'failReason',
  'repeatTimezone',
  'lastRunAt',
  'repeatInterval',
  'repeatAt',
  'disabled',
  'progress',
  'unique',
  'uniqueOpts',
  'debounceStartedAt',
  'lastModifiedBy',
  'fork',
  'startDate',
  'endDate',
  'skipDays',
] as const;

/** The fields a run and a save inside the handler must leave as they were. */
const KEPT_FIELDS = ['name', 'type', 'priority', 'startDate', 'endDate', 'skipDays', 'debounceStartedAt', 'unique', 'uniqueOpts', 'repeatInterval', 'repeatTimezone', 'repeatAt', 'disabled', 'fork'] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A stored or returned field, with absent and null alike. */
function field(source: object, name: string): unknown {
  const value: unknown = Reflect.get(source, name);
  return value ?? null;
}

/** The named fields of a document or job, absent ones as null: compared field by field. */
function fieldsOf(source: object, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, field(source, name)]));
}

/** A job's id as a string. */
function idOf(job: Job | JobParameters): string {
  const id = 'attrs' in job ? job.attrs._id : job._id;
  if (id === undefined) throw new Error('the job has no id');
  return String(id);
}

/** A job for the repository, due a second ago unless told otherwise. */
function jobParams(name: string, overrides: Partial<JobParameters> = {}): JobParameters {
  return { name, priority: 0, nextRunAt: new Date(Date.now() - 1_000), type: 'normal', data: {}, ...overrides };
}

/** One lock query as Agenda's job processor makes it (no `now`; the deadline is now minus the lock lifetime). */
function lockNext(repository: JobRepository, name: string, options: { lifetimeMs?: number; by?: string } = {}): Promise<JobParameters | undefined> {
  const now = Date.now();
  return repository.getNextJobToRun(name, new Date(now + PROCESS_EVERY_MS), new Date(now - (options.lifetimeMs ?? 600_000)), undefined, {
    lastModifiedBy: options.by ?? 'contract-locker',
  });
}

/** Waits for conditions that events and lock queries make true, each under the watchdog. */
class Conditions {
  private pending: Array<{ check: () => boolean; resolve: () => void }> = [];

  /** Something happened: resolves the waits whose condition now holds. */
  notify(): void {
    this.pending = this.pending.filter((wait) => {
      if (!wait.check()) return true;
      wait.resolve();
      return false;
    });
  }

  until(label: string, check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return watched(label, mongoUri(), WAIT_MS, new Promise<void>((resolve) => this.pending.push({ check, resolve })));
  }

  clear(): void {
    this.pending = [];
  }
}

/** A backend wrapped so that the tests see its lock queries and removals, and can act right after a lock. */
class Observed {
  readonly backend: AgendaBackend;
  readonly repository: JobRepository;
  /** The removals asked of the backend, with their results. */
  readonly removals: Array<{ options: RemoveJobsOptions; removed: Promise<number> }> = [];
  /** Runs after a lock query handed out a job and before the caller gets it. */
  afterLock: ((job: JobParameters) => Promise<void>) | undefined;
  /** Once set (when its test ends), lock queries hand out nothing, so that no Agenda of an ended test keeps locking. */
  closed = false;
  private readonly answered = new Map<string, number>();
  private readonly handed = new Map<string, string[]>();

  constructor(inner: AgendaBackend, conditions: Conditions) {
    const getNextJobToRun: JobRepository['getNextJobToRun'] = async (name, nextScanAt, lockDeadline, now, options) => {
      if (this.closed) return undefined;
      const job = await inner.repository.getNextJobToRun(name, nextScanAt, lockDeadline, now, options);
      if (job !== undefined) {
        this.handed.set(name, [...this.handedOut(name), idOf(job)]);
        await this.afterLock?.(job);
      }
      this.answered.set(name, this.polls(name) + 1);
      conditions.notify();
      return job;
    };
    const removeJobs: JobRepository['removeJobs'] = (options) => {
      const removed = inner.repository.removeJobs(options);
      this.removals.push({ options, removed });
      conditions.notify();
      return removed;
    };
    this.repository = new Proxy(inner.repository, {
      get(target, property) {
        if (property === 'getNextJobToRun') return getNextJobToRun;
        if (property === 'removeJobs') return removeJobs;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    this.backend = {
      name: inner.name,
      repository: this.repository,
      notificationChannel: inner.notificationChannel,
      logger: inner.logger,
      ownsConnection: inner.ownsConnection,
      connect: () => inner.connect(),
      disconnect: () => inner.disconnect(),
    };
  }

  /** Lock queries answered so far for a job name. */
  polls(name: string): number {
    return this.answered.get(name) ?? 0;
  }

  /** The ids of the jobs the lock queries for a name handed out, in order. */
  handedOut(name: string): string[] {
    return [...(this.handed.get(name) ?? [])];
  }
}

/** Registers the contract's tests for one backend. */
export function agendaBackendContract(name: string, setup: AgendaBackendContractSetup): void {
  describe(`Agenda backend contract: ${name}`, () => {
    const conditions = new Conditions();
    const agendas: Agenda[] = [];
    const backends: AgendaBackend[] = [];
    const observers: Observed[] = [];
    const gates: Array<() => void> = [];
    let collections = 0;

    afterEach(async () => {
      for (const open of gates.splice(0)) open();
      // Agenda's fill of its local queue would go on after drain() as long as lock queries hand out jobs.
      for (const observed of observers.splice(0)) observed.closed = true;
      for (const agenda of agendas.splice(0)) await agenda.drain({ timeout: 5_000, closeConnection: false });
      for (const backend of backends.splice(0)) await backend.disconnect();
      conditions.clear();
    });

    /** A promise that the test opens (or the cleanup does, so that no handler stays blocked). */
    function gate(): { promise: Promise<void>; open: () => void } {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gates.push(open);
      return { promise, open };
    }

    // Several suites may share a database (one file, two backends): their collections must not.
    const suite = randomBytes(3).toString('hex');
    function newCollection(): string {
      collections += 1;
      return `agenda_contract_${suite}_${collections}`;
    }

    /** A backend over `collection` (a fresh one unless given), observed, not yet connected. */
    async function backendOn(collection: string): Promise<Observed> {
      const inner = await setup.makeBackend(setup.db(), collection);
      backends.push(inner);
      const observed = new Observed(inner, conditions);
      observers.push(observed);
      return observed;
    }

    /** A connected backend on a fresh collection, for repository-level cases. */
    async function freshRepository(): Promise<{ repository: JobRepository; raw: Collection<Document>; collection: string; observed: Observed }> {
      const collection = newCollection();
      const observed = await backendOn(collection);
      await watched('the backend to connect', mongoUri(), WAIT_MS, observed.backend.connect());
      return { repository: observed.repository, raw: setup.db().collection(collection), collection, observed };
    }

    /** An Agenda (not started) on an observed backend, on a fresh collection unless given. */
    async function freshAgenda(
      options: Omit<AgendaOptions, 'backend'> = {},
      collection = newCollection(),
    ): Promise<{ agenda: Agenda; observed: Observed; raw: Collection<Document>; collection: string }> {
      const observed = await backendOn(collection);
      const agenda = new Agenda({ backend: observed.backend, processEvery: PROCESS_EVERY_MS, name: WORKER, ...options });
      agendas.push(agenda);
      await watched('Agenda to be ready', mongoUri(), WAIT_MS, agenda.ready);
      return { agenda, observed, raw: setup.db().collection(collection), collection };
    }

    /** Every emission of an Agenda event, with its arguments. */
    function record(agenda: Agenda, event: string, listener?: (...args: unknown[]) => void): unknown[][] {
      const seen: unknown[][] = [];
      const emitter: EventEmitter = agenda;
      emitter.on(event, (...args: unknown[]) => {
        listener?.(...args);
        seen.push(args);
        conditions.notify();
      });
      return seen;
    }

    /** Waits until `count` further lock queries for `jobName` were answered. */
    async function morePolls(observed: Observed, jobName: string, count: number): Promise<void> {
      const target = observed.polls(jobName) + count;
      await conditions.until(`${count} more lock queries for ${jobName}`, () => observed.polls(jobName) >= target);
    }

    async function documentOf(raw: Collection<Document>, id: string): Promise<Document> {
      const document = await raw.findOne({ _id: new ObjectId(id) });
      if (document === null) throw new Error(`job ${id} is not in the collection`);
      return document;
    }

    /** The returned job has the stored document's id and every field of it. */
    function expectSameAsStored(job: JobParameters | undefined, document: Document): void {
      expect(job).toBeDefined();
      expect(String(job?._id)).toBe((document['_id'] as ObjectId).toHexString());
      expect(fieldsOf(job ?? {}, JOB_FIELDS)).toEqual(fieldsOf(document, JOB_FIELDS));
    }

    describe('storing and reading jobs', () => {
      it('saveJob stores every field, and getJobById, queryJobs and getNextJobToRun return each of them; saveJobState changes only the state fields', async () => {
        const { repository, raw } = await freshRepository();
        const now = Date.now();
        const fields = {
          name: 'full',
          priority: 7,
          nextRunAt: new Date(now - 1_000),
          type: 'normal' as const,
          data: { nested: { list: [1, 'two'], flag: true }, text: 'x' },
          repeatInterval: '5 minutes',
          repeatTimezone: 'Europe/Berlin',
          repeatAt: '10:30pm',
          disabled: false,
          startDate: new Date(now - DAY_MS),
          endDate: new Date(now + DAY_MS),
          skipDays: [0, 6],
          debounceStartedAt: new Date(now - 500),
          fork: false,
        };
        const saved = await repository.saveJob(fields, { lastModifiedBy: 'contract-writer' });
        expect(typeof saved._id).toBe('string');
        const id = idOf(saved);
        const expected = { ...fields, lastModifiedBy: 'contract-writer' };

        const stored = await documentOf(raw, id);
        expect(fieldsOf(stored, Object.keys(expected))).toEqual(expected);
        expectSameAsStored(saved, stored);
        expectSameAsStored((await repository.getJobById(id)) ?? undefined, stored);
        const queried = await repository.queryJobs({ id });
        expect(queried.total).toBe(1);
        expectSameAsStored(queried.jobs[0], stored);
        expect(queried.jobs[0]?.state).toBe('repeating');

        const locked = await lockNext(repository, 'full', { by: 'contract-locker' });
        const lockedDocument = await documentOf(raw, id);
        expectSameAsStored(locked, lockedDocument);
        expect(fieldsOf(lockedDocument, Object.keys(fields))).toEqual(fields);
        expect(field(lockedDocument, 'lastModifiedBy')).toBe('contract-locker');

        const ran = new Date(now - 200);
        const finished = new Date(now - 100);
        await repository.saveJobState(
          { ...(locked as JobParameters), lockedAt: new Date(now), lastRunAt: ran, lastFinishedAt: finished, progress: 50, failCount: 2, failReason: 'reason', failedAt: finished },
          { lastModifiedBy: 'state-writer' },
        );
        const afterState = await documentOf(raw, id);
        expect(fieldsOf(afterState, ['lockedAt', 'lastRunAt', 'lastFinishedAt', 'progress', 'failCount', 'failReason', 'failedAt', 'lastModifiedBy'])).toEqual({
          lockedAt: new Date(now),
          lastRunAt: ran,
          lastFinishedAt: finished,
          progress: 50,
          failCount: 2,
          failReason: 'reason',
          failedAt: finished,
          lastModifiedBy: 'state-writer',
        });
        expect(fieldsOf(afterState, Object.keys(fields))).toEqual(fields);
        expectSameAsStored((await repository.getJobById(id)) ?? undefined, afterState);
        expectSameAsStored((await repository.queryJobs({ id })).jobs[0], afterState);
      });

      it('saveJob with an id updates that job in place, and does not bring back a job removed meanwhile', async () => {
        const { repository, raw } = await freshRepository();
        const saved = await repository.saveJob(jobParams('update-me', { priority: 5, data: { version: 1 } }), undefined);
        const updated = await repository.saveJob({ ...saved, priority: 20, data: { version: 2 } }, undefined);
        expect(updated._id).toBe(saved._id);
        expect(await raw.countDocuments({})).toBe(1);
        expect(fieldsOf(await documentOf(raw, idOf(saved)), ['priority', 'data'])).toEqual({ priority: 20, data: { version: 2 } });

        expect(await repository.removeJobs({ id: idOf(saved) })).toBe(1);
        await repository.saveJob({ ...updated, data: { version: 3 } }, undefined);
        expect(await raw.countDocuments({})).toBe(0);
        expect(await repository.getJobById(idOf(saved))).toBeNull();
      });

      it("a 'single' job is kept once per name: every() again updates its interval and data and keeps a due run time", async () => {
        const { agenda, raw } = await freshAgenda();
        const first = await agenda.every('1 minute', 'single-job', { version: 1 });
        const due = (await documentOf(raw, idOf(first)))['nextRunAt'] as Date;
        const second = await agenda.every('5 minutes', 'single-job', { version: 2 });
        expect(idOf(second)).toBe(idOf(first));
        const result = await agenda.queryJobs({ name: 'single-job' });
        expect(result.total).toBe(1);
        expect(fieldsOf(result.jobs[0] ?? {}, ['type', 'repeatInterval', 'data', 'nextRunAt'])).toEqual({ type: 'single', repeatInterval: '5 minutes', data: { version: 2 }, nextRunAt: due });
        expect(field(await documentOf(raw, idOf(first)), 'nextRunAt')).toEqual(due);
      });

      it('unique: a matching job is updated in place, insertOnly leaves it as it was, another key makes another job; debounce without unique makes separate jobs', async () => {
        const { agenda, raw } = await freshAgenda();
        const save = (data: { user: string; value: string }, insertOnly = false) =>
          agenda
            .create('unique-job', data)
            .unique({ 'data.user': data.user }, insertOnly ? { insertOnly: true } : undefined)
            .schedule(new Date())
            .save();
        const first = await save({ user: 'u1', value: 'first' });
        const second = await save({ user: 'u1', value: 'second' });
        expect(idOf(second)).toBe(idOf(first));
        expect(field(await documentOf(raw, idOf(first)), 'data')).toEqual({ user: 'u1', value: 'second' });
        const third = await save({ user: 'u1', value: 'third' }, true);
        expect(idOf(third)).toBe(idOf(first));
        expect(field(await documentOf(raw, idOf(first)), 'data')).toEqual({ user: 'u1', value: 'second' });
        const other = await save({ user: 'u2', value: 'other' });
        expect(idOf(other)).not.toBe(idOf(first));
        expect((await agenda.queryJobs({ name: 'unique-job' })).total).toBe(2);

        const loose = [await agenda.create('debounced-loose', { value: 1 }).debounce(1_000).save(), await agenda.create('debounced-loose', { value: 2 }).debounce(1_000).save()];
        expect(idOf(loose[0] as Job)).not.toBe(idOf(loose[1] as Job));
        expect((await agenda.queryJobs({ name: 'debounced-loose' })).total).toBe(2);
      });

      it(
        setup.storesUniqueConstraint
          ? 'the unique constraint and its options are stored with the job and read back'
          : 'the unique constraint and its options are not stored with the job (storesUniqueConstraint: false)',
        async () => {
          const { agenda, raw, observed } = await freshAgenda();
          const job = await agenda.create('constrained', { key: 'k1' }).unique({ 'data.key': 'k1' }, { insertOnly: true }).schedule(new Date()).save();
          const stored = await documentOf(raw, idOf(job));
          const read = await observed.repository.getJobById(idOf(job));
          if (setup.storesUniqueConstraint) {
            expect(fieldsOf(stored, ['unique', 'uniqueOpts'])).toEqual({ unique: { 'data.key': 'k1' }, uniqueOpts: { insertOnly: true } });
            expect(fieldsOf(read ?? {}, ['unique', 'uniqueOpts'])).toEqual({ unique: { 'data.key': 'k1' }, uniqueOpts: { insertOnly: true } });
          } else {
            expect(fieldsOf(stored, ['unique', 'uniqueOpts'])).toEqual({ unique: null, uniqueOpts: null });
            expect(fieldsOf(read ?? {}, ['unique', 'uniqueOpts'])).toEqual({ unique: null, uniqueOpts: null });
          }
        },
      );

      it('queryJobs filters by id, ids, name, names, search, data and disabled, pages with skip and limit, sorts, and computes states', async () => {
        const { repository } = await freshRepository();
        const now = Date.now();
        const a1 = await repository.saveJob(jobParams('job-a', { priority: 10, nextRunAt: new Date(now + 60_000), data: { kind: 'alpha', n: 1, deep: { x: 1 } } }), undefined);
        const b = await repository.saveJob(jobParams('job-b', { priority: 5, nextRunAt: new Date(now + 120_000), data: { kind: 'beta', n: 2 } }), undefined);
        const a2 = await repository.saveJob(jobParams('job-a', { priority: 15, nextRunAt: new Date(now - 1_000), data: { kind: 'alpha', n: 3 } }), undefined);
        const z = await repository.saveJob(jobParams('zeta', { priority: 0, nextRunAt: new Date(now + 60_000), disabled: true }), undefined);
        const ids = (result: { jobs: JobParameters[] }) => result.jobs.map((job) => idOf(job)).sort();
        const sorted = (...jobs: JobParameters[]) => jobs.map((job) => idOf(job)).sort();

        expect((await repository.queryJobs()).total).toBe(4);
        expect(ids(await repository.queryJobs({ id: idOf(b) }))).toEqual([idOf(b)]);
        expect(ids(await repository.queryJobs({ ids: [idOf(a1), idOf(z)] }))).toEqual(sorted(a1, z));
        expect(ids(await repository.queryJobs({ name: 'job-a' }))).toEqual(sorted(a1, a2));
        expect(ids(await repository.queryJobs({ names: ['job-a', 'job-b'] }))).toEqual(sorted(a1, a2, b));
        expect(ids(await repository.queryJobs({ search: 'JOB-' }))).toEqual(sorted(a1, a2, b));
        expect((await repository.queryJobs({ search: 'job.' })).total).toBe(0);
        expect(ids(await repository.queryJobs({ data: { kind: 'alpha' } }))).toEqual(sorted(a1, a2));
        expect(ids(await repository.queryJobs({ data: { deep: { x: 1 } } }))).toEqual(sorted(a1));
        expect(ids(await repository.queryJobs({ includeDisabled: false }))).toEqual(sorted(a1, a2, b));
        const page = await repository.queryJobs({ skip: 1, limit: 2, sort: { priority: 'desc' } });
        expect({ total: page.total, priorities: page.jobs.map((job) => job.priority) }).toEqual({ total: 4, priorities: [10, 5] });
        expect((await repository.queryJobs({ sort: { priority: 'desc' } })).jobs.map((job) => job.priority)).toEqual([15, 10, 5, 0]);
        expect(ids(await repository.queryJobs({ state: 'queued' }))).toEqual(sorted(a2));
        expect(ids(await repository.queryJobs({ state: 'scheduled' }))).toEqual(sorted(a1, b, z));
        expect(ids(await repository.queryJobs({ state: 'paused' }))).toEqual(sorted(z));
      });

      it('getDistinctJobNames, getQueueSize and getJobsOverview count what is stored', async () => {
        const { repository } = await freshRepository();
        expect(await repository.getDistinctJobNames()).toEqual([]);
        expect(await repository.getQueueSize()).toBe(0);
        const now = Date.now();
        await repository.saveJob(jobParams('name-a', { nextRunAt: new Date(now - 60_000) }), undefined);
        await repository.saveJob(jobParams('name-a', { nextRunAt: new Date(now + 60_000) }), undefined);
        await repository.saveJob(jobParams('name-b', { nextRunAt: new Date(now - 30_000) }), undefined);
        await repository.saveJob(jobParams('name-c', { nextRunAt: null, lastFinishedAt: new Date(now - 10_000) }), undefined);
        expect((await repository.getDistinctJobNames()).sort()).toEqual(['name-a', 'name-b', 'name-c']);
        expect(await repository.getQueueSize()).toBe(2);
        const overview = (await repository.getJobsOverview()).sort((x, y) => x.name.localeCompare(y.name));
        expect(overview.map(({ name: jobName, total, queued, scheduled, completed }) => ({ jobName, total, queued, scheduled, completed }))).toEqual([
          { jobName: 'name-a', total: 2, queued: 1, scheduled: 1, completed: 0 },
          { jobName: 'name-b', total: 1, queued: 1, scheduled: 0, completed: 0 },
          { jobName: 'name-c', total: 1, queued: 0, scheduled: 0, completed: 1 },
        ]);
      });
    });

    describe('removing, disabling and purging', () => {
      it('cancel({ id }) removes 1 for an existing job and 0 for an id that no longer exists', async () => {
        const { agenda, observed } = await freshAgenda();
        const job = await agenda.now('cancel-me');
        const kept = await agenda.now('cancel-me');
        expect(await agenda.cancel({ id: idOf(job) })).toBe(1);
        expect(await observed.repository.getJobById(idOf(job))).toBeNull();
        expect(await agenda.cancel({ id: idOf(job) })).toBe(0);
        expect(await job.remove()).toBe(0);
        expect((await agenda.queryJobs({})).jobs.map((left) => idOf(left))).toEqual([idOf(kept)]);
      });

      it('cancel by name, data, names and ids removes exactly the matching jobs; an empty filter removes nothing', async () => {
        const { agenda } = await freshAgenda();
        await agenda.now('remove-me', { group: 'g1' });
        await agenda.now('remove-me', { group: 'g1' });
        const g2 = await agenda.now('remove-me', { group: 'g2' });
        await agenda.now('other', { group: 'g1' });
        const keep = await agenda.now('keep', { group: 'g3' });
        const byIds = [await agenda.now('by-id'), await agenda.now('by-id')];
        await agenda.now('by-id');

        expect(await agenda.cancel({})).toBe(0);
        expect(await agenda.cancel({ data: { group: 'none' } })).toBe(0);
        expect(await agenda.cancel({ name: 'remove-me', data: { group: 'g1' } })).toBe(2);
        expect(await agenda.cancel({ names: ['remove-me', 'other'] })).toBe(2);
        expect(await agenda.cancel({ ids: byIds.map((job) => idOf(job)) })).toBe(2);
        expect(await agenda.cancel({ id: idOf(g2) })).toBe(0);
        const left = await agenda.queryJobs({});
        expect(left.jobs.map((job) => job.name).sort()).toEqual(['by-id', 'keep']);
        expect(left.jobs.some((job) => idOf(job) === idOf(keep))).toBe(true);
      });

      it('disable and enable return how many jobs they changed, and a disabled job is not locked', async () => {
        const { agenda, raw, observed } = await freshAgenda();
        const jobs = [await agenda.now('switch'), await agenda.now('switch')];
        const other = await agenda.now('other');
        expect(await agenda.disable({ name: 'switch' })).toBe(2);
        expect(await agenda.disable({ name: 'switch' })).toBe(0);
        expect(await raw.countDocuments({ name: 'switch', disabled: true })).toBe(2);
        expect(await lockNext(observed.repository, 'switch')).toBeUndefined();
        expect(await agenda.disable({})).toBe(0);
        expect(await agenda.enable({ id: idOf(jobs[0] as Job) })).toBe(1);
        expect(await agenda.enable({ name: 'switch' })).toBe(1);
        expect(await agenda.enable({ name: 'switch' })).toBe(0);
        expect(await raw.countDocuments({ name: 'switch', disabled: true })).toBe(0);
        const relocked = await lockNext(observed.repository, 'switch');
        expect(jobs.map((job) => idOf(job))).toContain(idOf(relocked as JobParameters));

        await other.disable().save();
        expect(field(await documentOf(raw, idOf(other)), 'disabled')).toBe(true);
        expect((await agenda.queryJobs({ includeDisabled: false })).jobs.map((job) => job.name)).toEqual(['switch', 'switch']);
        await agenda.cancel({ id: idOf(other) });
        expect(await agenda.disable({ id: idOf(other) })).toBe(0);
        expect(await agenda.enable({ id: idOf(other) })).toBe(0);
      });

      it('purge removes the jobs that have no definition, and cancelAll removes the rest', async () => {
        const { agenda } = await freshAgenda();
        agenda.define('kept', async () => undefined);
        await agenda.now('kept');
        await agenda.now('orphan-1');
        await agenda.now('orphan-1');
        await agenda.now('orphan-2');
        expect(await agenda.purge()).toBe(3);
        const left = await agenda.queryJobs({});
        expect(left.jobs.map((job) => job.name)).toEqual(['kept']);
        expect(await agenda.purge()).toBe(0);
        expect(await agenda.cancelAll()).toBe(1);
        expect((await agenda.queryJobs({})).total).toBe(0);
      });
    });

    describe('locking', () => {
      it('a due job is locked once, with lockedAt and lastModifiedBy stored; jobs due later and disabled jobs are not locked', async () => {
        const { repository, raw } = await freshRepository();
        const due = await repository.saveJob(jobParams('lock-me'), undefined);
        await repository.saveJob(jobParams('lock-me', { nextRunAt: new Date(Date.now() + 60_000) }), undefined);
        await repository.saveJob(jobParams('lock-me', { disabled: true }), undefined);
        await repository.saveJob(jobParams('another-name'), undefined);
        const before = Date.now();
        const locked = await lockNext(repository, 'lock-me', { by: 'worker-1' });
        const after = Date.now();
        expect(locked?._id).toBe(due._id);
        const lockedAt = locked?.lockedAt;
        expect(lockedAt).toBeInstanceOf(Date);
        expect((lockedAt as Date).getTime()).toBeGreaterThanOrEqual(before);
        expect((lockedAt as Date).getTime()).toBeLessThanOrEqual(after);
        const stored = await documentOf(raw, idOf(due));
        expect(fieldsOf(stored, ['lockedAt', 'lastModifiedBy'])).toEqual({ lockedAt, lastModifiedBy: 'worker-1' });
        expect((await repository.queryJobs({ id: idOf(due) })).jobs[0]?.state).toBe('running');
        expect(await lockNext(repository, 'lock-me', { by: 'worker-2' })).toBeUndefined();
        expect(field(await documentOf(raw, idOf(due)), 'lastModifiedBy')).toBe('worker-1');
      });

      it('a locked job is handed out again only once its lock lifetime passed', async () => {
        const { repository } = await freshRepository();
        const lifetimeMs = 400;
        const saved = await repository.saveJob(jobParams('expiring'), undefined);
        const first = await lockNext(repository, 'expiring', { lifetimeMs, by: 'first' });
        expect(first?._id).toBe(saved._id);
        // Within Agenda's default lifetime (10 minutes) nobody gets it, however often asked.
        for (let attempt = 0; attempt < 3; attempt += 1) expect(await lockNext(repository, 'expiring', { by: 'second' })).toBeUndefined();
        // Let the short lifetime pass: a query with that lifetime takes the job over.
        const lockedAt = (first?.lockedAt as Date).getTime();
        await sleep(Math.max(0, lockedAt + lifetimeMs + 50 - Date.now()));
        const second = await lockNext(repository, 'expiring', { lifetimeMs, by: 'second' });
        expect(second?._id).toBe(saved._id);
        expect((second?.lockedAt as Date).getTime()).toBeGreaterThan(lockedAt);
        expect(second?.lastModifiedBy).toBe('second');
        expect(await lockNext(repository, 'expiring', { by: 'third' })).toBeUndefined();
      });

      it('lockJob locks an unlocked job once; unlockJob and unlockJobs release locks', async () => {
        const { repository, raw } = await freshRepository();
        const one = await repository.saveJob(jobParams('manual'), undefined);
        const two = await repository.saveJob(jobParams('manual'), undefined);
        const locked = await repository.lockJob(one, { lastModifiedBy: 'locker' });
        expect(locked?._id).toBe(one._id);
        expect(locked?.lockedAt).toBeInstanceOf(Date);
        expect(fieldsOf(await documentOf(raw, idOf(one)), ['lockedAt', 'lastModifiedBy'])).toEqual({ lockedAt: locked?.lockedAt, lastModifiedBy: 'locker' });
        expect(await repository.lockJob(one, undefined)).toBeUndefined();
        await repository.unlockJob(locked as JobParameters);
        expect(field(await documentOf(raw, idOf(one)), 'lockedAt')).toBeNull();

        expect((await repository.lockJob(one, undefined))?._id).toBe(one._id);
        expect((await repository.lockJob(two, undefined))?._id).toBe(two._id);
        await repository.unlockJobs([idOf(one), idOf(two)]);
        expect(await raw.countDocuments({ lockedAt: { $ne: null } })).toBe(0);
      });

      it('due jobs of equal priority are handed out oldest nextRunAt first', async () => {
        const { repository } = await freshRepository();
        const now = Date.now();
        for (const index of [3, 1, 4, 0, 2]) await repository.saveJob(jobParams('fifo', { nextRunAt: new Date(now - 5_000 + index * 1_000), data: { index } }), undefined);
        const order: unknown[] = [];
        for (let attempt = 0; attempt < 5; attempt += 1) order.push(((await lockNext(repository, 'fifo'))?.data as { index?: number } | undefined)?.index);
        expect(order).toEqual([0, 1, 2, 3, 4]);
        expect(await lockNext(repository, 'fifo')).toBeUndefined();
      });

      it('due jobs with equal nextRunAt are handed out highest priority first', async () => {
        const { repository } = await freshRepository();
        const at = new Date(Date.now() - 2_000);
        for (const priority of [0, 10, -10, 5]) await repository.saveJob(jobParams('ranked', { nextRunAt: at, priority }), undefined);
        const order: unknown[] = [];
        for (let attempt = 0; attempt < 4; attempt += 1) order.push((await lockNext(repository, 'ranked'))?.priority);
        expect(order).toEqual([10, 5, 0, -10]);
      });

      const changes: Array<{ change: string; apply: (other: JobRepository, job: JobParameters) => Promise<unknown> }> = [
        { change: 'disabled', apply: (other, job) => other.disableJobs({ id: idOf(job) }) },
        { change: 'moved later', apply: (other, job) => other.saveJob({ ...job, nextRunAt: new Date(Date.now() + 3_600_000) }, undefined) },
        { change: 'deleted', apply: (other, job) => other.removeJobs({ id: idOf(job) }) },
      ];
      it.each(changes)('a due job $change by another instance after a lock query is not handed out by the next one', async ({ apply }) => {
        const { repository, collection } = await freshRepository();
        const first = await repository.saveJob(jobParams('changing', { nextRunAt: new Date(Date.now() - 2_000), data: { which: 'first' } }), undefined);
        const second = await repository.saveJob(jobParams('changing', { nextRunAt: new Date(Date.now() - 1_000), data: { which: 'second' } }), undefined);
        const other = await backendOn(collection);
        await other.backend.connect();
        expect((await lockNext(repository, 'changing'))?._id).toBe(first._id);
        await apply(other.repository, (await other.repository.getJobById(idOf(second))) as JobParameters);
        expect(await lockNext(repository, 'changing')).toBeUndefined();
      });

      it(`a job deleted between its lock and its start does not throw out of Agenda (${setup.deletedJobStart.kind}), stays deleted, and the next job still runs`, async () => {
        const { agenda, observed, collection } = await freshAgenda();
        const other = await backendOn(collection);
        await other.backend.connect();
        const ran: string[] = [];
        agenda.define('victim', async (job: Job<{ which: string }>) => {
          ran.push(job.attrs.data.which);
        });
        const deleted = await agenda.now('victim', { which: 'deleted' });
        await agenda.now('victim', { which: 'kept' });
        observed.afterLock = async (job) => {
          if ((job.data as { which?: string }).which === 'deleted') await other.repository.removeJobs({ id: idOf(job) });
        };
        const errors = record(agenda, 'error');
        const completes = record(agenda, 'complete:victim');
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        try {
          await agenda.start();
          if (setup.deletedJobStart.kind === 'error-event') {
            await conditions.until('the error event and the kept job to complete', () => errors.length >= 1 && completes.length >= 1);
            expect(errors).toHaveLength(1);
            const error = errors[0]?.[0];
            expect(error).toBeInstanceOf(Error);
            expect((error as Error).message).toBe(setup.deletedJobStart.message(idOf(deleted), 'victim'));
            expect(ran).toEqual(['kept']);
          } else {
            await conditions.until('both jobs to complete', () => completes.length >= 2);
            expect(errors).toEqual([]);
            expect(ran).toContain('kept');
          }
          await morePolls(observed, 'victim', 2);
          expect(await observed.repository.getJobById(idOf(deleted))).toBeNull();
          expect((await agenda.queryJobs({ name: 'victim' })).jobs.map((job) => job.data)).toEqual([{ which: 'kept' }]);
          expect(unhandled).toEqual([]);
        } finally {
          process.off('unhandledRejection', onUnhandled);
        }
      });

      it('through Agenda a due job runs once, is locked while it runs, and is not handed out again', async () => {
        const { agenda, observed, raw } = await freshAgenda();
        const during: Document[] = [];
        agenda.define('once', async (job: Job) => {
          during.push(await documentOf(raw, idOf(job)));
        });
        const job = await agenda.now('once', { n: 1 });
        const completes = record(agenda, 'complete:once');
        await agenda.start();
        await conditions.until('the job to complete', () => completes.length === 1);
        await morePolls(observed, 'once', 3);
        expect(observed.handedOut('once')).toEqual([idOf(job)]);
        expect(during).toHaveLength(1);
        const running = during[0] as Document;
        expect(field(running, 'lockedAt')).toBeInstanceOf(Date);
        expect(field(running, 'lastRunAt')).toBeInstanceOf(Date);
        expect(fieldsOf(running, ['lastModifiedBy', 'nextRunAt', 'lastFinishedAt'])).toEqual({ lastModifiedBy: WORKER, nextRunAt: null, lastFinishedAt: null });
        const done = await documentOf(raw, idOf(job));
        expect(fieldsOf(done, ['lockedAt', 'nextRunAt', 'lastRunAt', 'failCount', 'failReason', 'failedAt', 'lastModifiedBy', 'data'])).toEqual({
          lockedAt: null,
          nextRunAt: null,
          lastRunAt: field(running, 'lastRunAt'),
          failCount: null,
          failReason: null,
          failedAt: null,
          lastModifiedBy: WORKER,
          data: { n: 1 },
        });
        expect((field(done, 'lastFinishedAt') as Date).getTime()).toBeGreaterThanOrEqual((field(running, 'lastRunAt') as Date).getTime());
        const [queried] = (await agenda.queryJobs({ id: idOf(job) })).jobs;
        expectSameAsStored(queried, done);
        expect(queried?.state).toBe('completed');
      });

      it('touch() renews the stored lock and stores the progress', async () => {
        const { agenda, raw } = await freshAgenda();
        const seen: Array<{ before: Document; after: Document; inMemory: Date | undefined }> = [];
        agenda.define('touchy', async (job: Job) => {
          const before = await documentOf(raw, idOf(job));
          await sleep(10);
          await job.touch(40);
          seen.push({ before, after: await documentOf(raw, idOf(job)), inMemory: job.attrs.lockedAt });
        });
        const job = await agenda.now('touchy');
        const completes = record(agenda, 'complete:touchy');
        await agenda.start();
        await conditions.until('the job to complete', () => completes.length === 1);
        const [{ before, after, inMemory } = { before: {}, after: {}, inMemory: undefined }] = seen;
        expect(field(after, 'lockedAt')).toEqual(inMemory);
        expect((field(after, 'lockedAt') as Date).getTime()).toBeGreaterThan((field(before, 'lockedAt') as Date).getTime());
        expect(field(after, 'progress')).toBe(40);
        expect(fieldsOf(await documentOf(raw, idOf(job)), ['progress', 'lockedAt'])).toEqual({ progress: 40, lockedAt: null });
      });

      it('stop() releases the jobs Agenda locked but had not started; the running job keeps its lock', async () => {
        const { agenda, raw } = await freshAgenda();
        const held = gate();
        agenda.define('held', () => held.promise, { concurrency: 1 });
        const jobs = [await agenda.now('held', { n: 1 }), await agenda.now('held', { n: 2 })];
        const starts = record(agenda, 'start:held');
        await agenda.start();
        await conditions.until('the first job to start', () => starts.length === 1);
        expect(await raw.countDocuments({ name: 'held', lockedAt: { $ne: null } })).toBe(2);
        const started = idOf(starts[0]?.[0] as Job);
        const waiting = jobs.map((job) => idOf(job)).find((id) => id !== started) as string;
        await agenda.stop(false);
        expect(field(await documentOf(raw, started), 'lockedAt')).toBeInstanceOf(Date);
        expect(field(await documentOf(raw, waiting), 'lockedAt')).toBeNull();
        expect(starts).toHaveLength(1);
      });

      it("a definition's lockLimit bounds how many of its jobs are locked at once", async () => {
        const { agenda, observed, raw } = await freshAgenda();
        const held = gate();
        const ran: string[] = [];
        agenda.define(
          'limited',
          async (job: Job) => {
            ran.push(idOf(job));
            await held.promise;
          },
          { lockLimit: 1 },
        );
        agenda.define('idle', async () => undefined);
        const jobs = [await agenda.now('limited'), await agenda.now('limited'), await agenda.now('limited')];
        const starts = record(agenda, 'start:limited');
        const completes = record(agenda, 'complete:limited');
        await agenda.start();
        await conditions.until('the first job to start', () => starts.length === 1);
        // The idle definition is asked for every poll: three of them passed with the limit reached.
        await morePolls(observed, 'idle', 3);
        expect(await raw.countDocuments({ name: 'limited', lockedAt: { $ne: null } })).toBe(1);
        expect(observed.handedOut('limited')).toHaveLength(1);
        expect((await agenda.getRunningStats()).lockedJobs).toBe(1);
        held.open();
        await conditions.until('all three jobs to complete', () => completes.length === 3);
        expect([...ran].sort()).toEqual(jobs.map((job) => idOf(job)).sort());
      });

      describe('under concurrency', () => {
        const exclusive = setup.exclusiveLocksUnderConcurrency;

        it.skipIf(!exclusive)('concurrent lock queries from several instances hand one due job to exactly one of them (needs exclusiveLocksUnderConcurrency)', async () => {
          for (let round = 0; round < 5; round += 1) {
            const { repository, collection } = await freshRepository();
            const saved = await repository.saveJob(jobParams('contended'), undefined);
            const others = [await backendOn(collection), await backendOn(collection), await backendOn(collection)];
            for (const other of others) await other.backend.connect();
            const results = await Promise.all([repository, ...others.map((other) => other.repository)].map((each, index) => lockNext(each, 'contended', { by: `instance-${index}` })));
            expect(results.filter((result) => result !== undefined).map((result) => idOf(result as JobParameters))).toEqual([idOf(saved)]);
          }
        });

        it.skipIf(!exclusive)('two Agenda instances on one collection run every job exactly once (needs exclusiveLocksUnderConcurrency)', async () => {
          const collection = newCollection();
          const runs: string[] = [];
          const instances = [await freshAgenda({ name: 'instance-a' }, collection), await freshAgenda({ name: 'instance-b' }, collection)];
          for (const { agenda } of instances) {
            agenda.define(
              'shared',
              async (job: Job) => {
                runs.push(idOf(job));
                await sleep(5);
              },
              { concurrency: 4 },
            );
          }
          const producer = instances[0]?.agenda as Agenda;
          const ids: string[] = [];
          for (let index = 0; index < 30; index += 1) ids.push(idOf(await producer.now('shared', { index })));
          for (const { agenda } of instances) await agenda.start();
          await conditions.until('every job to run', () => new Set(runs).size === ids.length);
          for (const { observed } of instances) await morePolls(observed, 'shared', 2);
          expect([...runs].sort()).toEqual([...ids].sort());
        });

        it.skipIf(!exclusive)('one Agenda instance whose lock queries overlap runs every job exactly once (needs exclusiveLocksUnderConcurrency)', async () => {
          // A fill of 40 jobs takes longer than 20 ms: the next poll starts a second fill alongside.
          const { agenda, observed } = await freshAgenda({ processEvery: 20 });
          const runs: string[] = [];
          agenda.define(
            'busy',
            async (job: Job) => {
              runs.push(idOf(job));
            },
            { concurrency: 8 },
          );
          const ids: string[] = [];
          for (let index = 0; index < 40; index += 1) ids.push(idOf(await agenda.now('busy', { index })));
          await agenda.start();
          await conditions.until('every job to run', () => new Set(runs).size === ids.length);
          await morePolls(observed, 'busy', 3);
          expect([...runs].sort()).toEqual([...ids].sort());
        });
      });
    });

    describe('failures and retries', () => {
      it('a failing job stores failCount 1, failReason and failedAt, and is not run again', async () => {
        const { agenda, observed, raw } = await freshAgenda();
        let runs = 0;
        agenda.define('broken', async () => {
          runs += 1;
          throw new TypeError('broken on purpose');
        });
        const job = await agenda.now('broken');
        const fails = record(agenda, 'fail:broken');
        const completes = record(agenda, 'complete:broken');
        await agenda.start();
        await conditions.until('the job to complete', () => completes.length === 1);
        await morePolls(observed, 'broken', 3);
        expect(runs).toBe(1);
        expect(observed.handedOut('broken')).toEqual([idOf(job)]);
        const [error, failed] = fails[0] ?? [];
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toBe('broken on purpose');
        const failedAt = (failed as Job).attrs.failedAt;
        expect(failedAt).toBeInstanceOf(Date);
        const stored = await documentOf(raw, idOf(job));
        expect(fieldsOf(stored, ['failCount', 'failReason', 'failedAt', 'lastFinishedAt', 'nextRunAt', 'lockedAt'])).toEqual({
          failCount: 1,
          failReason: 'broken on purpose',
          failedAt,
          lastFinishedAt: failedAt,
          nextRunAt: null,
          lockedAt: null,
        });
        const [queried] = (await agenda.queryJobs({ id: idOf(job) })).jobs;
        expectSameAsStored(queried, stored);
        expect(queried?.state).toBe('failed');
      });

      const retries: Array<{ how: string; inHandler?: (job: Job) => Promise<void>; onFail?: (job: Job) => void }> = [
        {
          how: 'by setting job.attrs.nextRunAt in the fail listener',
          onFail: (job) => {
            job.attrs.nextRunAt = new Date();
          },
        },
        {
          how: 'by setting job.attrs.nextRunAt and calling job.save() in the failing handler',
          inHandler: async (job) => {
            job.attrs.nextRunAt = new Date();
            await job.save();
          },
        },
        {
          how: 'by calling job.schedule() in the failing handler',
          inHandler: async (job) => {
            job.schedule(new Date());
          },
        },
      ];
      it.each(retries)('a job retried $how counts each failure and resets the count when it succeeds', async ({ inHandler, onFail }) => {
        const { agenda, observed, raw } = await freshAgenda();
        let attempts = 0;
        const failCounts: unknown[] = [];
        // lockLimit 1: with the stock backend a save inside the handler unlocks the running job
        // (see keepsLockWhenHandlerSaves), and this case is about retries, not about that.
        agenda.define(
          'flaky',
          async (job: Job) => {
            attempts += 1;
            failCounts.push(field(await documentOf(raw, idOf(job)), 'failCount'));
            if (attempts <= 2) {
              await inHandler?.(job);
              throw new Error(`attempt ${attempts} failed`);
            }
          },
          { lockLimit: 1 },
        );
        const fails = record(agenda, 'fail:flaky', (_error, job) => onFail?.(job as Job));
        const successes = record(agenda, 'success:flaky');
        const completes = record(agenda, 'complete:flaky');
        const job = await agenda.now('flaky');
        await agenda.start();
        await conditions.until('two failures and a success', () => completes.length === 3);
        await morePolls(observed, 'flaky', 2);
        expect({ attempts, failures: fails.length, successes: successes.length }).toEqual({ attempts: 3, failures: 2, successes: 1 });
        expect(failCounts).toEqual([null, 1, 2]);
        const lastFailedAt = (fails[1]?.[1] as Job).attrs.failedAt;
        expect(fieldsOf(await documentOf(raw, idOf(job)), ['failCount', 'failReason', 'failedAt', 'nextRunAt', 'lockedAt'])).toEqual({
          failCount: 0,
          failReason: 'attempt 2 failed',
          failedAt: lastFailedAt,
          nextRunAt: null,
          lockedAt: null,
        });
      });

      const strategies: Array<{ strategy: string; backoff: BackoffStrategy; failures: number; delays: number[]; exhausted: boolean }> = [
        { strategy: 'constant', backoff: constant({ delay: 60, maxRetries: 5 }), failures: 2, delays: [60, 60], exhausted: false },
        { strategy: 'linear', backoff: linear({ delay: 30, increment: 30, maxRetries: 2 }), failures: 3, delays: [30, 60], exhausted: true },
        { strategy: 'exponential', backoff: exponential({ delay: 20, factor: 2, maxRetries: 3 }), failures: 4, delays: [20, 40, 80], exhausted: true },
        { strategy: 'a custom function', backoff: (context) => [50, 25][context.attempt - 1] ?? null, failures: 2, delays: [50, 25], exhausted: false },
      ];
      it.each(strategies)('$strategy backoff retries a failing job with its delays, until it succeeds or the retries are exhausted', async ({ backoff, failures, delays, exhausted }) => {
        const { agenda, observed, raw } = await freshAgenda();
        let attempts = 0;
        agenda.define(
          'backing-off',
          async () => {
            attempts += 1;
            if (attempts <= failures) throw new Error(`attempt ${attempts} failed`);
          },
          { backoff },
        );
        const retried = record(agenda, 'retry:backing-off');
        const exhaustions = record(agenda, 'retry exhausted:backing-off');
        const completes = record(agenda, 'complete:backing-off');
        const job = await agenda.now('backing-off');
        await agenda.start();
        const runs = exhausted ? failures : failures + 1;
        await conditions.until(`${runs} runs to complete`, () => completes.length === runs);
        await morePolls(observed, 'backing-off', 3);
        expect(attempts).toBe(runs);
        expect(observed.handedOut('backing-off')).toHaveLength(runs);
        expect(retried.map(([, details]) => [(details as RetryDetails).attempt, (details as RetryDetails).delay])).toEqual(delays.map((delay, index) => [index + 1, delay]));
        const stored = await documentOf(raw, idOf(job));
        if (exhausted) {
          expect(exhaustions).toHaveLength(1);
          const [error, last] = exhaustions[0] ?? [];
          expect((error as Error).message).toBe(`attempt ${failures} failed`);
          expect((last as Job).attrs.failCount).toBe(failures);
          expect(fieldsOf(stored, ['failCount', 'failReason', 'nextRunAt', 'lockedAt'])).toEqual({ failCount: failures, failReason: `attempt ${failures} failed`, nextRunAt: null, lockedAt: null });
        } else {
          expect(exhaustions).toEqual([]);
          expect(fieldsOf(stored, ['failCount', 'failReason', 'nextRunAt', 'lockedAt'])).toEqual({ failCount: 0, failReason: `attempt ${failures} failed`, nextRunAt: null, lockedAt: null });
        }
      });

      it('backoff retries a repeating job before its next interval, and the interval holds again after the success', async () => {
        const { agenda, raw } = await freshAgenda();
        let attempts = 0;
        agenda.define(
          'repeating-backoff',
          async () => {
            attempts += 1;
            if (attempts === 1) throw new Error('first run failed');
          },
          { backoff: constant({ delay: 50, maxRetries: 3 }) },
        );
        const retried = record(agenda, 'retry:repeating-backoff');
        const completes = record(agenda, 'complete:repeating-backoff');
        const job = await agenda.every(60_000, 'repeating-backoff');
        await agenda.start();
        await conditions.until('the failed run and its retry', () => completes.length === 2);
        expect({ attempts, retries: retried.length }).toEqual({ attempts: 2, retries: 1 });
        const stored = await documentOf(raw, idOf(job));
        expect(fieldsOf(stored, ['failCount', 'failReason', 'type', 'lockedAt'])).toEqual({ failCount: 0, failReason: 'first run failed', type: 'single', lockedAt: null });
        expect(String(field(stored, 'repeatInterval'))).toBe('60000');
        expect((field(stored, 'nextRunAt') as Date).getTime()).toBe((field(stored, 'lastRunAt') as Date).getTime() + 60_000);
      });
    });

    describe('repeating jobs', () => {
      it('every() reschedules the job after each run to its last run plus the interval, as one job', async () => {
        const { agenda, raw } = await freshAgenda();
        const seen: Document[] = [];
        agenda.define('tick', async (job: Job) => {
          seen.push(await documentOf(raw, idOf(job)));
        });
        const completes = record(agenda, 'complete:tick');
        const job = await agenda.every(250, 'tick');
        await agenda.start();
        await conditions.until('three runs', () => completes.length >= 3);
        const runs = seen.slice(0, 3);
        for (const run of runs) expect((field(run, 'nextRunAt') as Date).getTime()).toBe((field(run, 'lastRunAt') as Date).getTime() + 250);
        const lastRuns = runs.map((run) => (field(run, 'lastRunAt') as Date).getTime());
        expect(lastRuns).toEqual([...lastRuns].sort((x, y) => x - y));
        expect(new Set(lastRuns).size).toBe(3);
        const all = await agenda.queryJobs({ name: 'tick' });
        expect(all.jobs.map((each) => idOf(each))).toEqual([idOf(job)]);
        expect(String(all.jobs[0]?.repeatInterval)).toBe('250');
      });

      it('a repeating job that keeps failing keeps counting its failures and its schedule', async () => {
        const { agenda, raw } = await freshAgenda();
        const seen: Document[] = [];
        agenda.define('always-fails', async (job: Job) => {
          seen.push(await documentOf(raw, idOf(job)));
          throw new Error(`run ${seen.length} failed`);
        });
        const completes = record(agenda, 'complete:always-fails');
        await agenda.every(200, 'always-fails');
        await agenda.start();
        await conditions.until('three failed runs', () => completes.length >= 3);
        const runs = seen.slice(0, 3);
        expect(runs.map((run) => fieldsOf(run, ['failCount', 'failReason']))).toEqual([
          { failCount: null, failReason: null },
          { failCount: 1, failReason: 'run 1 failed' },
          { failCount: 2, failReason: 'run 2 failed' },
        ]);
        for (const run of runs) expect((field(run, 'nextRunAt') as Date).getTime()).toBe((field(run, 'lastRunAt') as Date).getTime() + 200);
      });
    });

    describe('date constraints', () => {
      it('a repeating job whose next run would fall after its endDate is not rescheduled', async () => {
        const { agenda, observed, raw } = await freshAgenda();
        let runs = 0;
        agenda.define('ending', async () => {
          runs += 1;
        });
        const endDate = new Date(Date.now() + 30_000);
        const job = await agenda.every(60_000, 'ending', undefined, { endDate });
        const completes = record(agenda, 'complete:ending');
        await agenda.start();
        await conditions.until('the run', () => completes.length === 1);
        await morePolls(observed, 'ending', 3);
        expect(runs).toBe(1);
        const stored = await documentOf(raw, idOf(job));
        expect(fieldsOf(stored, ['nextRunAt', 'endDate', 'lockedAt'])).toEqual({ nextRunAt: null, endDate, lockedAt: null });
        expect(field(stored, 'lastRunAt')).toBeInstanceOf(Date);
      });

      it('skipDays move the next run of a repeating job past the skipped weekdays', async () => {
        const { agenda, raw } = await freshAgenda();
        agenda.define('weekly', async () => undefined);
        // Every day but today's weekday is skipped: a daily job runs again a week later.
        const today = new Date().getDay();
        const skipDays = [0, 1, 2, 3, 4, 5, 6].filter((day) => day !== today);
        const job = await agenda.every(DAY_MS, 'weekly', undefined, { skipDays });
        const completes = record(agenda, 'complete:weekly');
        await agenda.start();
        await conditions.until('the run', () => completes.length === 1);
        const stored = await documentOf(raw, idOf(job));
        const lastRunAt = field(stored, 'lastRunAt') as Date;
        const expected = applyAllDateConstraints(new Date(lastRunAt.getTime() + DAY_MS), { skipDays });
        expect(expected).not.toEqual(new Date(lastRunAt.getTime() + DAY_MS));
        expect(fieldsOf(stored, ['nextRunAt', 'skipDays'])).toEqual({ nextRunAt: expected, skipDays });
      });

      it('startDate holds a repeating job back: it is not handed out before it, and a run before it reschedules to it', async () => {
        const { agenda, observed, raw } = await freshAgenda();
        agenda.define('later', async () => undefined);
        agenda.define('early-run', async () => undefined);
        const startDate = new Date(Date.now() + 3_600_000);
        const later = await agenda.every(60_000, 'later', undefined, { startDate });
        expect(field(await documentOf(raw, idOf(later)), 'nextRunAt')).toEqual(startDate);
        // A job due now whose startDate lies ahead (its start was moved after it was scheduled).
        const early = await observed.repository.saveJob(jobParams('early-run', { type: 'single', repeatInterval: 60_000, startDate }), undefined);
        const completes = record(agenda, 'complete:early-run');
        await agenda.start();
        await conditions.until('the early run', () => completes.length === 1);
        await morePolls(observed, 'later', 3);
        expect(observed.handedOut('later')).toEqual([]);
        expect(fieldsOf(await documentOf(raw, idOf(early)), ['nextRunAt', 'startDate'])).toEqual({ nextRunAt: startDate, startDate });
      });
    });

    describe('debounce', () => {
      const DELAY_MS = 5_000;

      it('trailing: saves keep one job, push nextRunAt to the last save plus the delay, keep the first debounceStartedAt and store the last data', async () => {
        const { agenda, raw } = await freshAgenda();
        const save = (value: number) => agenda.create('trailing', { key: 't1', value }).unique({ 'data.key': 't1' }).debounce(DELAY_MS).save();
        const t0 = Date.now();
        const first = await save(1);
        const t1 = Date.now();
        const startedAt = first.attrs.debounceStartedAt as Date;
        expect(startedAt.getTime()).toBeGreaterThanOrEqual(t0);
        expect(startedAt.getTime()).toBeLessThanOrEqual(t1);
        expect((first.attrs.nextRunAt as Date).getTime()).toBeGreaterThanOrEqual(t0 + DELAY_MS);
        expect((first.attrs.nextRunAt as Date).getTime()).toBeLessThanOrEqual(t1 + DELAY_MS);
        await sleep(20);
        const t2 = Date.now();
        const second = await save(2);
        const t3 = Date.now();
        expect(idOf(second)).toBe(idOf(first));
        expect((second.attrs.nextRunAt as Date).getTime()).toBeGreaterThanOrEqual(t2 + DELAY_MS);
        expect((second.attrs.nextRunAt as Date).getTime()).toBeLessThanOrEqual(t3 + DELAY_MS);
        expect(second.attrs.debounceStartedAt).toEqual(startedAt);
        expect(await raw.countDocuments({})).toBe(1);
        expect(fieldsOf(await documentOf(raw, idOf(first)), ['data', 'nextRunAt', 'debounceStartedAt'])).toEqual({
          data: { key: 't1', value: 2 },
          nextRunAt: second.attrs.nextRunAt,
          debounceStartedAt: startedAt,
        });
      });

      it('leading: the first save is due at once, later saves keep its nextRunAt and store their data', async () => {
        const { agenda, raw } = await freshAgenda();
        const save = (value: number) => agenda.create('leading', { key: 'l1', value }).unique({ 'data.key': 'l1' }).debounce(DELAY_MS, { strategy: 'leading' }).save();
        const t0 = Date.now();
        const first = await save(1);
        const t1 = Date.now();
        const due = first.attrs.nextRunAt as Date;
        expect(due.getTime()).toBeGreaterThanOrEqual(t0);
        expect(due.getTime()).toBeLessThanOrEqual(t1);
        await sleep(20);
        const second = await save(2);
        expect(idOf(second)).toBe(idOf(first));
        expect(second.attrs.nextRunAt).toEqual(due);
        expect(fieldsOf(await documentOf(raw, idOf(first)), ['data', 'nextRunAt'])).toEqual({ data: { key: 'l1', value: 2 }, nextRunAt: due });
      });

      it('maxWait passed: the next save makes the job due at once and clears debounceStartedAt; the save after starts a new window', async () => {
        const { agenda, raw } = await freshAgenda();
        const maxWait = 100;
        const save = (value: number) => agenda.create('capped', { key: 'c1', value }).unique({ 'data.key': 'c1' }).debounce(DELAY_MS, { maxWait }).save();
        const first = await save(1);
        const startedAt = first.attrs.debounceStartedAt as Date;
        expect(startedAt).toBeInstanceOf(Date);
        await sleep(Math.max(0, startedAt.getTime() + maxWait + 20 - Date.now()));
        const t0 = Date.now();
        const forced = await save(2);
        const t1 = Date.now();
        expect((forced.attrs.nextRunAt as Date).getTime()).toBeGreaterThanOrEqual(t0);
        expect((forced.attrs.nextRunAt as Date).getTime()).toBeLessThanOrEqual(t1);
        expect(forced.attrs.debounceStartedAt ?? null).toBeNull();
        expect(fieldsOf(await documentOf(raw, idOf(first)), ['nextRunAt', 'debounceStartedAt'])).toEqual({ nextRunAt: forced.attrs.nextRunAt, debounceStartedAt: null });
        const t2 = Date.now();
        const next = await save(3);
        const t3 = Date.now();
        expect((next.attrs.debounceStartedAt as Date).getTime()).toBeGreaterThanOrEqual(t2);
        expect((next.attrs.debounceStartedAt as Date).getTime()).toBeLessThanOrEqual(t3);
        expect((next.attrs.nextRunAt as Date).getTime()).toBeGreaterThanOrEqual(t2 + DELAY_MS);
      });

      it('a debounced job runs once, with the last data, and keeps its debounceStartedAt', async () => {
        const { agenda, observed, raw } = await freshAgenda();
        const ran: unknown[] = [];
        agenda.define('debounced', async (job: Job) => {
          ran.push(job.attrs.data);
        });
        const save = (value: number) => agenda.create('debounced', { key: 'd1', value }).unique({ 'data.key': 'd1' }).debounce(150).save();
        const first = await save(1);
        await save(2);
        await save(3);
        const completes = record(agenda, 'complete:debounced');
        await agenda.start();
        await conditions.until('the debounced run', () => completes.length === 1);
        await morePolls(observed, 'debounced', 3);
        expect(ran).toEqual([{ key: 'd1', value: 3 }]);
        expect(observed.handedOut('debounced')).toEqual([idOf(first)]);
        expect(await raw.countDocuments({})).toBe(1);
        expect(fieldsOf(await documentOf(raw, idOf(first)), ['debounceStartedAt', 'nextRunAt', 'lockedAt'])).toEqual({ debounceStartedAt: first.attrs.debounceStartedAt, nextRunAt: null, lockedAt: null });
      });
    });

    describe('stored fields across a run', () => {
      it('a locked run and a job.save() inside the handler keep startDate, endDate, skipDays, debounceStartedAt and the unique fields', async () => {
        const { agenda, raw } = await freshAgenda();
        const snapshots: Array<[string, Document]> = [];
        // lockLimit 1: see the retry cases.
        agenda.define(
          'kept',
          async (job: Job<{ key: string; step: number }>) => {
            snapshots.push(['while locked', await documentOf(raw, idOf(job))]);
            job.attrs.data = { ...job.attrs.data, step: 2 };
            await job.save();
            snapshots.push(['after job.save() in the handler', await documentOf(raw, idOf(job))]);
          },
          { lockLimit: 1 },
        );
        const now = Date.now();
        const startDate = new Date(now - DAY_MS);
        const endDate = new Date(now + 30 * DAY_MS);
        const skipDays = [(new Date().getDay() + 3) % 7];
        const job = await agenda
          .create('kept', { key: 'k', step: 1 })
          .unique({ 'data.key': 'k' })
          .debounce(60_000, { strategy: 'leading' })
          .startDate(startDate)
          .endDate(endDate)
          .skipDays(skipDays)
          .schedule(new Date())
          .save();
        const created = await documentOf(raw, idOf(job));
        expect(fieldsOf(created, ['startDate', 'endDate', 'skipDays'])).toEqual({ startDate, endDate, skipDays });
        expect(field(created, 'debounceStartedAt')).toBeInstanceOf(Date);
        if (setup.storesUniqueConstraint) {
          expect(field(created, 'unique')).toEqual({ 'data.key': 'k' });
          expect(field(created, 'uniqueOpts')).toMatchObject({ debounce: { delay: 60_000, strategy: 'leading' } });
        }
        const completes = record(agenda, 'complete:kept');
        await agenda.start();
        await conditions.until('the run', () => completes.length === 1);
        snapshots.push(['after the run', await documentOf(raw, idOf(job))]);
        expect(snapshots.map(([phase]) => phase)).toEqual(['while locked', 'after job.save() in the handler', 'after the run']);
        for (const [phase, document] of snapshots) expect({ phase, ...fieldsOf(document, KEPT_FIELDS) }).toEqual({ phase, ...fieldsOf(created, KEPT_FIELDS) });
        expect(field(snapshots[2]?.[1] ?? {}, 'data')).toEqual({ key: 'k', step: 2 });
      });

      it(
        setup.keepsLockWhenHandlerSaves
          ? 'a job.save() inside the handler keeps the stored lock and lastRunAt'
          : 'a job.save() inside the handler clears the stored lock and lastRunAt (keepsLockWhenHandlerSaves: false)',
        async () => {
          const { agenda, raw } = await freshAgenda();
          const seen: Array<{ before: Document; after: Document }> = [];
          agenda.define(
            'saver',
            async (job: Job<{ n: number }>) => {
              const before = await documentOf(raw, idOf(job));
              job.attrs.data = { n: 2 };
              await job.save();
              seen.push({ before, after: await documentOf(raw, idOf(job)) });
            },
            { lockLimit: 1 },
          );
          const job = await agenda.now('saver', { n: 1 });
          const completes = record(agenda, 'complete:saver');
          await agenda.start();
          await conditions.until('the run', () => completes.length === 1);
          const [{ before, after } = { before: {}, after: {} }] = seen;
          expect(field(before, 'lockedAt')).toBeInstanceOf(Date);
          expect(field(after, 'data')).toEqual({ n: 2 });
          if (setup.keepsLockWhenHandlerSaves) {
            expect(fieldsOf(after, ['lockedAt', 'lastRunAt'])).toEqual(fieldsOf(before, ['lockedAt', 'lastRunAt']));
          } else {
            expect(fieldsOf(after, ['lockedAt', 'lastRunAt'])).toEqual({ lockedAt: null, lastRunAt: null });
          }
          expect(fieldsOf(await documentOf(raw, idOf(job)), ['lockedAt', 'data'])).toEqual({ lockedAt: null, data: { n: 2 } });
        },
      );
    });

    describe('removeOnComplete', () => {
      const cases: Array<{ setting: string; agendaWide?: boolean; definition?: boolean; fails?: boolean; repeating?: boolean; removed: boolean }> = [
        { setting: 'Agenda-wide true', agendaWide: true, removed: true },
        { setting: 'the default (false)', removed: false },
        { setting: 'true on the definition over false Agenda-wide', agendaWide: false, definition: true, removed: true },
        { setting: 'false on the definition over true Agenda-wide', agendaWide: true, definition: false, removed: false },
        { setting: 'Agenda-wide true, for a failed job', agendaWide: true, fails: true, removed: false },
        { setting: 'Agenda-wide true, for a repeating job', agendaWide: true, repeating: true, removed: false },
      ];
      it.each(cases)('$setting: the completed job is removed: $removed', async ({ agendaWide, definition, fails, repeating, removed }) => {
        const { agenda, observed, raw } = await freshAgenda(agendaWide === undefined ? {} : { removeOnComplete: agendaWide });
        agenda.define(
          'finishing',
          async () => {
            if (fails === true) throw new Error('failed');
          },
          definition === undefined ? {} : { removeOnComplete: definition },
        );
        const job = repeating === true ? await agenda.every('1 hour', 'finishing') : await agenda.now('finishing');
        const completes = record(agenda, 'complete:finishing');
        await agenda.start();
        await conditions.until('the run', () => completes.length === 1);
        // Agenda removes the job right after its complete event; two more polls have passed it.
        await morePolls(observed, 'finishing', 2);
        if (removed) {
          expect(observed.removals.map(({ options }) => options)).toEqual([{ id: job.attrs._id }]);
          expect(await observed.removals[0]?.removed).toBe(1);
          expect(await raw.countDocuments({})).toBe(0);
        } else {
          expect(observed.removals).toEqual([]);
          expect(await raw.countDocuments({ _id: new ObjectId(idOf(job)) })).toBe(1);
        }
      });
    });
  });
}
