import { describe, expect, it } from 'vitest';
import {
  applyProcEvent,
  PROC_EVENT_TYPES,
  PROCESS_STATUSES,
  StatusMessages,
  type ProcEvent,
  type ProcEventType,
  type ProcessStatus,
} from '../../../machines/index.js';
import { AT, callOf, events, representative, stateAfter } from '../../helpers/builders.js';

/** One well-formed event of each type, naming the representative call `call-1` and run `run-1`. */
function eventOf(type: ProcEventType): ProcEvent {
  switch (type) {
    case 'process.called':
      return { type, call: callOf({ id: 'call-2' }), at: AT };
    case 'process.called_locally':
      return { type, call: callOf({ id: 'call-2', blocking: true }), run_id: 'run-2', lease_ms: 1000, at: AT };
    case 'dispatch.failed':
      return { type, call_id: 'call-1', error: 'Error: broker down', at: AT };
    case 'worker.started':
      return { type, call_id: 'call-1', run_id: 'run-2', worker: 'w2', job_id: 'j2', lease_ms: 1000, at: AT };
    case 'run.progressed':
      return { type, run_id: 'run-1', step: 'Parsing', warnings: [], at: AT };
    case 'run.soft_timed_out':
      return { type, run_id: 'run-1', at: AT };
    case 'run.succeeded':
      return { type, run_id: 'run-1', warnings: [], at: AT };
    case 'run.waiting':
      return { type, run_id: 'run-1', warnings: [], at: AT };
    case 'run.failed':
      return { type, run_id: 'run-1', errors: ['Error: boom'], warnings: [], at: AT };
    case 'join.started':
      return { type, run_id: 'run-2', worker: 'w2', processing_children: 0, lease_ms: 1000, at: AT };
    case 'worker.lost':
      return { type, reason: 'killed', at: AT };
    case 'run.timed_out':
      return { type, run_id: 'run-1', at: AT };
    case 'run.stopped':
      return { type, reason: 'operator', at: AT };
    case 'proc.reset':
      return { type, force: true, at: AT };
  }
}

// The expected outcome of every (status, event) pair for the representative states, written
// out by hand from the reference table (not derived from the machine). `null` = rejected.
const EXPECTED: Record<ProcessStatus, Partial<Record<ProcEventType, ProcessStatus>>> = {
  READY: { 'process.called': 'PENDING', 'process.called_locally': 'RUNNING', 'proc.reset': 'READY' },
  PENDING: {
    'process.called': 'PENDING',
    'dispatch.failed': 'FAILURE',
    'worker.started': 'RUNNING',
    'worker.lost': 'FAILURE',
    'run.stopped': 'FAILURE',
    'proc.reset': 'READY',
  },
  RUNNING: {
    'process.called': 'RUNNING',
    'run.progressed': 'RUNNING',
    'run.soft_timed_out': 'RUNNING',
    'run.succeeded': 'SUCCESS',
    'run.waiting': 'WAITING_FOR_RESULT',
    'run.failed': 'FAILURE',
    'worker.lost': 'FAILURE',
    'run.timed_out': 'FAILURE',
    'run.stopped': 'FAILURE',
    'proc.reset': 'READY',
  },
  WAITING_FOR_RESULT: {
    'process.called': 'WAITING_FOR_RESULT',
    'join.started': 'RUNNING',
    'worker.lost': 'FAILURE',
    'run.stopped': 'FAILURE',
    'proc.reset': 'READY',
  },
  SUCCESS: { 'process.called': 'PENDING', 'process.called_locally': 'RUNNING', 'proc.reset': 'READY' },
  FAILURE: { 'process.called': 'PENDING', 'process.called_locally': 'RUNNING', 'proc.reset': 'READY' },
};

describe('proc machine: every (status, event) pair', () => {
  for (const status of PROCESS_STATUSES) {
    for (const type of PROC_EVENT_TYPES) {
      const expected = EXPECTED[status][type] ?? null;
      it(`${status} + ${type} → ${expected ?? 'rejected'}`, () => {
        const state = representative(status);
        const result = applyProcEvent(state, eventOf(type));
        expect(result.accepted ? result.to : null).toBe(expected);
        if (!result.accepted) expect(result.status).toBe(status);
      });
    }
  }
});

