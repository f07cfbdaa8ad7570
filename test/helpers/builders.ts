/**
 * Test-data builders: calls, events and machine states with readable overrides.
 */
import type { ProcessCall, ProcMachineState, ProcEvent, ProcessStatus } from '../../machines/index.js';
import { applyProcEvent, initialProcState } from '../../machines/index.js';

export const AT = '2026-01-01T00:00:00.000Z';

export function callOf(overrides: Partial<ProcessCall> = {}): ProcessCall {
  return {
    id: 'call-1',
    process: 'process_upload',
    args: '{}',
    blocking: false,
    clear_queue_on_failure: true,
    child: false,
    called_at: AT,
    ...overrides,
  };
}

/** Applies events in order, failing loudly when one is rejected. */
export function stateAfter(events: readonly ProcEvent[], start: ProcMachineState = initialProcState(null)): ProcMachineState {
  let state = start;
  for (const event of events) {
    const result = applyProcEvent(state, event);
    if (!result.accepted) throw new Error(`${event.type} rejected in ${state.status}: ${result.reason}`);
    state = result.state;
  }
  return state;
}

const called = (id = 'call-1', overrides: Partial<ProcessCall> = {}): ProcEvent => ({ type: 'process.called', call: callOf({ id, ...overrides }), at: AT });
const started = (callId = 'call-1', runId = 'run-1'): ProcEvent => ({
  type: 'worker.started', call_id: callId, run_id: runId, worker: 'w1', job_id: 'job-1', lease_ms: 60_000, at: AT,
});

/** A representative state for each status: a current call `call-1`, a current run `run-1` when RUNNING. */
export function representative(status: ProcessStatus): ProcMachineState {
  switch (status) {
    case 'READY':
      return initialProcState(null);
    case 'PENDING':
      return stateAfter([called()]);
    case 'RUNNING':
      return stateAfter([called(), started()]);
    case 'WAITING_FOR_RESULT':
      return stateAfter([called(), started(), { type: 'run.waiting', run_id: 'run-1', warnings: [], at: AT }]);
    case 'SUCCESS':
      return stateAfter([called(), started(), { type: 'run.succeeded', run_id: 'run-1', warnings: [], at: AT }]);
    case 'FAILURE':
      return stateAfter([called(), started(), { type: 'run.failed', run_id: 'run-1', errors: ['Error: x'], warnings: [], at: AT }]);
  }
}

export const events = { called, started };
