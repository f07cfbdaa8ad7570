/**
 * A worker's memory as it handles many jobs: one runtime on MongoDB with the Agenda scheduler,
 * a job per call, fed in chunks of independent procs (so that nothing but the worker's own
 * per-job state could grow with the count), its resident set size read after a garbage
 * collection at each checkpoint. The worker's per-job bookkeeping (Agenda's settlements, claims
 * held) must be freed as each job ends. Two things are held on purpose and bounded: the ledger
 * keeps the last 20,000 records it inserted (about 5,000 procs of four records: created, called,
 * started, succeeded), and Agenda keeps each job it started for its liveness check, half the lock
 * lifetime (docs/operations.md): the first checkpoint should come after both filled.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MongoClient } from 'mongodb';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { AgendaScheduler } from '../src/agenda/index.js';
import { createProcRuntime, defineKind } from '../src/index.js';
import type { BenchResult } from './report.js';

// The bench runs without --expose-gc; this makes `gc` callable for the readings.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const CHUNK = 1_000;

interface Reading {
  readonly jobs: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly watched: number;
}

function read(jobs: number, watched: number): Reading {
  collectGarbage();
  const { rss, heapUsed } = process.memoryUsage();
  return { jobs, rssMiB: rss / 2 ** 20, heapMiB: heapUsed / 2 ** 20, watched };
}

/** Runs `checkpoints.at(-1)` jobs through one worker, reading its memory after each checkpoint's count. */
export async function benchWorkerMemory(uri: string, checkpoints: readonly number[], progress: (line: string) => void): Promise<BenchResult[]> {
  const client = await new MongoClient(uri).connect();
  const db = client.db(`procstate_bench_memory_${randomBytes(4).toString('hex')}`);
  let done = 0;
  let chunkDone: () => void = () => undefined;
  let chunkTarget = 0;
  const job = defineKind({
    name: 'job',
    processes: {
      work: {
        run: async () => {
          done += 1;
          if (done >= chunkTarget) chunkDone();
        },
      },
    },
  });
  const store = new MongoProcStore({ db, kinds: { job: 'jobs' } });
  await store.ensureIndexes();
  const scheduler = new AgendaScheduler({ db, concurrency: 8, pollMs: 1_000 });
  const runtime = createProcRuntime({ kinds: [job], store, scheduler, dispatchBatchSize: 1, sweepIntervalMs: 0, logger: { warn: () => undefined, error: (message) => progress(`procstate: ${message}`) } });
  const readings: Reading[] = [];
  try {
    await runtime.start();
    const last = checkpoints.at(-1) ?? 0;
    readings.push(read(0, scheduler.backend.repository.settlements.size));
    for (let start = 0; start < last; start += CHUNK) {
      const ids = Array.from({ length: Math.min(CHUNK, last - start) }, (_, index) => `j${start + index}`);
      chunkTarget = start + ids.length;
      const chunk = new Promise<void>((resolve) => (chunkDone = resolve));
      await runtime.createMany('job', ids.map((id) => ({ id })));
      await runtime.callMany('job', ids.map((id) => ({ id, process: 'work' })));
      await chunk;
      if (checkpoints.includes(chunkTarget)) {
        readings.push(read(chunkTarget, scheduler.backend.repository.settlements.size));
        progress(`${chunkTarget} jobs: ${(readings.at(-1) as Reading).rssMiB.toFixed(0)} MiB resident`);
      }
    }
  } finally {
    await runtime.close({ drainTimeoutMs: 5_000 });
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
  const first = readings[1] as Reading;
  const before = readings[0] as Reading;
  // The heap after a collection is what the worker holds; the resident set also counts memory
  // the allocator has not returned to the system yet, so it moves with what ran before.
  return readings.slice(1).flatMap((reading) => [
    {
      group: 'worker memory',
      name: `a worker's heap after ${reading.jobs} jobs (a job per call, Agenda), after a collection`,
      value: reading.heapMiB,
      unit: 'MiB',
      baseline: first.heapMiB,
      baselineName: `after ${first.jobs} jobs`,
      ratio: reading.heapMiB / first.heapMiB,
      notes: `before any job ${before.heapMiB.toFixed(1)} MiB (the bench's earlier groups included); the ledger's cache of its last 20,000 records fills at about 5,000 procs; jobs whose bookkeeping is watched at that moment: ${reading.watched}`,
    },
    {
      group: 'worker memory',
      name: `a worker's resident set after ${reading.jobs} jobs (a job per call, Agenda)`,
      value: reading.rssMiB,
      unit: 'MiB',
      baseline: first.rssMiB,
      baselineName: `after ${first.jobs} jobs`,
      ratio: reading.rssMiB / first.rssMiB,
      notes: `before any job ${before.rssMiB.toFixed(0)} MiB`,
    },
  ]);
}
