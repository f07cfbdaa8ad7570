/**
 * The machine's rules that mutation testing found unguarded (docs/reliability.md, "Mutation
 * testing"): each case here fails when one rule is broken — a stale run's failure or soft timeout
 * accepted, a queue kept where it must be cleared (or cleared where it must be kept), errors and
 * warnings not cleared when a process starts, warnings lost on failure, a rejection explained by
 * the wrong reason, a new run marked as a join.
 */
import { describe, expect, it } from 'vitest';
import { applyProcEvent, type ProcEvent, type ProcMachineState, type ProcTransitionResult } from '../../../machines/index.js';
import { AT, callOf, events, representative, stateAfter } from '../../helpers/builders.js';

const failedRun = (runId: string, errors = ['E: x'], warnings: string[] = []): ProcEvent => ({ type: 'run.failed', run_id: runId, errors, warnings, at: AT });

function accepted(result: ProcTransitionResult): Extract<ProcTransitionResult, { accepted: true }> {
  if (!result.accepted) throw new Error(`rejected: ${result.reason}`);
  return result;
}

/** RUNNING `k` (run `rk`) with `next` queued behind it; `k` keeps or clears the queue on failure. */
function runningWithQueue(clearQueueOnFailure: boolean): ProcMachineState {
  return stateAfter([events.called('k', { clear_queue_on_failure: clearQueueOnFailure }), events.started('k', 'rk'), events.called('next')]);
}

describe('a failed run and the queue behind it', () => {
  it("keeps the queue only when the current run's process says so, and there is a queue", () => {
    const kept = accepted(applyProcEvent(runningWithQueue(false), failedRun('rk')));
    expect(kept.to).toBe('PENDING');
    expect(kept.state.context.call?.id).toBe('next');
    expect(kept.state.context.queue).toEqual([]);

    const cleared = accepted(applyProcEvent(runningWithQueue(true), failedRun('rk')));
    expect(cleared.to).toBe('FAILURE');
    expect(cleared.state.context.call).toBeNull();
    expect(cleared.state.context.queue).toEqual([]);

    // Keeping with nothing queued is an ordinary failure.
    const alone = stateAfter([events.called('k', { clear_queue_on_failure: false }), events.started('k', 'rk')]);
    const failed = accepted(applyProcEvent(alone, failedRun('rk')));
    expect(failed.to).toBe('FAILURE');
    expect(failed.state.context.call).toBeNull();
  });

  it("refuses a stale run's failure whatever the queue, so that it moves nothing to PENDING", () => {
    for (const clear of [false, true]) {
      const state = runningWithQueue(clear);
      expect(applyProcEvent(state, failedRun('stale'))).toEqual({ accepted: false, status: 'RUNNING', reason: 'stale-run' });
      expect(applyProcEvent(state, { type: 'run.succeeded', run_id: 'stale', warnings: [], at: AT })).toEqual({ accepted: false, status: 'RUNNING', reason: 'stale-run' });
    }
  });

  it.each<[string, (state: ProcMachineState) => ProcEvent]>([
    ['a lost worker', () => ({ type: 'worker.lost', run_id: 'rk', reason: 'SIGKILL', at: AT })],
    ['a hard timeout', () => ({ type: 'run.timed_out', run_id: 'rk', at: AT })],
    ['a stop', () => ({ type: 'run.stopped', reason: 'operator', at: AT })],
  ])('clears the queue on %s, even for a process that keeps it on failure', (_ending, event) => {
    const state = runningWithQueue(false);
    const ended = accepted(applyProcEvent(state, event(state)));
    expect(ended.to).toBe('FAILURE');
    expect(ended.state.context.queue).toEqual([]);
    expect(ended.state.context.call).toBeNull();
  });

  it('clears the queue when dispatching the pending call failed', () => {
    const pending = stateAfter([events.called('k', { clear_queue_on_failure: false }), events.started('k', 'rk'), events.called('next'), failedRun('rk'), events.called('third')]);
    expect(pending.status).toBe('PENDING');
    expect(pending.context.queue.map((call) => call.id)).toEqual(['third']);
    const failed = accepted(applyProcEvent(pending, { type: 'dispatch.failed', call_id: 'next', error: 'Error: broker down', at: AT }));
    expect(failed.to).toBe('FAILURE');
    expect(failed.state.context.queue).toEqual([]);
    expect(failed.state.context.errors).toEqual(['Error: broker down']);
  });

  it('keeps the warnings recorded before the failure and adds those the failure reports, in order', () => {
    const warned = stateAfter([{ type: 'run.progressed', run_id: 'run-1', warnings: ['early'], at: AT }], representative('RUNNING'));
    const failed = accepted(applyProcEvent(warned, failedRun('run-1', ['E: x'], ['late'])));
    expect(failed.state.context.warnings).toEqual(['early', 'late']);
    expect(failed.state.context.errors).toEqual(['E: x']);
  });
});

