/**
 * The Agenda scheduler and backend check their options when built, before any I/O: a bad one is
 * an InvalidArgumentError naming it. The database handle is a real driver `Db` of a client that
 * never connects (nothing here sends a command).
 */
import { MongoClient, type Db } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PersistenceError } from '../../../machines/errors.js';
import { AgendaScheduler, createAgendaBackend } from '../../../src/agenda/index.js';

const client = new MongoClient('mongodb://127.0.0.1:1/', { serverSelectionTimeoutMS: 100 });
const db = client.db('never_connected');
afterAll(() => client.close());

describe('AgendaScheduler options', () => {
  it.each([
    { concurrency: 0 },
    { concurrency: 2.5 },
    { lockLifetimeMs: 0 },
    { lockLifetimeMs: Number.NaN },
    { capabilities: { atomicFindAndModify: 'yes' } },
    { capabilities: { sortedByIndex: true } },
  ])('refuses %j', (options) => {
    expect(() => new AgendaScheduler({ db, ...(options as object) })).toThrow(InvalidArgumentError);
  });

  it("says how long Agenda's liveness check may hold the process after a job started: half of the longer of the poll and the lock lifetime", () => {
    expect(new AgendaScheduler({ db }).lingerMs).toBe(300_000);
    expect(new AgendaScheduler({ db, lockLifetimeMs: 4_000, pollMs: 200 }).lingerMs).toBe(2_000);
    expect(new AgendaScheduler({ db, lockLifetimeMs: 1_000, pollMs: 5_000 }).lingerMs).toBe(2_500);
  });
});

describe('createAgendaBackend options', () => {
  it.each([
    ['no options', undefined],
    ['no db', {}],
    ['a db that is null', { db: null }],
    ['no candidates per query', { db, candidatesPerQuery: 0 }],
    ['a fractional retention', { db, claimRetentionMs: 0.5 }],
    ['an unknown capability', { db, capabilities: { fast: true } }],
  ])('refuses %s', (_what, options) => {
    expect(() => createAgendaBackend(options as unknown as { db: Db })).toThrow(InvalidArgumentError);
  });

  it("uses Agenda's jobs collection unless told another", () => {
    expect(createAgendaBackend({ db }).collectionName).toBe('agendaJobs');
    expect(createAgendaBackend({ db, collection: 'jobs' }).collectionName).toBe('jobs');
  });
});

describe('a server that does not answer', () => {
  // A client whose connect failed stays closed: each case gets its own.
  const clients: MongoClient[] = [];
  const unreachable = () => {
    const fresh = new MongoClient('mongodb://127.0.0.1:1/', { serverSelectionTimeoutMS: 100 });
    clients.push(fresh);
    return fresh.db('never_connected');
  };
  afterAll(async () => {
    for (const fresh of clients) await fresh.close();
  });

  it("the backend's connect does not reject (Agenda calls it unguarded); ready() and every repository call reject with a PersistenceError", async () => {
    const backend = createAgendaBackend({ db: unreachable(), collection: 'jobs' });
    await expect(backend.connect()).resolves.toBeUndefined();
    await expect(backend.ready()).rejects.toThrow(PersistenceError);
    await expect(backend.repository.getNextJobToRun('x', new Date(), new Date(), undefined, undefined)).rejects.toThrow(PersistenceError);
    await expect(backend.repository.insertJobs([], undefined)).rejects.toThrow(PersistenceError);
  });

  it('the scheduler fails to start with a PersistenceError, before Agenda exists', async () => {
    const scheduler = new AgendaScheduler({ db: unreachable() });
    await expect(scheduler.start(async () => undefined)).rejects.toThrow(PersistenceError);
    expect(scheduler.agenda).toBeUndefined();
    expect(await scheduler.drain(10)).toBe(0);
  });
});
