/**
 * Group commit: 64 transitions of 64 distinct procs at the same moment against 64 one after the
 * other, on the server. Twice: through the ledger, each writer holding its proc's latest record
 * (a run's writes: the ledger insert and the document copy, nothing else), which is the commit
 * path alone; and through the runtime's `call`, which must load each proc first (the document and
 * the ledger head) and dispatches to a scheduler that only takes the jobs. And the raw driver's
 * ceiling for the same writes, to read the two against.
 */
import type { Db } from 'mongodb';
import { applyProcEvent, initialProcState } from '../machines/index.js';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { ProcLedger, type StoredProc } from '../persistence/index.js';
import { createProcRuntime, defineKind, type Scheduler } from '../src/index.js';
import { median, type BenchResult } from './report.js';

const PROCS = 64;
const ROUNDS = 3;
const kind = defineKind({ name: 'job', processes: { work: { run: async () => undefined } } });

/** A scheduler that takes jobs and runs none: the figure measures the commit, not the work. */
const takesJobs: Scheduler = {
  name: 'takes-jobs',
  start: async () => undefined,
  dispatch: async (jobs) => jobs.map((_, index) => `job-${index}`),
  schedule: async () => 'scheduled',
  queuedRuns: async () => undefined,
  drain: async () => 0,
};

/** 64 steps of 64 running procs, at once and one after the other, through the ledger. */
async function ledgerRounds(store: MongoProcStore): Promise<{ sequential: number[]; concurrent: number[] }> {
  const ledger = new ProcLedger(store);
  const sequential: number[] = [];
  const concurrent: number[] = [];
  const step = (proc: StoredProc, round: number) => {
    const result = applyProcEvent(proc.state, { type: 'proc.reset', force: false, at: new Date().toISOString() });
    if (!result.accepted) throw new Error(`round ${round}: the step was refused`);
    return ledger.append(proc, result.state, { cause: 'proc.reset', event: { force: false }, at: new Date(), worker: 'bench', runId: null });
  };
  const procs: StoredProc[] = [];
  for (let index = 0; index < PROCS * 2; index += 1) procs.push(await ledger.create({ kind: 'job', id: `ledger-${index}` }, initialProcState(null), { at: new Date(), worker: 'bench' }));
  for (let round = 0; round < ROUNDS; round += 1) {
    let started = performance.now();
    for (let index = 0; index < PROCS; index += 1) procs[index] = await step(procs[index] as StoredProc, round);
    sequential.push(performance.now() - started);
    started = performance.now();
    const next = await Promise.all(procs.slice(PROCS).map((proc) => step(proc, round)));
    concurrent.push(performance.now() - started);
    procs.splice(PROCS, PROCS, ...next);
  }
  return { sequential, concurrent };
}

/**
 * The server's own ceiling for the same work, with the raw driver: 64 inserts and 64 updates
 * one after the other, against one insertMany and one bulkWrite of the 64 updates. No commit
 * path can batch better than this, so it is the figure to hold the two above against.
 */
async function rawRounds(db: Db): Promise<{ sequential: number[]; batched: number[] }> {
  const records = db.collection('bench_raw_records');
  const documents = db.collection('bench_raw_documents');
  await Promise.all([records.deleteMany({}), documents.deleteMany({})]);
  await documents.insertMany(Array.from({ length: PROCS * 2 }, (_, index) => ({ _id: `raw-${index}` as never, sync_counter: 0 })));
  const sequential: number[] = [];
  const batched: number[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    let started = performance.now();
    for (let index = 0; index < PROCS; index += 1) {
      await records.insertOne({ proc: `raw-${index}`, seq: round });
      await documents.updateOne({ _id: `raw-${index}` as never }, { $set: { sync_counter: round } });
    }
    sequential.push(performance.now() - started);
    started = performance.now();
    await records.insertMany(Array.from({ length: PROCS }, (_, index) => ({ proc: `raw-${PROCS + index}`, seq: round })));
    await documents.bulkWrite(
      Array.from({ length: PROCS }, (_, index) => ({ updateOne: { filter: { _id: `raw-${PROCS + index}` as never }, update: { $set: { sync_counter: round } } } })),
      { ordered: false },
    );
    batched.push(performance.now() - started);
  }
  await Promise.all([records.drop(), documents.drop()]);
  return { sequential, batched };
}

export async function benchGroupCommit(db: Db): Promise<BenchResult[]> {
  const raw = await rawRounds(db);
  const store = new MongoProcStore({ db, kinds: { job: 'jobs' } });
  await store.ensureIndexes();
  const commits = await ledgerRounds(store);
  const runtime = createProcRuntime({ kinds: [kind], store, scheduler: takesJobs, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
  await runtime.start();
  const sequential: number[] = [];
  const concurrent: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const ids = Array.from({ length: PROCS * 2 }, (_, index) => `r${round}-${index}`);
    for (const result of await runtime.createMany('job', ids.map((id) => ({ id })))) if (!result.ok) throw result.error;
    let started = performance.now();
    for (const id of ids.slice(0, PROCS)) await runtime.call('job', id, 'work');
    sequential.push(performance.now() - started);
    started = performance.now();
    await Promise.all(ids.slice(PROCS).map((id) => runtime.call('job', id, 'work')));
    concurrent.push(performance.now() - started);
  }
  await runtime.close({ drainTimeoutMs: 1_000 });
  const rate = (ms: number) => PROCS / (ms / 1000);
  return [
    {
      group: 'group commit',
      name: `server ceiling, raw driver: ${PROCS} inserts and ${PROCS} updates in two commands (median of ${ROUNDS})`,
      value: rate(median(raw.batched)),
      unit: 'transitions/s',
      baseline: rate(median(raw.sequential)),
      baselineName: `${PROCS} insertOne + updateOne one after the other`,
      ratio: median(raw.sequential) / median(raw.batched),
      notes: `batched ${median(raw.batched).toFixed(0)} ms, one after the other ${median(raw.sequential).toFixed(0)} ms; the most any group commit can gain on this server`,
    },
    {
      group: 'group commit',
      name: `${PROCS} transitions of distinct procs at once, writers holding their latest record (median of ${ROUNDS})`,
      value: rate(median(commits.concurrent)),
      unit: 'transitions/s',
      baseline: rate(median(commits.sequential)),
      baselineName: `${PROCS} one after the other`,
      ratio: median(commits.sequential) / median(commits.concurrent),
      notes: `at once ${median(commits.concurrent).toFixed(0)} ms, one after the other ${median(commits.sequential).toFixed(0)} ms; each is a ledger insert and a document copy`,
    },
    {
      group: 'group commit',
      name: `${PROCS} calls on distinct procs at once, through the runtime (median of ${ROUNDS})`,
      value: rate(median(concurrent)),
      unit: 'transitions/s',
      baseline: rate(median(sequential)),
      baselineName: `${PROCS} calls one after the other`,
      ratio: median(sequential) / median(concurrent),
      notes: `at once ${median(concurrent).toFixed(0)} ms, one after the other ${median(sequential).toFixed(0)} ms; each call loads its proc (document and ledger head), then a ledger insert, a document copy and a dispatch`,
    },
  ];
}