describe('soft timeouts', () => {
  it("accept the current run's first soft timeout only: not a stale run's, not a second", () => {
    const running = representative('RUNNING');
    expect(applyProcEvent(running, { type: 'run.soft_timed_out', run_id: 'stale', at: AT })).toEqual({ accepted: false, status: 'RUNNING', reason: 'stale-run' });
    const soft = accepted(applyProcEvent(running, { type: 'run.soft_timed_out', run_id: 'run-1', at: AT }));
    expect(soft.state.context.run?.soft_timeout_at).toBe(AT);
    expect(applyProcEvent(soft.state, { type: 'run.soft_timed_out', run_id: 'run-1', at: AT })).toEqual({ accepted: false, status: 'RUNNING', reason: 'stale-run' });
  });
});

describe('starting a process', () => {
  /** FAILURE with errors and warnings from the last run. */
  const failedBefore = stateAfter([{ type: 'run.progressed', run_id: 'run-1', warnings: ['old warning'], at: AT }, failedRun('run-1', ['Old: error'])], representative('RUNNING'));

  it('on a worker clears the errors and warnings of the last run, and starts a run that is not a join', () => {
    expect(failedBefore.context.errors).toEqual(['Old: error']);
    expect(failedBefore.context.warnings).toEqual(['old warning']);
    const started = stateAfter([events.called('call-2'), events.started('call-2', 'run-2')], failedBefore);
    expect(started.context.errors).toEqual([]);
    expect(started.context.warnings).toEqual([]);
    expect(started.context.run).toEqual({ id: 'run-2', started_at: AT, lease_ms: 60_000, join: false, soft_timeout_at: null });
  });

  it('locally does the same', () => {
    const local = accepted(applyProcEvent(failedBefore, { type: 'process.called_locally', call: callOf({ id: 'l' }), run_id: 'rl', lease_ms: 5_000, at: AT }));
    expect(local.state.context.errors).toEqual([]);
    expect(local.state.context.warnings).toEqual([]);
    expect(local.state.context.run).toEqual({ id: 'rl', started_at: AT, lease_ms: 5_000, join: false, soft_timeout_at: null });
  });

  it('a join is a run marked as one', () => {
    const joined = accepted(applyProcEvent(representative('WAITING_FOR_RESULT'), { type: 'join.started', run_id: 'rj', worker: 'w2', processing_children: 0, lease_ms: 1_000, at: AT }));
    expect(joined.state.context.run).toEqual({ id: 'rj', started_at: AT, lease_ms: 1_000, join: true, soft_timeout_at: null });
  });
});

describe('why an event is refused', () => {
  it.each<[string, () => ProcMachineState, ProcEvent, string]>([
    ['a call behind a blocking process', () => stateAfter([events.called('b', { blocking: true })]), events.called('c'), 'blocked'],
    ['a local call on a processing proc', () => representative('RUNNING'), { type: 'process.called_locally', call: callOf({ id: 'l' }), run_id: 'rl', lease_ms: 1, at: AT }, 'processing'],
    ['an unforced reset of a processing proc', () => representative('PENDING'), { type: 'proc.reset', force: false, at: AT }, 'processing'],
    ['a start of another call', () => representative('PENDING'), events.started('other', 'r'), 'stale-call'],
    ['a dispatch failure of another call', () => representative('PENDING'), { type: 'dispatch.failed', call_id: 'other', error: 'x', at: AT }, 'stale-call'],
    ['a join while children process', () => representative('WAITING_FOR_RESULT'), { type: 'join.started', run_id: 'rj', worker: 'w', processing_children: 1, lease_ms: 1, at: AT }, 'children-processing'],
    ['a join of a proc that is not waiting', () => representative('RUNNING'), { type: 'join.started', run_id: 'rj', worker: 'w', processing_children: 0, lease_ms: 1, at: AT }, 'not-accepted'],
    ['a lost worker naming another run', () => representative('RUNNING'), { type: 'worker.lost', run_id: 'other', reason: 'x', at: AT }, 'stale-run'],
    ['a lost worker naming another call', () => representative('PENDING'), { type: 'worker.lost', call_id: 'other', reason: 'x', at: AT }, 'stale-call'],
    ['a lost worker of a proc that is not processing', () => representative('SUCCESS'), { type: 'worker.lost', run_id: 'run-1', reason: 'x', at: AT }, 'not-accepted'],
    ['progress of a proc that has no run', () => representative('PENDING'), { type: 'run.progressed', run_id: 'run-1', warnings: [], at: AT }, 'stale-run'],
    ['a stop of a proc that is not processing', () => representative('READY'), { type: 'run.stopped', reason: 'x', at: AT }, 'not-accepted'],
  ])('%s: %s', (_what, state, event, reason) => {
    expect(applyProcEvent(state(), event)).toEqual({ accepted: false, status: state().status, reason });
  });
});
