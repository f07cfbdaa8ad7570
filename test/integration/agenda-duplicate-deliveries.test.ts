/**
 * Several workers taking the same jobs, with each way of locking them forced on whatever server
 * the tests run on. Agenda's own lock (`atomicFindAndModify: true`) is atomic on MongoDB; on
 * FerretDB 1.x it is a read and a write, so some jobs are delivered to two workers. Either way
 * the ledger decides each start: every call starts and runs exactly once, and every extra
 * delivery is a start the ledger refused (`procstate.starts.refused`); the count of duplicates is
 * printed, not asserted (it depends on timing). Claims (`atomicFindAndModify: false`) lock each
 * job generation once on any server: no job is delivered twice.
 */
import { describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { AgendaScheduler } from '../../src/agenda/index.js';
import { createProcRuntime, defineKind, type ProcRuntime } from '../../src/index.js';
import { unique } from '../contract/runtime-scenarios.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const quiet = { warn: () => undefined, error: () => undefined };
const WORKERS = 4;
const CALLS = 120;

describe('several workers on one jobs collection', () => {
  it.each([
    { lock: "Agenda's own lock", atomicFindAndModify: true },
    { lock: 'claims', atomicFindAndModify: false },
  ])('$lock: every call starts and runs once, every duplicate delivery is a start the ledger refused', async ({ lock, atomicFindAndModify }) => {
    const suffix = unique('dup').replaceAll('-', '_');
    const ran = new Map<string, number>();
    const entry = defineKind({
      name: 'entry',
      processes: { work: { run: async (ctx) => void ran.set(ctx.id, (ran.get(ctx.id) ?? 0) + 1) } },
    });
    const store = () => new MongoProcStore({ db: database.db, kinds: { entry: `entries_${suffix}` }, leaseCollection: `leases_${suffix}` });
    await store().ensureIndexes();

    // Deliveries counted by job id across all workers, from Agenda's own `start` events.
    const deliveries = new Map<string, number>();
    const workers: Array<{ runtime: ProcRuntime; scheduler: AgendaScheduler }> = [];
    for (let index = 0; index < WORKERS; index += 1) {
      const scheduler = new AgendaScheduler({
        db: database.db,
        collection: `jobs_${suffix}`,
        name: `worker-${index}`,
        concurrency: 4,
        pollMs: 100,
        capabilities: { atomicFindAndModify },
        logger: quiet,
      });
      const runtime = createProcRuntime({ kinds: [entry], store: store(), scheduler, sweepIntervalMs: 0, dispatchBatchSize: 1, logger: quiet, worker: `worker-${index}` });
      await runtime.start();
      scheduler.agenda?.on('start', (job: { attrs: { _id?: unknown } }) => {
        const id = String(job.attrs._id);
        deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      });
      workers.push({ runtime, scheduler });
    }
    try {
      // A producer that only writes jobs: every worker polls the same collection for them.
      const producer = createProcRuntime({
        kinds: [entry],
        store: store(),
        scheduler: new AgendaScheduler({ db: database.db, collection: `jobs_${suffix}`, work: false, capabilities: { atomicFindAndModify }, logger: quiet }),
        sweepIntervalMs: 0,
        dispatchBatchSize: 1,
        logger: quiet,
      });
      await producer.start();
      const ids = Array.from({ length: CALLS }, (_, index) => `e${index}`);
      await producer.createMany('entry', ids.map((id) => ({ id })));
      await producer.callMany('entry', ids.map((id) => ({ id, process: 'work' })));
      for (const id of ids) expect((await producer.waitForCompletion('entry', id, { timeoutMs: 120_000 })).process_status).toBe('SUCCESS');
      await producer.close();
      for (const { runtime } of workers) await runtime.close({ drainTimeoutMs: 10_000 });

      // Exactly-once starts: one run per call, one accepted start in each ledger.
      expect(ids.map((id) => ran.get(id))).toEqual(ids.map(() => 1));
      for (const id of ids) {
        const starts = (await producer.history('entry', id)).filter((record) => record.cause === 'worker.started');
        expect(starts).toHaveLength(1);
      }
      const delivered = [...deliveries.values()].reduce((total, count) => total + count, 0);
      expect(deliveries.size).toBe(CALLS);
      let refused = 0;
      for (const { runtime } of workers) {
        for (const family of runtime.metrics()) if (family.type === 'counter' && family.name === 'procstate.starts.refused') for (const point of family.points) refused += point.value;
      }
      expect(refused).toBe(delivered - CALLS);
      // Claims decide each lock generation by one insert, on any server.
      if (!atomicFindAndModify) expect(delivered).toBe(CALLS);
      console.info(`${lock}: ${CALLS} jobs, ${delivered} deliveries, ${delivered - CALLS} duplicates refused by the ledger`);
    } finally {
      for (const { runtime } of workers) await runtime.close({ drainTimeoutMs: 1_000 }).catch(() => undefined);
    }
  });
});
