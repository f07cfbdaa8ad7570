/**
 * Fan-out: one upload with N entries, through the runtime on a store; wall time, store or
 * database operations per entry, and how the per-entry cost grows from the small to the large N.
 */
import { MongoClient, type Db } from 'mongodb';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { MemoryProcStore, type ProcStore } from '../persistence/index.js';
import { createProcRuntime, defineKind, InProcessScheduler, ProcessResult } from '../src/index.js';
import type { BenchResult } from './report.js';

const quiet = { warn: () => undefined, error: () => undefined };

const kinds = [
  defineKind({
    name: 'upload',
    processes: {
      process_upload: {
        run: async (ctx) => {
          const { entries } = ctx.args as { entries: number };
          await ctx.startChildren('entry', Array.from({ length: entries }, (_, index) => ({ id: `${ctx.id}-${index}`, process: 'process_entry' })));
          return ProcessResult.WAITING_FOR_RESULT;
        },
      },
    },
    join: async (ctx) => ctx.setStep('Cleanup'),
  }),
  defineKind({
    name: 'entry',
    parent: { kind: 'upload', key: 'upload_id' },
    processes: { process_entry: { child: true, run: async (ctx) => ctx.setStep('Parsing mainfile') } },
  }),
];

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

async function fanOut(store: ProcStore, entries: number): Promise<number> {
  const runtime = createProcRuntime({ kinds, store, scheduler: new InProcessScheduler({ concurrency: 8 }), sweepIntervalMs: 0, logger: quiet });
  await runtime.start();
  const start = performance.now();
  await runtime.create('upload', 'fan');
  await runtime.call('upload', 'fan', 'process_upload', { entries });
  const done = await runtime.waitForCompletion('upload', 'fan', { timeoutMs: 3_600_000, pollMs: 250 });
  const seconds = (performance.now() - start) / 1000;
  await runtime.close({ drainTimeoutMs: 5_000 });
  if (done.process_status !== 'SUCCESS') throw new Error(`the upload ended ${done.process_status}`);
  return seconds;
}

/** Runs the fan-out at each size on the embedded store, or on the server when `uri` is given. */
export async function benchFanout(sizes: readonly [number, number], server: { uri: string; fresh: () => Promise<Db> } | undefined): Promise<BenchResult[]> {
  const runs: Array<{ entries: number; seconds: number; operations: number }> = [];
  for (const entries of sizes) {
    if (server === undefined) {
      const counter = { n: 0 };
      const seconds = await fanOut(counted(new MemoryProcStore(), counter), entries);
      runs.push({ entries, seconds, operations: counter.n });
    } else {
      // A client of its own, to count every command the run sends.
      const name = (await server.fresh()).databaseName;
      const client = await new MongoClient(server.uri, { monitorCommands: true }).connect();
      let commands = 0;
      client.on('commandStarted', () => {
        commands += 1;
      });
      const db = client.db(name);
      const store = new MongoProcStore({ db, kinds: { upload: 'uploads', entry: { documents: db.collection('entries'), parentKey: 'upload_id' } } });
      await store.ensureIndexes();
      commands = 0;
      const seconds = await fanOut(store, entries);
      runs.push({ entries, seconds, operations: commands });
      await client.close();
    }
  }
  const [small, large] = runs as [(typeof runs)[number], (typeof runs)[number]];
  const perEntry = (run: typeof small) => (run.seconds * 1000) / run.entries;
  const unit = server === undefined ? 'store calls' : 'database commands';
  return [
    ...runs.map((run) => ({
      group: 'fan-out',
      name: `upload with ${run.entries} entries: wall time`,
      value: run.seconds,
      unit: 's',
      notes: `${(run.operations / run.entries).toFixed(1)} ${unit} per entry; ${perEntry(run).toFixed(2)} ms per entry`,
    })),
    {
      group: 'fan-out',
      name: `growth: time per entry at ${large.entries} ÷ at ${small.entries}`,
      value: perEntry(large),
      unit: 'ms/entry',
      baseline: perEntry(small),
      baselineName: `${small.entries} entries`,
      ratio: perEntry(large) / perEntry(small),
      notes: `${unit} per entry: ${(small.operations / small.entries).toFixed(1)} → ${(large.operations / large.entries).toFixed(1)}`,
    },
  ];
}
