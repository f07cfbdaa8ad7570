/**
 * Embedded fan-out: one upload with N no-op entries through the runtime on the in-memory store
 * and the in-process scheduler, against BullMQ's FlowProducer (a parent with N children) on the
 * machine's Redis, in the same run. Each size is the median of a few runs after a warm-up, since
 * the first run also pays for JIT compilation; store calls per entry come from one more run.
 */
import { MemoryProcStore, type ProcStore } from '../persistence/index.js';
import { createProcRuntime } from '../src/index.js';
import { bullmqFlow } from './baselines/bullmq-flow.js';
import { fanOutKinds } from './fanout-kinds.js';
import { median, type BenchResult } from './report.js';

const quiet = { warn: () => undefined, error: () => undefined };
const ROUNDS = 5;
const CONCURRENCY = 8;

/** Counts every call of the store's methods. */
function counted(store: ProcStore, counter: { n: number }): ProcStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counter.n += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** One fan-out; the store calls are counted only when asked (the counting proxy costs time of its own). */
async function fanOut(entries: number, count = false): Promise<{ seconds: number; storeCalls: number }> {
  const counter = { n: 0 };
  const store = count ? counted(new MemoryProcStore(), counter) : new MemoryProcStore();
  const runtime = createProcRuntime({ kinds: fanOutKinds, store, concurrency: CONCURRENCY, sweepIntervalMs: 0, logger: quiet });
  await runtime.start();
  await runtime.create('upload', 'fan');
  counter.n = 0;
  const start = performance.now();
  await runtime.call('upload', 'fan', 'process_upload', { entries });
  const done = await runtime.waitForCompletion('upload', 'fan', { timeoutMs: 3_600_000, pollMs: 250 });
  const seconds = (performance.now() - start) / 1000;
  await runtime.close({ drainTimeoutMs: 5_000 });
  if (done.process_status !== 'SUCCESS') throw new Error(`the upload ended ${done.process_status}`);
  return { seconds, storeCalls: counter.n };
}

/** Each size on the embedded store and on BullMQ, alternating, median of {@link ROUNDS}. */
export async function benchEmbeddedFanOut(sizes: readonly number[], redisUrl: string): Promise<BenchResult[]> {
  await fanOut(Math.min(...sizes));
  await bullmqFlow(redisUrl, Math.min(...sizes), { concurrency: CONCURRENCY });
  const results: BenchResult[] = [];
  for (const entries of sizes) {
    const ours: number[] = [];
    const theirs: number[] = [];
    const { storeCalls } = await fanOut(entries, true);
    for (let round = 0; round < ROUNDS; round += 1) {
      ours.push((await fanOut(entries)).seconds);
      theirs.push((await bullmqFlow(redisUrl, entries, { concurrency: CONCURRENCY })).seconds);
    }
    results.push({
      group: 'fan-out',
      name: `upload with ${entries} entries, embedded (median of ${ROUNDS})`,
      value: median(ours),
      unit: 's',
      baseline: median(theirs),
      baselineName: `BullMQ FlowProducer, a parent with ${entries} children on Redis`,
      ratio: median(theirs) / median(ours),
      notes: `${(storeCalls / entries).toFixed(1)} store calls per entry; ratio is BullMQ's time ÷ procstate's (above 1: procstate is faster)`,
    });
  }
  return results;
}
