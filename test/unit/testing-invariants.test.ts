/**
 * The invariant checks of `procstate/testing` can fail: each broken guarantee, planted in what
 * a real run left in the store, is named.
 */
import { describe, expect, it } from 'vitest';
import { MemoryProcStore } from '../../persistence/index.js';
import type { TransitionRecord } from '../../persistence/index.js';
import { createProcRuntime, defineKind, ProcessResult } from '../../src/index.js';
import { ControlledScheduler, readProcs, startKey, violationsOf, type ProcView } from '../../src/testing/index.js';

const entry = defineKind({ name: 'entry', parent: { kind: 'upload', key: 'upload_id' }, processes: { process_entry: { child: true, run: () => undefined } } });
const upload = defineKind({
  name: 'upload',
  processes: {
    process_upload: {
      run: async (ctx) => {
        await ctx.startChildren('entry', [{ id: 'e1', process: 'process_entry' }]);
        return ProcessResult.WAITING_FOR_RESULT;
      },
    },
  },
  join: () => undefined,
});
const kinds = [upload, entry];

/** A real upload with one entry, run to SUCCESS: what the store holds, and which starts ran. */
async function finished(): Promise<{ procs: ProcView[]; invocations: Map<string, number> }> {
  const store = new MemoryProcStore();
  const scheduler = new ControlledScheduler();
  const runtime = createProcRuntime({ kinds, store, scheduler, sweepIntervalMs: 0 });
  await runtime.start();
  await runtime.create('upload', 'u1');
  await runtime.call('upload', 'u1', 'process_upload');
  await scheduler.deliverAll();
  await runtime.close({ drainTimeoutMs: 0 });
  const procs = await readProcs(store, kinds);
  const invocations = new Map<string, number>();
  for (const view of procs) {
    for (const record of view.history) if (record.cause === 'worker.started' || record.cause === 'join.started') invocations.set(startKey(view.kind, view.id, record.seq), 1);
  }
  return { procs, invocations };
}

const replace = (procs: ProcView[], kind: string, change: (view: ProcView) => ProcView) => procs.map((view) => (view.kind === kind ? change(view) : view));

describe('the invariants of procstate/testing', () => {
  it('hold for a run that went right', async () => {
    const { procs, invocations } = await finished();
    expect(procs.find((view) => view.kind === 'upload')?.document?.['process_status']).toBe('SUCCESS');
    expect(violationsOf(procs, { kinds, invocations, settled: true })).toEqual([]);
  });

  it('name a gap in a ledger', async () => {
    const { procs } = await finished();
    const gapped = replace(procs, 'entry', (view) => ({ ...view, history: view.history.filter((record) => record.seq !== 2) }));
    expect(violationsOf(gapped, { kinds, settled: false })).toContainEqual(expect.stringMatching(/^entry "e1": its ledger has a gap/));
  });

  it('name a record the machine would not make', async () => {
    const { procs } = await finished();
    const forged = replace(procs, 'entry', (view) => ({
      ...view,
      // The start's record, claiming the proc went straight to SUCCESS.
      history: view.history.map((record): TransitionRecord => (record.cause === 'worker.started' ? { ...record, snapshot: (view.history.at(-1) as TransitionRecord).snapshot } : record)),
    }));
    expect(violationsOf(forged, { kinds, settled: false })).toContainEqual(expect.stringMatching(/^entry "e1": record \d+ is not a transition the machine makes/));
  });

  it('name a function run twice for one start, and one run with no start', async () => {
    const { procs, invocations } = await finished();
    const [first] = invocations.keys();
    invocations.set(first as string, 2);
    invocations.set(startKey('entry', 'e1', 1), 1);
    const violations = violationsOf(procs, { kinds, invocations, settled: false });
    expect(violations).toContain(`${first as string}: the function of one start ran 2 times`);
    expect(violations).toContain('entry/e1@1: a function ran with no start recorded at that record');
  });

  it('name a start whose function never ran, once settled', async () => {
    const { procs, invocations } = await finished();
    const [first] = invocations.keys();
    invocations.delete(first as string);
    expect(violationsOf(procs, { kinds, invocations, settled: false })).toEqual([]);
    expect(violationsOf(procs, { kinds, invocations, settled: true })).toContainEqual(expect.stringMatching(/started a run whose function never ran$/));
  });

  it('name a wait joined twice, a join that succeeded before its child ended, and a proc left processing', async () => {
    const { procs } = await finished();
    const joinedTwice = replace(procs, 'upload', (view) => {
      const join = view.history.find((record) => record.cause === 'join.started') as TransitionRecord;
      return { ...view, history: [...view.history, { ...join, seq: view.history.length + 1 }] };
    });
    expect(violationsOf(joinedTwice, { kinds, settled: false })).toContainEqual(expect.stringMatching(/^upload "u1": joined twice for one wait/));
    const childRunning = replace(procs, 'entry', (view) => ({ ...view, document: { ...view.document, _id: view.id, process_status: 'RUNNING' } }));
    const violations = violationsOf(childRunning, { kinds, settled: true });
    expect(violations).toContain('upload "u1" is SUCCESS after its join while 1 of its children is still processing (entry "e1")');
    expect(violations).toContain('entry "e1" is still RUNNING with nothing left to deliver and every lease expired');
    expect(violationsOf(childRunning, { kinds, settled: false, detachedChildren: true })).toEqual([]);
  });

  it('name a document behind its ledger at once, or once settled when a crashed worker wrote it last', async () => {
    const { procs } = await finished();
    const behind = replace(procs, 'entry', (view) => ({ ...view, document: { ...view.document, _id: view.id, sync_counter: 1 } }));
    const message = expect.stringMatching(/^entry "e1": its document is at record 1, its ledger at \d+$/);
    expect(violationsOf(behind, { kinds, settled: false })).toContainEqual(message);
    const writer = procs.find((view) => view.kind === 'entry')?.history.at(-1)?.worker as string;
    expect(violationsOf(behind, { kinds, settled: false, crashedWorkers: new Set([writer]) })).toEqual([]);
    expect(violationsOf(behind, { kinds, settled: true, crashedWorkers: new Set([writer]) })).toContainEqual(message);
  });
});