describe('proc machine: guards and effects', () => {
  it('queues a call behind a processing proc and refuses one behind a blocking process', () => {
    const running = representative('RUNNING');
    const queued = applyProcEvent(running, events.called('call-2'));
    expect(queued.accepted && queued.state.context.queue.map((call) => call.id)).toEqual(['call-2']);
    const blocking = stateAfter([events.called('call-3', { blocking: true })], running);
    const refused = applyProcEvent(blocking, events.called('call-4'));
    expect(refused).toMatchObject({ accepted: false, reason: 'blocked' });
    const blockedByCurrent = stateAfter([events.called('c', { blocking: true }), events.started('c', 'r')]);
    expect(applyProcEvent(blockedByCurrent, events.called('d'))).toMatchObject({ accepted: false, reason: 'blocked' });
  });

  it('refuses a duplicate start and a start for another call', () => {
    const running = representative('RUNNING');
    expect(applyProcEvent(running, events.started('call-1', 'run-9'))).toMatchObject({ accepted: false, reason: 'stale-call' });
    const pending = representative('PENDING');
    expect(applyProcEvent(pending, events.started('call-x', 'run-9'))).toMatchObject({ accepted: false, reason: 'stale-call' });
  });

  it('fences writes of a run that does not hold the proc', () => {
    const running = representative('RUNNING');
    for (const type of ['run.progressed', 'run.succeeded', 'run.failed', 'run.waiting', 'run.timed_out'] as const) {
      const event = { ...eventOf(type), run_id: 'run-other' } as ProcEvent;
      expect(applyProcEvent(running, event)).toMatchObject({ accepted: false, reason: 'stale-run' });
    }
    expect(applyProcEvent(running, { type: 'worker.lost', run_id: 'run-other', reason: 'x', at: AT })).toMatchObject({ accepted: false });
  });

  it('starts a worker with cleared errors and warnings and NOMAD texts', () => {
    const rerun = stateAfter([events.called('call-2'), events.started('call-2', 'run-2')], representative('FAILURE'));
    expect(rerun.status).toBe('RUNNING');
    expect(rerun.context.errors).toEqual([]);
    expect(rerun.context.last_status_message).toBe(StatusMessages.started('process_upload'));
    expect(rerun.context.worker_hostname).toBe('w1');
    expect(rerun.context.current_process_step).toBeNull();
  });

  it('completes with warnings, keeps the last step, and promotes a queued call instead of showing SUCCESS', () => {
    const running = stateAfter([{ type: 'run.progressed', run_id: 'run-1', step: 'Archiving', warnings: ['w'], at: AT }], representative('RUNNING'));
    const done = applyProcEvent(running, { type: 'run.succeeded', run_id: 'run-1', warnings: [], at: AT });
    expect(done.accepted && done.state.context).toMatchObject({
      last_status_message: 'Process process_upload completed with warnings',
      current_process_step: 'Archiving',
      complete_time: AT,
    });
    const withQueue = stateAfter([events.called('call-2', { process: 'publish' })], running);
    const promoted = applyProcEvent(withQueue, { type: 'run.succeeded', run_id: 'run-1', warnings: [], at: AT });
    expect(promoted.accepted && promoted.to).toBe('PENDING');
    expect(promoted.accepted && promoted.state.context).toMatchObject({ current_process: 'publish', last_status_message: 'Pending: publish', queue: [] });
    expect(promoted.accepted && promoted.actions).toContain('dispatch');
  });

  it('fails with the last error, clears the queue, or keeps it when the process says so', () => {
    const clearing = stateAfter([events.called('call-2')], representative('RUNNING'));
    const failed = applyProcEvent(clearing, { type: 'run.failed', run_id: 'run-1', errors: ['A: 1', 'B: 2'], warnings: [], at: AT });
    expect(failed.accepted && failed.to).toBe('FAILURE');
    expect(failed.accepted && failed.state.context).toMatchObject({ errors: ['A: 1', 'B: 2'], queue: [], last_status_message: 'Process process_upload failed: B: 2' });
    const keeping = stateAfter([
      events.called('k', { clear_queue_on_failure: false }),
      events.started('k', 'rk'),
      events.called('next'),
    ]);
    const kept = applyProcEvent(keeping, { type: 'run.failed', run_id: 'rk', errors: ['E: x'], warnings: [], at: AT });
    expect(kept.accepted && kept.to).toBe('PENDING');
    expect(kept.accepted && kept.state.context.call?.id).toBe('next');
  });

  it('joins only when no child is processing and never from a local run', () => {
    const waiting = representative('WAITING_FOR_RESULT');
    const busy = { ...(eventOf('join.started') as Extract<ProcEvent, { type: 'join.started' }>), processing_children: 3 };
    expect(applyProcEvent(waiting, busy)).toMatchObject({ accepted: false, reason: 'children-processing' });
    const local = stateAfter([{ type: 'process.called_locally', call: callOf({ id: 'l', blocking: true }), run_id: 'rl', lease_ms: 1000, at: AT }]);
    expect(applyProcEvent(local, { type: 'run.waiting', run_id: 'rl', warnings: [], at: AT }).accepted).toBe(false);
  });

  it('resets a processing proc only with force, and clears what NOMAD clears', () => {
    const running = representative('RUNNING');
    expect(applyProcEvent(running, { type: 'proc.reset', force: false, at: AT })).toMatchObject({ accepted: false, reason: 'processing' });
    const reset = applyProcEvent(running, { type: 'proc.reset', force: true, at: AT });
    expect(reset.accepted && reset.state.context).toMatchObject({ current_process: null, errors: [], warnings: [], queue: [], call: null, run: null });
  });

  it('reports worker loss with NOMAD text and asks the parent to join', () => {
    const child = stateAfter([events.called(), events.started()], { ...representative('READY'), context: { ...representative('READY').context, parent: { kind: 'upload', id: 'u' } } });
    const lost = applyProcEvent(child, { type: 'worker.lost', run_id: 'run-1', reason: 'SIGKILL', at: AT });
    expect(lost.accepted && lost.state.context.errors).toEqual(['process failed due to worker lost: SIGKILL']);
    expect(lost.accepted && lost.actions).toContain('notifyParent');
  });
});
