/**
 * Many runtimes, each with its own connection-free store object over the same database, race
 * calls, duplicate deliveries and resets on the same procs. The server alone arbitrates.
 */
import { describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { ProcLedger } from '../../persistence/index.js';
import { createProcRuntime, defineKind, type ProcRuntime } from '../../src/index.js';
import { ControlledScheduler } from '../../src/testing/index.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const quiet = { warn: () => undefined, error: () => undefined };

describe('contention on a real MongoDB-protocol server', () => {
  it('exactly one writer wins each sequence number; ledgers have no gaps or duplicates; documents match their heads', async () => {
    const runs = new Map<string, number>();
    const kind = defineKind({
      name: 'proc',
      processes: {
        work: {
          run: async (ctx) => {
            const key = `${ctx.id}:${ctx.proc.seq}`;
            runs.set(key, (runs.get(key) ?? 0) + 1);
            await ctx.setStep('working');
          },
        },
      },
    });
    const runtimes: ProcRuntime[] = [];
    // One queue, eight workers on it: every job can be handed to all of them at once.
    const queue = new ControlledScheduler();
    for (let index = 0; index < 8; index += 1) {
      const scheduler = index === 0 ? queue : queue.worker();
      const store = new MongoProcStore({ db: database.db, kinds: { proc: 'contended' } });
      if (index === 0) await store.ensureIndexes();
      const runtime = createProcRuntime({ kinds: [kind], store, scheduler, worker: `w${index}`, sweepIntervalMs: 0, logger: quiet });
      await runtime.start();
      runtimes.push(runtime);
    }
    const ids = Array.from({ length: 6 }, (_, index) => `p${index}`);
    for (const id of ids) await (runtimes[0] as ProcRuntime).create('proc', id);

    for (let round = 0; round < 4; round += 1) {
      // Every runtime calls every proc at once; some reset it at the same time.
      await Promise.all(
        runtimes.flatMap((runtime, index) =>
          ids.map((id) => (round % 2 === 1 && index === 7 ? runtime.reset('proc', id, { force: true }) : runtime.call('proc', id, 'work')).catch(() => undefined)),
        ),
      );
      // Every dispatched job is delivered to every runtime at once.
      const jobs = queue.undelivered;
      await Promise.all(jobs.flatMap((job) => runtimes.map((_, worker) => queue.deliver(job, { worker }))));
    }
    // Drain whatever the last round promoted from the queues.
    for (let pass = 0; pass < 50; pass += 1) {
      const jobs = queue.undelivered;
      if (jobs.length === 0) break;
      await Promise.all(jobs.flatMap((job) => [0, 1, 2].map((worker) => queue.deliver(job, { worker }))));
    }

    const ledger = new ProcLedger(new MongoProcStore({ db: database.db, kinds: { proc: 'contended' } }));
    let transitions = 0;
    for (const id of ids) {
      const history = await ledger.history({ kind: 'proc', id });
      transitions += history.length;
      expect(history.map((record) => record.seq)).toEqual(history.map((_, index) => index + 1));
      const starts = history.filter((record) => record.cause === 'worker.started');
      const callIds = starts.map((record) => (record.event as { call_id: string }).call_id);
      expect(new Set(callIds).size).toBe(callIds.length);
      for (const start of starts) expect(runs.get(`${id}:${start.seq}`)).toBe(1);
      expect([...runs.keys()].filter((key) => key.startsWith(`${id}:`))).toHaveLength(starts.length);
      const loaded = await ledger.load({ kind: 'proc', id });
      const document = await database.db.collection('contended').findOne({ _id: id as never });
      expect(loaded?.seq).toBe(history.at(-1)?.seq);
      expect(document?.['sync_counter']).toBe(history.at(-1)?.seq);
      expect(document?.['process_status']).toBe(history.at(-1)?.to);
    }
    expect(transitions).toBeGreaterThan(ids.length * 8);
  });
});
