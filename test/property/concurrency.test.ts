/**
 * Concurrent workers on one store, with every store operation's completion ordered by
 * fast-check's scheduler: whatever the interleaving, exactly one writer wins each sequence
 * number, a process function runs once per recorded start, the ledger has no gap, and the
 * document ends equal to the ledger head.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryProcStore, type ProcStore } from '../../persistence/index.js';
import { createProcRuntime, defineKind, type ProcRuntime } from '../../src/index.js';
import { ControlledScheduler } from '../../src/testing/index.js';

const quiet = { warn: () => undefined, error: () => undefined };

/** The store with each operation's result released by the fast-check scheduler. */
function scheduledStore(store: MemoryProcStore, s: fc.Scheduler): ProcStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || key === 'constructor') return value;
      return s.scheduleFunction((...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

interface World {
  runtimes: ProcRuntime[];
  schedulers: ControlledScheduler[];
  store: MemoryProcStore;
  runs: Map<string, number>;
}

async function world(s: fc.Scheduler, workers: number): Promise<World> {
  const store = new MemoryProcStore();
  const runs = new Map<string, number>();
  const kind = defineKind({
    name: 'proc',
    processes: {
      work: {
        run: async (ctx) => {
          const run = ctx.proc.worker_hostname ?? '?';
          runs.set(run, (runs.get(run) ?? 0) + 1);
          await ctx.setStep('working');
        },
      },
    },
  });
  const runtimes: ProcRuntime[] = [];
  const schedulers: ControlledScheduler[] = [];
  for (let index = 0; index < workers; index += 1) {
    const scheduler = new ControlledScheduler();
    const runtime = createProcRuntime({ kinds: [kind], store: scheduledStore(store, s), scheduler, worker: `w${index}`, sweepIntervalMs: 0, logger: quiet });
    await runtime.start();
    runtimes.push(runtime);
    schedulers.push(scheduler);
  }
  return { runtimes, schedulers, store, runs };
}

async function assertLedgerSound(w: World, id: string): Promise<void> {
  const ref = { kind: 'proc', id };
  const history = await w.store.readTransitions(ref);
  expect(history.map((record) => record.seq)).toEqual(history.map((_, index) => index + 1));
  const starts = history.filter((record) => record.cause === 'worker.started');
  // Every entry into PENDING makes a call current (a new call, or a queued one promoted).
  const current = history.filter((record) => record.to === 'PENDING' && record.from !== 'PENDING');
  // At most one start per call that became current, never two.
  expect(starts.length).toBeLessThanOrEqual(current.length);
  const startedCalls = starts.map((record) => (record.event as { call_id: string }).call_id);
  expect(new Set(startedCalls).size).toBe(startedCalls.length);
  // Each function ran exactly once per recorded start, on the worker that recorded it.
  for (const record of starts) expect(w.runs.get(record.worker as string)).toBeGreaterThanOrEqual(1);
  expect([...w.runs.values()].reduce((a, b) => a + b, 0)).toBe(starts.length);
  const head = history.at(-1);
  const document = await w.store.readDocument(ref);
  expect(document?.['sync_counter']).toBe(head?.seq);
  expect(document?.['process_status']).toBe(head?.to);
}

describe('concurrent workers, every interleaving', () => {
  it('one job delivered to three workers at once starts the process exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const w = await world(s, 3);
        const id = 'p1';
        await s.waitFor(w.runtimes[0]!.create('proc', id));
        await s.waitFor(w.runtimes[0]!.call('proc', id, 'work'));
        const job = w.schedulers[0]!.jobs[0]!;
        const deliveries = w.runtimes.map((runtime) => runtime.handleJob(job.job, { jobId: job.jobId }));
        await s.waitFor(Promise.all(deliveries));
        const final = await s.waitFor(w.runtimes[1]!.get('proc', id));
        expect(final.process_status).toBe('SUCCESS');
        expect([...w.runs.values()]).toEqual([1]);
        await assertLedgerSound(w, id);
      }),
      { numRuns: 150 },
    );
  });

  it('racing calls, duplicate deliveries, completions and forced resets keep the ledger sound', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom('call', 'deliver', 'reset', 'resetForce'), { minLength: 2, maxLength: 8 }), async (s, actions) => {
        const w = await world(s, 3);
        const id = 'p2';
        await s.waitFor(w.runtimes[0]!.create('proc', id));
        await s.waitFor(w.runtimes[0]!.call('proc', id, 'work'));
        const pending: Promise<unknown>[] = [];
        actions.forEach((action, index) => {
          const runtime = w.runtimes[index % w.runtimes.length] as ProcRuntime;
          switch (action) {
            case 'call':
              pending.push(runtime.call('proc', id, 'work').catch(() => undefined));
              break;
            case 'deliver': {
              const jobs = w.schedulers.flatMap((scheduler) => scheduler.jobs);
              const job = jobs[index % jobs.length];
              if (job !== undefined) pending.push(runtime.handleJob(job.job, { jobId: job.jobId }));
              break;
            }
            case 'reset':
            case 'resetForce':
              pending.push(runtime.reset('proc', id, { force: action === 'resetForce' }).catch(() => undefined));
              break;
          }
        });
        await s.waitFor(Promise.all(pending));
        // Let every job that was dispatched meanwhile be delivered twice, in parallel.
        const jobs = w.schedulers.flatMap((scheduler) => scheduler.jobs);
        await s.waitFor(Promise.all(jobs.flatMap((job) => [0, 1].map((n) => (w.runtimes[n] as ProcRuntime).handleJob(job.job, { jobId: job.jobId })))));
        await assertLedgerSound(w, id);
      }),
      { numRuns: 150 },
    );
  });
});
