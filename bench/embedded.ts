/**
 * The embedded store: transitions per second through the ledger on the in-memory store, against
 * XState's own pure `transition()` on the same machine with the same events.
 */
import { transition } from 'xstate';
import { applyProcEvent, initialProcState, procMachine, type ProcEvent, type ProcMachineState } from '../machines/index.js';
import { MemoryProcStore, ProcLedger, type StoredProc } from '../persistence/index.js';
import type { BenchResult } from './report.js';

/** One process's life: called, started, three steps, succeeded. */
function lifecycle(round: number): Array<(state: ProcMachineState) => ProcEvent> {
  const at = new Date(1_700_000_000_000 + round).toISOString();
  const call = { id: `c${round}`, process: 'p', args: '{}', blocking: false, clear_queue_on_failure: true, child: false, called_at: at };
  return [
    () => ({ type: 'process.called', call, at }),
    () => ({ type: 'worker.started', call_id: `c${round}`, run_id: `r${round}`, worker: 'w', job_id: null, lease_ms: 60_000, at }),
    ...[1, 2, 3].map((step) => () => ({ type: 'run.progressed', run_id: `r${round}`, step: `step ${step}`, warnings: [], at }) as ProcEvent),
    () => ({ type: 'run.succeeded', run_id: `r${round}`, warnings: [], at }),
  ];
}

export async function benchEmbedded(rounds: number): Promise<BenchResult[]> {
  // XState alone: the pure transition, no persistence.
  let snapshot = procMachine.resolveState({ value: 'READY', context: initialProcState(null).context });
  let start = performance.now();
  let pure = 0;
  for (let round = 0; round < rounds; round += 1) {
    for (const make of lifecycle(round)) {
      const state = { status: snapshot.value, context: snapshot.context };
      [snapshot] = transition(procMachine, snapshot, make(state));
      pure += 1;
    }
  }
  const pureRate = pure / ((performance.now() - start) / 1000);

  // procstate: the machine decides, the ledger records, the document is copied.
  const ledger = new ProcLedger(new MemoryProcStore());
  let proc: StoredProc = await ledger.create({ kind: 'job', id: 'j' }, initialProcState(null), { at: new Date(), worker: 'bench' });
  start = performance.now();
  let recorded = 0;
  for (let round = 0; round < rounds; round += 1) {
    for (const make of lifecycle(round)) {
      const event = make(proc.state);
      const result = applyProcEvent(proc.state, event);
      if (!result.accepted) throw new Error(`${event.type} rejected`);
      proc = await ledger.append(proc, result.state, { cause: event.type, event: null, at: new Date(), worker: 'bench', runId: null });
      recorded += 1;
    }
  }
  const rate = recorded / ((performance.now() - start) / 1000);
  return [
    {
      group: 'embedded',
      name: 'recorded transitions on the in-memory store',
      value: rate,
      unit: 'transitions/s',
      baseline: pureRate,
      baselineName: "XState's pure transition(), same machine and events",
      ratio: rate / pureRate,
      notes: `${recorded} transitions; each is applyProcEvent + a ledger record + a document copy (frozen, not cloned)`,
    },
  ];
}
