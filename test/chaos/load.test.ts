/**
 * Load: 16 runtimes, each with its own store object and scheduler, race calls, duplicate
 * deliveries, completions, failures and resets over the same procs on the real server. Then every
 * ledger is replayed through the machine: no invalid transition, no duplicate run, no gap.
 */
import { describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { createProcRuntime, defineKind, InProcessScheduler, replayLedger, type ProcessContext, type ProcRuntime } from '../../src/index.js';
import { useTestDatabase } from '../helpers/mongo.js';
import { record, scale } from './scale.js';

const database = useTestDatabase();
const RUNTIMES = 16;
const PROCS_PER_RUNTIME = scale(15, 200);
const ACTIONS_PER_RUNTIME = scale(60, 250);
// Half of all actions go to a hot set of procs, so that at full size (3,200 procs) the runtimes
// still race each other on the same procs, as they do over the small reduced set.
const HOT_PROCS = scale(30, 80);

describe('load', () => {
  it(`${RUNTIMES} runtimes × ${PROCS_PER_RUNTIME} procs: no invalid transition, no duplicate run, no gap`, async () => {
    const starts = new Map<string, number>();
    const counted = (ctx: ProcessContext) => {
      const key = `${ctx.id}#${ctx.proc.seq}`;
      starts.set(key, (starts.get(key) ?? 0) + 1);
    };
    const kind = defineKind({
      name: 'proc',
      processes: {
        work: {
          run: async (ctx) => {
            counted(ctx);
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
            if (Math.random() < 0.15) throw new Error('random failure');
            if (Math.random() < 0.3) await ctx.setStep('half way');
          },
        },
        blocking_work: {
          blocking: true,
          run: async (ctx) => {
            counted(ctx);
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
          },
        },
      },
    });
    const quiet = { warn: () => undefined, error: () => undefined };
    const runtimes: ProcRuntime[] = [];
    for (let index = 0; index < RUNTIMES; index += 1) {
      const store = new MongoProcStore({ db: database.db, kinds: { proc: 'procs' } });
      if (index === 0) await store.ensureIndexes();
      // Every job is delivered twice, at once, as Agenda does after a lock expiry.
      const scheduler = new InProcessScheduler({ concurrency: 4, redeliver: () => true });
      const runtime = createProcRuntime({ kinds: [kind], store, scheduler, worker: `r${index}`, sweepIntervalMs: 0, logger: quiet });
      await runtime.start();
      runtimes.push(runtime);
    }
    const ids = Array.from({ length: RUNTIMES * PROCS_PER_RUNTIME }, (_, index) => `p${index}`);
    await Promise.all(ids.map((id, index) => (runtimes[index % RUNTIMES] as ProcRuntime).create('proc', id)));

    const outcomes = { calls: 0, refused: 0, resets: 0, errors: [] as string[] };
    await Promise.all(
      runtimes.map(async (runtime) => {
        for (let action = 0; action < ACTIONS_PER_RUNTIME; action += 1) {
          const pool = Math.random() < 0.5 ? HOT_PROCS : ids.length;
          const id = ids[Math.floor(Math.random() * pool)] as string;
          const roll = Math.random();
          try {
            if (roll < 0.7) {
              await runtime.call('proc', id, roll < 0.1 ? 'blocking_work' : 'work');
              outcomes.calls += 1;
            } else {
              await runtime.reset('proc', id, { force: roll > 0.85 });
              outcomes.resets += 1;
            }
          } catch (error) {
            const name = (error as Error).name;
            if (name === 'ProcessAlreadyRunningError') outcomes.refused += 1;
            else outcomes.errors.push(`${name}: ${(error as Error).message}`);
          }
        }
      }),
    );
    for (const runtime of runtimes) await (runtime.scheduler as InProcessScheduler).onIdle();
    for (const runtime of runtimes) await runtime.close({ drainTimeoutMs: 10_000 });
    expect(outcomes.errors).toEqual([]);

    const store = new MongoProcStore({ db: database.db, kinds: { proc: 'procs' } });
    let transitions = 0;
    let runs = 0;
    for (const id of ids) {
      const history = await store.readTransitions({ kind: 'proc', id });
      transitions += history.length;
      expect(history.map((entry) => entry.seq)).toEqual(history.map((_, index) => index + 1));
      const replay = replayLedger('proc', id, history);
      const invalid = replay.filter((entry) => entry.type === '@xstate.snapshot' && !entry.consistent);
      expect(invalid).toEqual([]);
      const started = history.filter((entry) => entry.cause === 'worker.started');
      const callIds = started.map((entry) => (entry.event as { call_id: string }).call_id);
      expect(new Set(callIds).size).toBe(callIds.length);
      for (const start of started) expect(starts.get(`${id}#${start.seq}`)).toBe(1);
      runs += started.length;
      const document = await database.db.collection('procs').findOne({ _id: id as never });
      expect(document?.['sync_counter']).toBe(history.at(-1)?.seq);
      // Every call was run or refused and every runtime drained: nothing may be left processing.
      expect(['READY', 'SUCCESS', 'FAILURE']).toContain(document?.['process_status']);
    }
    expect([...starts.values()].every((count) => count === 1)).toBe(true);
    expect(starts.size).toBe(runs);
    record('load', { runtimes: RUNTIMES, procs: ids.length, hotProcs: HOT_PROCS, actions: RUNTIMES * ACTIONS_PER_RUNTIME, deliveriesPerJob: 2, calls: outcomes.calls, refusedBlocked: outcomes.refused, resets: outcomes.resets, transitions, runs, duplicateRuns: 0, invalidTransitions: 0, gaps: 0 });
  }, 1_800_000);
});
