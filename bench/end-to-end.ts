/**
 * End to end: N processes through procstate on Agenda against N bare Agenda jobs doing the same
 * work, with the same worker settings and the same database, in the same run.
 */
import { Agenda, InMemoryNotificationChannel } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Db } from 'mongodb';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { AgendaScheduler } from '../src/agenda/index.js';
import { createProcRuntime, defineKind } from '../src/index.js';
import type { BenchResult } from './report.js';

const WORK_MS = 2;
const CONCURRENCY = 8;
const quiet = { warn: () => undefined, error: () => undefined };
const work = () => new Promise((resolve) => setTimeout(resolve, WORK_MS));

async function procstatePass(db: Db, n: number): Promise<number> {
  const kind = defineKind({ name: 'job', processes: { work: { run: async () => { await work(); } } } });
  const store = new MongoProcStore({ db, kinds: { job: 'jobs' } });
  await store.ensureIndexes();
  const scheduler = new AgendaScheduler({ db, collection: 'procstate_agenda', concurrency: CONCURRENCY, pollMs: 1_000 });
  const runtime = createProcRuntime({ kinds: [kind], store, scheduler, sweepIntervalMs: 0, logger: quiet });
  await runtime.start();
  for (let index = 0; index < n; index += 1) await runtime.create('job', `j${index}`);
  const start = performance.now();
  await Promise.all(Array.from({ length: n }, (_, index) => runtime.call('job', `j${index}`, 'work')));
  await Promise.all(Array.from({ length: n }, (_, index) => runtime.waitForCompletion('job', `j${index}`, { timeoutMs: 600_000, pollMs: 500 })));
  const seconds = (performance.now() - start) / 1000;
  await runtime.close({ drainTimeoutMs: 5_000 });
  return seconds;
}

async function agendaPass(db: Db, n: number): Promise<number> {
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: db, collection: 'bare_agenda' }),
    processEvery: 1_000,
    maxConcurrency: CONCURRENCY,
    defaultConcurrency: CONCURRENCY,
    defaultLockLimit: CONCURRENCY,
    removeOnComplete: true,
    notificationChannel: new InMemoryNotificationChannel(),
  });
  agenda.on('error', () => undefined);
  let completed = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  agenda.define('work', async () => {
    await work();
  }, { concurrency: CONCURRENCY, lockLimit: CONCURRENCY });
  agenda.on('complete', () => {
    completed += 1;
    if (completed === n) resolveAll();
  });
  await agenda.ready;
  await agenda.start();
  const start = performance.now();
  await Promise.all(Array.from({ length: n }, () => agenda.now('work', {})));
  await all;
  const seconds = (performance.now() - start) / 1000;
  await agenda.stop(false);
  return seconds;
}

export async function benchEndToEnd(fresh: () => Promise<Db>, n: number): Promise<BenchResult[]> {
  const bare = await agendaPass(await fresh(), n);
  const ours = await procstatePass(await fresh(), n);
  return [
    {
      group: 'end-to-end',
      name: `${n} processes on Agenda (${WORK_MS} ms of work each, concurrency ${CONCURRENCY})`,
      value: n / ours,
      unit: 'processes/s',
      baseline: n / bare,
      baselineName: `${n} bare Agenda jobs, same work and workers`,
      ratio: bare / ours,
      notes: `procstate ${ours.toFixed(1)} s, bare Agenda ${bare.toFixed(1)} s; each process is 4 recorded transitions`,
    },
  ];
}
