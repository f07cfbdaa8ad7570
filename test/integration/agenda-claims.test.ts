/**
 * Claims on Agenda jobs, on the server, with claims forced (`atomicFindAndModify: false`, as on
 * FerretDB): racing workers lock each job generation once; a claim whose maker died before it
 * locked the job blocks it for no longer than the lock lifetime, and its takeover is decided by
 * one insert like the claim itself; an expired lock is a new generation, taken over once.
 */
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createAgendaBackend, type ProcstateAgendaBackend } from '../../src/agenda/agenda-backend.js';
import { JobClaims } from '../../src/agenda/job-claims.js';
import type { JobDocument } from '../../src/agenda/job-document.js';
import { unique } from '../contract/runtime-scenarios.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const LIFETIME_MS = 300;
const CLAIMED = { atomicFindAndModify: false } as const;

/** One Agenda instance's backend over the shared jobs collection, locking by claims. */
async function instance(collection: string): Promise<ProcstateAgendaBackend> {
  const backend = createAgendaBackend({ db: database.db, collection, capabilities: CLAIMED, candidatesPerQuery: 4 });
  await backend.ready();
  return backend;
}

const newJob = (data: unknown = {}) => ({ name: 'procstate', priority: 0, nextRunAt: new Date(), type: 'normal', data }) as never;
const lock = (backend: ProcstateAgendaBackend, by: string) =>
  backend.repository.getNextJobToRun('procstate', new Date(), new Date(Date.now() - LIFETIME_MS), new Date(), { lastModifiedBy: by });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('claims on Agenda jobs', () => {
  it('workers racing for the same jobs lock each one once, and mark it locked at once', async () => {
    const collection = unique('race').replaceAll('-', '_');
    const workers = await Promise.all([1, 2, 3, 4].map(() => instance(collection)));
    const jobs = await workers[0]!.repository.insertJobs(
      Array.from({ length: 12 }, (_, index) => newJob({ index })),
      undefined,
    );
    const locked: string[] = [];
    await Promise.all(
      workers.map(async (worker, index) => {
        for (let job = await lock(worker, `w${index}`); job !== undefined; job = await lock(worker, `w${index}`)) locked.push(String(job._id));
      }),
    );
    expect(locked.sort()).toEqual(jobs.map((job) => String(job._id)).sort());
    const documents = await database.db.collection(collection).find({}).toArray();
    expect(documents.every((document) => document['lockedAt'] instanceof Date)).toBe(true);
  });

  it('a claim left by a worker that died before locking its job is taken over once the lock lifetime passed, by exactly one worker', async () => {
    const collection = unique('claims').replaceAll('-', '_');
    const [second, third] = [await instance(collection), await instance(collection)];
    const [job] = await second.repository.insertJobs([newJob()], undefined);
    // The dead worker won the claim of the job's free generation and never locked it.
    const document = (await database.db.collection(collection).findOne({})) as JobDocument;
    const dead = new JobClaims({ collection: database.db.collection(`${collection}_claims`), retentionMs: 60_000 });
    expect(await dead.claim(document, LIFETIME_MS, 'dead')).toBeDefined();
    // Within the lifetime the claim holds: nobody else gets the job.
    expect(await lock(second, 'second')).toBeUndefined();
    expect(await lock(third, 'third')).toBeUndefined();
    // Past it, two workers race for the stale claim: one insert decides.
    await sleep(2 * LIFETIME_MS);
    const results = await Promise.all([lock(second, 'second'), lock(third, 'third')]);
    expect(results.filter((result) => result !== undefined).map((result) => String(result?._id))).toEqual([String(job?._id)]);
    expect(await database.db.collection(`${collection}_claims`).countDocuments({ job: String(job?._id) })).toBe(2);
    expect((await database.db.collection(collection).findOne({}))?.['lockedAt']).toBeInstanceOf(Date);
  });

  it('a locked job is not taken while its lock is fresh, and once it expired exactly one worker takes it over', async () => {
    const collection = unique('expiry').replaceAll('-', '_');
    const [first, second, third] = [await instance(collection), await instance(collection), await instance(collection)];
    await first.repository.insertJobs([newJob()], undefined);
    expect(await lock(first, 'first')).toBeDefined();
    expect(await lock(second, 'second')).toBeUndefined();
    // Its worker stalls past the lock lifetime: the expired lock is a new generation, claimed once.
    await sleep(2 * LIFETIME_MS);
    const results = await Promise.all([lock(second, 'second'), lock(third, 'third')]);
    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
    const claims = await database.db.collection(`${collection}_claims`).find({}).toArray();
    expect(claims.map((claim) => String(claim._id).replace(/^[0-9a-f]+\//, '').replace(/@\d+.*/, '@')).sort()).toEqual(['free@', 'lock@']);
  });

  it('a job disabled, moved later or deleted after the lock query is not locked from the cached candidates', async () => {
    const collection = unique('stale').replaceAll('-', '_');
    const worker = await instance(collection);
    const jobs = await worker.repository.insertJobs([newJob({ n: 1 }), newJob({ n: 2 }), newJob({ n: 3 }), newJob({ n: 4 })], undefined);
    // The first lock reads every candidate; the others wait in its cache.
    const first = await lock(worker, 'w');
    expect(first).toBeDefined();
    const others = jobs.filter((job) => String(job._id) !== String(first?._id)).map((job) => String(job._id));
    await worker.repository.disableJobs({ id: others[0]! });
    const moved = await database.db.collection(collection).updateOne({ _id: new ObjectId(others[1]) }, { $set: { nextRunAt: new Date(Date.now() + 3_600_000) } });
    expect(moved.modifiedCount).toBe(1);
    expect(await worker.repository.removeJobs({ id: others[2]! })).toBe(1);
    expect(await lock(worker, 'w')).toBeUndefined();
  });

  it('a job its worker unlocked (Agenda frees a job it locked but will not run) can be locked again at once, by any worker', async () => {
    const collection = unique('unlock').replaceAll('-', '_');
    const [first, second] = [await instance(collection), await instance(collection)];
    await first.repository.insertJobs([newJob()], undefined);
    const locked = await lock(first, 'first');
    expect(locked).toBeDefined();
    await first.repository.unlockJob(locked!);
    expect(String((await lock(second, 'second'))?._id)).toBe(String(locked?._id));
    await second.repository.unlockJobs([locked!._id!]);
    expect(String((await lock(first, 'first'))?._id)).toBe(String(locked?._id));
  });

  it('a job whose run failed and was rescheduled is locked again by the same worker once due (its claim ends with the run)', async () => {
    const collection = unique('retry').replaceAll('-', '_');
    const worker = await instance(collection);
    await worker.repository.insertJobs([newJob()], undefined);
    const locked = await lock(worker, 'w');
    expect(locked).toBeDefined();
    // What Agenda saves: the start (lock held, last run set), then the end of a failed run with its retry due now.
    const started = { ...locked!, lastRunAt: new Date(), nextRunAt: null };
    await worker.repository.saveJobState(started, { lastModifiedBy: 'w' });
    const { lockedAt: _held, ...unlocked } = started;
    const retry = { ...unlocked, failCount: 1, failReason: 'boom', failedAt: new Date(), nextRunAt: new Date() };
    await worker.repository.saveJobState(retry, { lastModifiedBy: 'w' });
    const again = await lock(worker, 'w');
    expect(String(again?._id)).toBe(String(locked?._id));
    expect(again?.failCount).toBe(1);
  });

  it('lockJob (a given job) is decided by a claim as well: once, and not for a job that is not due as asked, or disabled', async () => {
    const collection = unique('lockjob').replaceAll('-', '_');
    const [first, second] = [await instance(collection), await instance(collection)];
    const [due, disabled] = await first.repository.insertJobs([newJob({ n: 1 }), newJob({ n: 2 })], undefined);
    const locked = await first.repository.lockJob(due!, { lastModifiedBy: 'first' });
    expect(locked?.lockedAt).toBeInstanceOf(Date);
    expect(locked?.lastModifiedBy).toBe('first');
    expect(await second.repository.lockJob(due!, { lastModifiedBy: 'second' })).toBeUndefined();
    expect(await second.repository.lockJob({ ...disabled!, nextRunAt: new Date(0) }, undefined)).toBeUndefined();
    await first.repository.disableJobs({ id: disabled!._id! });
    expect(await second.repository.lockJob(disabled!, undefined)).toBeUndefined();
  });

  it('insertJobs inserts plain new jobs in one command and leaves the rest (unique, single, already saved) to saveJob', async () => {
    const collection = unique('insert').replaceAll('-', '_');
    const worker = await instance(collection);
    const [saved] = await worker.repository.insertJobs([newJob({ n: 0 })], undefined);
    const jobs = await worker.repository.insertJobs(
      [
        newJob({ n: 1 }),
        { ...(newJob({ n: 2 }) as object), unique: { 'data.n': 2 } } as never,
        { ...(newJob({ n: 3 }) as object), name: 'single', type: 'single' } as never,
        { ...(saved as object), data: { n: 'saved again' } } as never,
        newJob({ n: 4 }),
      ],
      { lastModifiedBy: 'w' },
    );
    expect(jobs.map((job) => job.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 'saved again' }, { n: 4 }]);
    expect(String(jobs[3]?._id)).toBe(String(saved?._id));
    const stored = await database.db.collection(collection).find({}, { sort: { 'data.n': 1 } }).toArray();
    expect(stored).toHaveLength(5);
    // Again: the unique job and the single one are upserts, not more jobs.
    await worker.repository.insertJobs([{ ...(newJob({ n: 2 }) as object), unique: { 'data.n': 2 } } as never, { ...(newJob({ n: 3 }) as object), name: 'single', type: 'single' } as never], undefined);
    expect(await database.db.collection(collection).countDocuments({})).toBe(5);
  });

  it('a cached candidate is handed out only once due by the caller’s scan time, and options may be left out', async () => {
    const collection = unique('window').replaceAll('-', '_');
    const worker = await instance(collection);
    const soon = new Date(Date.now() + 60_000);
    await worker.repository.insertJobs([newJob({ n: 1 }), { ...(newJob({ n: 2 }) as object), nextRunAt: soon } as never], undefined);
    // A wide scan reads both; the first is locked, the second waits in the cache.
    const first = await worker.repository.getNextJobToRun('procstate', new Date(soon.getTime() + 1), new Date(Date.now() - LIFETIME_MS), undefined, undefined);
    expect(first?.data).toEqual({ n: 1 });
    expect(first?.lastModifiedBy).toBeUndefined();
    // A scan that ends before it is due does not lock it from the cache.
    expect(await lock(worker, 'w')).toBeUndefined();
  });

  it('purges claims older than their retention: a generation a dead worker claimed is free again after it', async () => {
    const collection = unique('purge').replaceAll('-', '_');
    const backend = createAgendaBackend({ db: database.db, collection, capabilities: CLAIMED, claimRetentionMs: 200, ensureIndex: false, logCollection: `${collection}_logs` });
    await backend.ready();
    const [job] = await backend.repository.insertJobs([newJob()], undefined);
    const document = (await database.db.collection(collection).findOne({})) as JobDocument;
    // A claim its maker never locked under, with a lifetime far longer than the retention.
    expect(await new JobClaims({ collection: database.db.collection(`${collection}_claims`), retentionMs: 60_000 }).claim(document, 60_000, 'dead')).toBeDefined();
    await sleep(250);
    const deadline = new Date(Date.now() - 60_000);
    // Each claim attempt purges what is past the retention first (fire and forget): within a few, the job is locked.
    let locked: Awaited<ReturnType<typeof lock>>;
    await until(async () => (locked = await backend.repository.getNextJobToRun('procstate', new Date(), deadline, new Date(), { lastModifiedBy: 'b' })) !== undefined);
    expect(String(locked?._id)).toBe(String(job?._id));
    expect(await database.db.collection(`${collection}_claims`).countDocuments({ by: 'dead' })).toBe(0);
  });
});

/** Polls `condition` until it holds, failing after 10 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await sleep(20);
  }
}
