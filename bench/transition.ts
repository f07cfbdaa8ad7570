/**
 * The cost of one persisted transition against the floor of one round trip (a raw
 * `findOneAndUpdate` on the same collection) and against the two raw writes the ledger design
 * needs (an insert and an update), all on the same server in the same run.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { applyProcEvent, initialProcState, type ProcEvent, type ProcMachineState } from '../machines/index.js';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { ProcLedger, encodeProcFields, type StoredProc } from '../persistence/index.js';
import { median, type BenchResult } from './report.js';

const AT = new Date('2026-01-01T00:00:00.000Z').toISOString();

/** A RUNNING proc whose run records steps: the hot path of a worker. */
function running(): ProcMachineState {
  let state = initialProcState(null);
  const call = { id: 'c', process: 'process_entry', args: '{}', blocking: false, clear_queue_on_failure: true, child: false, called_at: AT };
  for (const event of [
    { type: 'process.called', call, at: AT },
    { type: 'worker.started', call_id: 'c', run_id: 'r', worker: 'bench', job_id: null, lease_ms: 60_000, at: AT },
  ] as ProcEvent[]) {
    const result = applyProcEvent(state, event);
    if (!result.accepted) throw new Error('setup failed');
    state = result.state;
  }
  return state;
}

export async function benchTransition(db: Db, iterations: number): Promise<BenchResult[]> {
  const store = new MongoProcStore({ db, kinds: { entry: 'entries' } });
  await store.ensureIndexes();
  const ledger = new ProcLedger(store);
  const documents = db.collection<{ _id: string }>('entries');
  const raw = db.collection<{ _id: string }>('raw_entries');
  const rawLedger = db.collection<{ _id: string; seq: number; snapshot: unknown }>('raw_entries_transitions');

  let proc: StoredProc = await ledger.create({ kind: 'entry', id: 'bench' }, running(), { at: new Date(), worker: 'bench' });
  const fields = encodeProcFields(proc.state, 1);
  await raw.insertOne({ _id: 'bench', ...fields });
  const timings = { procstate: [] as number[], findOneAndUpdate: [] as number[], twoWrites: [] as number[] };
  // Interleaved rounds, so that a slow moment of the machine hits all three alike.
  for (let round = 0; round < iterations; round += 1) {
    let start = performance.now();
    const result = applyProcEvent(proc.state, { type: 'run.progressed', run_id: 'r', step: `step ${round}`, warnings: [], at: new Date().toISOString() });
    if (!result.accepted) throw new Error('the step was rejected');
    proc = await ledger.append(proc, result.state, { cause: 'run.progressed', event: { step: `step ${round}` }, at: new Date(), worker: 'bench', runId: 'r' });
    timings.procstate.push(performance.now() - start);

    start = performance.now();
    await raw.findOneAndUpdate({ _id: 'bench' }, { $set: { current_process_step: `step ${round}`, last_status_message: `step ${round}` }, $inc: { sync_counter: 1 } });
    timings.findOneAndUpdate.push(performance.now() - start);

    start = performance.now();
    await rawLedger.insertOne({ _id: `bench/${round}/${randomUUID()}`, seq: round, snapshot: fields });
    await raw.updateOne({ _id: 'bench' }, { $set: { current_process_step: `step ${round}`, sync_counter: round } });
    timings.twoWrites.push(performance.now() - start);
  }
  if ((await documents.countDocuments({ _id: 'bench', sync_counter: proc.seq })) !== 1) throw new Error('the document did not follow the ledger');
  const ours = median(timings.procstate);
  return [
    {
      group: 'transition',
      name: 'persisted transition (median)',
      value: ours,
      unit: 'ms',
      baseline: median(timings.findOneAndUpdate),
      baselineName: 'one raw findOneAndUpdate',
      ratio: ours / median(timings.findOneAndUpdate),
      notes: `${iterations} rounds; the machine decides, the ledger insert wins, the document is copied`,
    },
    {
      group: 'transition',
      name: 'persisted transition (median)',
      value: ours,
      unit: 'ms',
      baseline: median(timings.twoWrites),
      baselineName: 'raw insertOne + updateOne',
      ratio: ours / median(timings.twoWrites),
    },
  ];
}
