/**
 * Properties of the pure machine over random event sequences: the status never leaves the six,
 * applying an event is pure, agrees with XState's own `transition()`, and a persisted snapshot
 * (the one the ledger stores) is XState's own and survives a JSON round trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  applyProcEvent,
  initialProcState,
  isProcessStatus,
  persistedSnapshotOf,
  procMachine,
  type ProcEvent,
  type ProcMachineState,
} from '../../machines/index.js';
import { AT, callOf } from '../helpers/builders.js';

/** Random events whose ids sometimes match the current call/run and sometimes do not. */
function eventArbitrary(): fc.Arbitrary<(state: ProcMachineState) => ProcEvent> {
  return fc.oneof(
    fc.record({ n: fc.nat(), blocking: fc.boolean(), clear: fc.boolean() }).map(({ n, blocking, clear }) => () => ({
      type: 'process.called' as const,
      call: callOf({ id: `c${n}`, blocking, clear_queue_on_failure: clear }),
      at: AT,
    })),
    fc.nat().map((n) => () => ({ type: 'process.called_locally' as const, call: callOf({ id: `l${n}`, blocking: true }), run_id: `lr${n}`, lease_ms: 1000, at: AT })),
    fc.tuple(fc.boolean(), fc.nat()).map(([matches, n]) => (state: ProcMachineState) => ({
      type: 'worker.started' as const,
      call_id: matches ? (state.context.call?.id ?? 'none') : 'stale',
      run_id: `r${n}`,
      worker: 'w',
      job_id: null,
      lease_ms: 1000,
      at: AT,
    })),
    fc.constantFrom('run.succeeded', 'run.waiting', 'run.failed', 'run.progressed', 'run.timed_out', 'run.soft_timed_out').chain((type) =>
      fc.boolean().map((matches) => (state: ProcMachineState) => {
        const run_id = matches ? (state.context.run?.id ?? 'none') : 'stale';
        switch (type) {
          case 'run.failed':
            return { type, run_id, errors: ['E: x'], warnings: [], at: AT };
          case 'run.progressed':
            return { type, run_id, step: 'step', warnings: ['w'], at: AT };
          case 'run.succeeded':
          case 'run.waiting':
            return { type, run_id, warnings: [], at: AT };
          default:
            return { type: type as 'run.timed_out', run_id, at: AT };
        }
      }),
    ),
    fc.nat({ max: 2 }).map((processing) => () => ({ type: 'join.started' as const, run_id: 'j', worker: 'w', processing_children: processing, lease_ms: 1000, at: AT })),
    fc.constant(() => ({ type: 'worker.lost' as const, reason: 'gone', at: AT })),
    fc.constant(() => ({ type: 'run.stopped' as const, reason: 'operator', at: AT })),
    fc.boolean().map((force) => () => ({ type: 'proc.reset' as const, force, at: AT })),
    fc.boolean().map((matches) => (state: ProcMachineState) => ({ type: 'dispatch.failed' as const, call_id: matches ? (state.context.call?.id ?? 'none') : 'stale', error: 'E', at: AT })),
  );
}

describe('the initial state', () => {
  it("is XState's own initial state, for any parent", () => {
    fc.assert(
      fc.property(fc.option(fc.record({ kind: fc.constantFrom('upload', 'entry'), id: fc.string({ minLength: 1 }) }), { nil: null }), (parent) => {
        const [snapshot] = initialTransition(procMachine, { parent });
        expect(initialProcState(parent)).toEqual({ status: snapshot.value, context: snapshot.context });
      }),
    );
  });
});

describe('the machine over random event sequences', () => {
  it('stays within the six statuses, is pure, and round-trips through JSON', () => {
    fc.assert(
      fc.property(fc.array(eventArbitrary(), { maxLength: 60 }), (makers) => {
        let state = initialProcState(null);
        for (const make of makers) {
          const event = make(state);
          const first = applyProcEvent(state, event);
          const second = applyProcEvent(state, event);
          expect(second).toEqual(first);
          // The same answer as XState's own transition(), which builds a fresh actor per call.
          const snapshot = procMachine.resolveState({ value: state.status, context: state.context });
          const [theirs, theirActions] = transition(procMachine, snapshot, event);
          if (!first.accepted) {
            expect(snapshot.can(event)).toBe(false);
            expect({ status: theirs.value, context: theirs.context }).toEqual(state);
            continue;
          }
          expect(first.state).toEqual({ status: theirs.value, context: theirs.context });
          expect(first.actions).toEqual(theirActions.map((action) => action.type).filter((type) => ['dispatch', 'armTimeouts', 'attemptJoin', 'notifyParent'].includes(type)));
          expect(isProcessStatus(first.to)).toBe(true);
          // RUNNING holds a run; nothing else does.
          expect(first.state.context.run !== null).toBe(first.to === 'RUNNING');
          // The stored snapshot is XState's persisted snapshot of that state.
          expect(persistedSnapshotOf(first.state)).toEqual(procMachine.getPersistedSnapshot(theirs));
          const persisted = JSON.parse(JSON.stringify(persistedSnapshotOf(first.state)));
          const restored = procMachine.resolveState({ value: persisted.value, context: persisted.context });
          expect({ status: restored.value, context: restored.context }).toEqual(first.state);
          state = first.state;
        }
      }),
      { numRuns: 400 },
    );
  });
});
