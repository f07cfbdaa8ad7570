/**
 * Dispatch latency: from calling a process to it being RUNNING, with procstate's notification
 * channels (in-process, and Redis across runtimes) against Agenda's polling, on the same server.
 */
import { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { NotificationChannel } from 'agenda';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { AgendaScheduler, RedisNotificationChannel } from '../src/agenda/index.js';
import { createProcRuntime, defineKind, type ProcRuntime } from '../src/index.js';
import { percentile, type BenchResult } from './report.js';

const quiet = { warn: () => undefined, error: () => undefined };
const kind = defineKind({ name: 'job', processes: { work: { run: async () => undefined } } });

/** A channel that delivers nothing: Agenda finds jobs by polling only. */
class SilentChannel {
  state: 'connected' | 'disconnected' = 'disconnected';
  async connect() {
    this.state = 'connected';
  }
  async disconnect() {
    this.state = 'disconnected';
  }
  subscribe() {
    return () => undefined;
  }
  async publish() {}
  on() {
    return this;
  }
  off() {
    return this;
  }
}

async function latencies(caller: ProcRuntime, samples: number, prefix: string): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < samples; index += 1) {
    const id = `${prefix}${index}`;
    await caller.create('job', id);
    // Spread the calls over the poll interval, as real calls are.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
    const start = performance.now();
    await caller.call('job', id, 'work');
    await caller.waitFor('job', id, (proc) => proc.process_status !== 'PENDING', { timeoutMs: 60_000, pollMs: 2 });
    times.push(performance.now() - start);
  }
  return times;
}

async function setup(db: Db, channels: { worker: NotificationChannel; caller?: NotificationChannel }, pollMs: number): Promise<{ caller: ProcRuntime; close: () => Promise<void> }> {
  const store = new MongoProcStore({ db, kinds: { job: 'jobs' } });
  await store.ensureIndexes();
  const worker = createProcRuntime({ kinds: [kind], store, scheduler: new AgendaScheduler({ db, pollMs, notificationChannel: channels.worker, name: 'worker' }), sweepIntervalMs: 0, logger: quiet });
  await worker.start();
  let caller = worker;
  if (channels.caller !== undefined) {
    caller = createProcRuntime({ kinds: [kind], store, scheduler: new AgendaScheduler({ db, pollMs, notificationChannel: channels.caller, work: false, name: 'caller' }), sweepIntervalMs: 0, logger: quiet });
    await caller.start();
  }
  return {
    caller,
    close: async () => {
      if (caller !== worker) await caller.close({ drainTimeoutMs: 1_000 });
      await worker.close({ drainTimeoutMs: 1_000 });
    },
  };
}

export async function benchDispatch(fresh: () => Promise<Db>, samples: number, pollMs: number): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const polling = await setup(await fresh(), { worker: new SilentChannel() as unknown as NotificationChannel }, pollMs);
  const polled = await latencies(polling.caller, Math.max(10, Math.floor(samples / 3)), 'p');
  await polling.close();

  const inProcess = await setup(await fresh(), { worker: undefined as unknown as NotificationChannel }, pollMs);
  const local = await latencies(inProcess.caller, samples, 'l');
  await inProcess.close();

  const redisClients = [new Redis('redis://127.0.0.1:6379'), new Redis('redis://127.0.0.1:6379')];
  const channel = `procstate:bench:${Date.now()}`;
  const remote = await setup(await fresh(), {
    worker: new RedisNotificationChannel({ client: redisClients[0] as Redis, channel }),
    caller: new RedisNotificationChannel({ client: redisClients[1] as Redis, channel }),
  }, pollMs);
  const acrossProcesses = await latencies(remote.caller, samples, 'r');
  await remote.close();
  for (const client of redisClients) client.disconnect();

  for (const [name, times] of [['in-process notification', local], ['Redis pub/sub, caller and worker in separate runtimes', acrossProcesses]] as const) {
    for (const q of [0.5, 0.99]) {
      results.push({
        group: 'dispatch',
        name: `call → RUNNING p${q * 100}, ${name}`,
        value: percentile(times, q),
        unit: 'ms',
        baseline: percentile(polled, q),
        baselineName: `Agenda polling every ${pollMs} ms`,
        ratio: percentile(times, q) / percentile(polled, q),
      });
    }
  }
  return results;
}
