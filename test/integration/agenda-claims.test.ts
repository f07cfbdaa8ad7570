/**
 * Claims of Agenda jobs, on the server: a claim whose maker died before the job was marked
 * locked must not block the job for longer than Agenda's lock lifetime, and its takeover is
 * decided by one insert like the claim itself.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import { describe, expect, it } from 'vitest';
import { ClaimingJobRepository } from '../../src/agenda/claiming-repository.js';
import { detectServerProfile } from '../../persistence/server-profile.js';
import { unique } from '../contract/runtime-scenarios.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const LIFETIME_MS = 300;

/** One Agenda instance's repository over the shared jobs collection. */
async function instance(collection: string): Promise<ClaimingJobRepository> {
  const inner = new MongoBackend({ mongo: database.db, collection });
  await inner.connect();
  const repository = new ClaimingJobRepository({
    inner: inner.repository,
    jobs: database.db.collection(collection),
    claims: database.db.collection(`${collection}_claims`),
    server: () => detectServerProfile(database.db.admin()),
    candidates: 4,
    claimRetentionMs: 60_000,
    claimLifetimeMs: LIFETIME_MS,
    offerInserted: false,
  });
  return repository;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('claims on Agenda jobs', () => {
  it('a job claimed by a worker that died before starting it is taken over once the lock lifetime passed, by exactly one worker', async () => {
    const collection = unique('claims').replaceAll('-', '_');
    const [dead, second, third] = [await instance(collection), await instance(collection), await instance(collection)];
    const [job] = await dead.insertJobs([{ name: 'procstate', priority: 0, nextRunAt: new Date(), type: 'normal', data: {} } as never], undefined);
    const lock = (repository: ClaimingJobRepository) => repository.getNextJobToRun('procstate', new Date(), new Date(Date.now() - LIFETIME_MS), new Date(), { lastModifiedBy: 'test' });

    // The first worker claims it, and dies before Agenda's save marks the job locked.
    expect(String((await lock(dead))?._id)).toBe(String(job?._id));
    expect((await database.db.collection(collection).findOne({}))?.['lockedAt']).toBeNull();
    // Within the lifetime the claim holds: nobody else gets the job.
    expect(await lock(second)).toBeUndefined();
    expect(await lock(third)).toBeUndefined();
    // Past it, two workers race for the stale claim: one insert decides.
    await sleep(2 * LIFETIME_MS);
    const results = await Promise.all([lock(second), lock(third)]);
    expect(results.filter((result) => result !== undefined).map((result) => String(result?._id))).toEqual([String(job?._id)]);
    expect(await database.db.collection(`${collection}_claims`).countDocuments({ job: String(job?._id) })).toBe(2);
  });

  it('a job started under its claim is not taken while its lock is fresh, and once it expired exactly one worker takes it over', async () => {
    const collection = unique('race').replaceAll('-', '_');
    const [first, second, third] = [await instance(collection), await instance(collection), await instance(collection)];
    await first.insertJobs([{ name: 'procstate', priority: 0, nextRunAt: new Date(), type: 'normal', data: {} } as never], undefined);
    const lock = (repository: ClaimingJobRepository) => repository.getNextJobToRun('procstate', new Date(), new Date(Date.now() - LIFETIME_MS), new Date(), { lastModifiedBy: 'test' });
    const won = await lock(first);
    expect(won).toBeDefined();
    expect(await lock(second)).toBeUndefined();
    // The winner starts it: Agenda saves the job with its lock, which ends that claim's generation.
    await first.saveJobState({ ...(won as object), lockedAt: new Date(), lastRunAt: new Date() } as never, { lastModifiedBy: 'test' });
    expect(await lock(second)).toBeUndefined();
    // Its worker stalls past the lock lifetime: the expired lock is a new generation, claimed once.
    await sleep(2 * LIFETIME_MS);
    const results = await Promise.all([lock(second), lock(third)]);
    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
    const claims = await database.db.collection(`${collection}_claims`).find({}).toArray();
    expect(claims.map((claim) => String(claim._id).replace(/^[0-9a-f]+\//, '').replace(/@\d+.*/, '@'))).toEqual(expect.arrayContaining(['free@', 'lock@']));
    expect(claims).toHaveLength(2);
  });
});
