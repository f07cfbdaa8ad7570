/**
 * Dispatch latency: from calling a process to it being RUNNING, through procstate on Agenda,
 * against bare Agenda on the same server from `agenda.now()` to its `start` event, each with
 * in-process notifications (and procstate also across runtimes through Redis).
 */
import { Agenda, InMemoryNotificationChannel, type NotificationChannel } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { AgendaScheduler, RedisNotificationChannel } from '../src/agenda/index.js';
import { createProcRuntime, defineKind, type ProcRuntime } from '../src/index.js';
import { percentile, type BenchResult } from './report.js';

const quiet = { warn: () => undefined, error: () => undefined };
const kind = defineKind({ name: 'job', processes: { work: { run: async () => undefined } } });
const POLL_MS = 1_000;
/** Calls are spread over a poll interval, as real ones are. */
const spread = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 50));

/**
 * From `call` to the worker's RUNNING notice: the same way bare Agenda's figure is taken (its
 * `start` event), and without polling, which would load the server the figure measures.
 */
async function procstateLatencies(caller: ProcRuntime, worker: ProcRuntime, samples: number, prefix: string): Promise<number[]> {
  const runningAt = new Map<string, number>();
  const unsubscribe = worker.subscribe((notice) => {
    if (notice.to === 'RUNNING' && notice.from === 'PENDING') runningAt.set(notice.id, performance.now());
  });
  const times: number[] = [];
  try {
    for (let index = 0; index < samples; index += 1) {
      const id = `${prefix}${index}`;
      await caller.create('job', id);
      await spread();
      const start = performance.now();
      await caller.call('job', id, 'work');
      await worker.waitFor('job', id, () => runningAt.has(id), { timeoutMs: 60_000, pollMs: 1_000 });
      times.push((runningAt.get(id) as number) - start);
    }
  } finally {
    unsubscribe();
  }
  return times;
}

async function procstateOn(db: Db, channels: { worker?: NotificationChannel; caller?: NotificationChannel }): Promise<{ caller: ProcRuntime; worker: ProcRuntime; close: () => Promise<void> }> {
  const store = new MongoProcStore({ db, kinds: { job: 'jobs' } });
  await store.ensureIndexes();
  const worker = createProcRuntime({ kinds: [kind], store, scheduler: new AgendaScheduler({ db, pollMs: POLL_MS, notificationChannel: channels.worker, name: 'worker' }), sweepIntervalMs: 0, logger: quiet });
  await worker.start();
  let caller = worker;
  if (channels.caller !== undefined) {
    caller = createProcRuntime({ kinds: [kind], store, scheduler: new AgendaScheduler({ db, pollMs: POLL_MS, notificationChannel: channels.caller, work: false, name: 'caller' }), sweepIntervalMs: 0, logger: quiet });
    await caller.start();
  }
  return {
    caller,
    worker,
    close: async () => {
      if (caller !== worker) await caller.close({ drainTimeoutMs: 1_000 });
      await worker.close({ drainTimeoutMs: 1_000 });
    },
  };
}

/** Bare Agenda: `now()` to the job's `start` event, with Agenda's in-process notifications. */
async function bareAgendaLatencies(db: Db, samples: number): Promise<number[]> {
  const agenda = new Agenda({ backend: new MongoBackend({ mongo: db, collection: 'bare_dispatch' }), processEvery: POLL_MS, removeOnComplete: true, notificationChannel: new InMemoryNotificationChannel() });
  agenda.on('error', () => undefined);
  // Start times by job id: a job can start before its save has returned its id to us.
  const startedAt = new Map<string, number>();
  let onStart: () => void = () => undefined;
  agenda.define('work', async () => undefined);
  agenda.on('start', (job) => {
    startedAt.set(String(job.attrs._id), performance.now());
    onStart();
  });
  await agenda.ready;
  await agenda.start();
  const times: number[] = [];
  try {
    for (let index = 0; index < samples; index += 1) {
      await spread();
      const start = performance.now();
      const id = String((await agenda.now('work', {})).attrs._id);
      const deadline = Date.now() + 60_000;
      while (!startedAt.has(id)) {
        if (Date.now() > deadline) throw new Error('bare Agenda did not start a job within 60 s');
        await new Promise<void>((resolve) => {
          onStart = resolve;
          setTimeout(resolve, 50).unref();
        });
      }
      times.push((startedAt.get(id) as number) - start);
    }
  } finally {
    await agenda.stop(false);
  }
  return times;
}

export async function benchDispatch(fresh: () => Promise<Db>, samples: number): Promise<BenchResult[]> {
  const bare = await bareAgendaLatencies(await fresh(), samples);

  const inProcess = await procstateOn(await fresh(), {});
  const local = await procstateLatencies(inProcess.caller, inProcess.worker, samples, 'l');
  await inProcess.close();

  const redisClients = [new Redis('redis://127.0.0.1:6379'), new Redis('redis://127.0.0.1:6379')];
  const channel = `procstate:bench:${Date.now()}`;
  const remote = await procstateOn(await fresh(), {
    worker: new RedisNotificationChannel({ client: redisClients[0] as Redis, channel }),
    caller: new RedisNotificationChannel({ client: redisClients[1] as Redis, channel }),
  });
  const acrossProcesses = await procstateLatencies(remote.caller, remote.worker, samples, 'r');
  await remote.close();
  for (const client of redisClients) client.disconnect();

  const results: BenchResult[] = [];
  for (const [name, times] of [['in-process notification', local], ['Redis, caller and worker in separate runtimes', acrossProcesses]] as const) {
    for (const q of [0.5, 0.99]) {
      results.push({
        group: 'dispatch',
        name: `call → RUNNING p${q * 100}, ${name}`,
        value: percentile(times, q),
        unit: 'ms',
        baseline: percentile(bare, q),
        baselineName: "bare Agenda, now() → start, in-process notification",
        ratio: percentile(times, q) / percentile(bare, q),
        notes: `${samples} calls each`,
      });
    }
  }
  return results;
}
