/**
 * The proc machine: the six statuses and every allowed transition between them.
 *
 * Pure: no I/O, no delays, no invoked actors. The named actions (`dispatch`, `armTimeouts`,
 * `attemptJoin`, `notifyParent`) have no implementation here; XState's pure `transition()`
 * returns them, and the runtime executes them only after the transition's ledger record was
 * inserted. SUCCESS and FAILURE are completed but not final: a completed proc can be
 * processed again.
 */
import { assign, setup } from 'xstate';
import type { CurrentCall, ProcContext, ProcessCall, ProcRef } from './proc-context.js';
import type { ProcEvent } from './proc-events.js';
import { PROC_MACHINE_ID } from './machine-identity.js';
import { StatusMessages } from './status-messages.js';


/** Input of a new proc. */
export interface ProcMachineInput {
  /** The parent of a proc of a child kind. */
  readonly parent: ProcRef | null;
}

/** The context of a freshly created proc. */
export function createInitialContext(input: ProcMachineInput): ProcContext {
  return {
    current_process: null,
    current_process_step: null,
    last_status_message: null,
    errors: [],
    warnings: [],
    complete_time: null,
    worker_hostname: null,
    job_id: null,
    queue: [],
    call: null,
    run: null,
    parent: input.parent,
  };
}

type Ctx = ProcContext;

function asCurrent(call: ProcessCall, local: boolean, at: string): CurrentCall {
  return { ...call, local, pending_since: at };
}

function lastOf(items: readonly string[]): string {
  return items[items.length - 1] ?? 'unknown error';
}

/** The fields every way of ending a process in FAILURE writes. */
function failed(context: Ctx, errors: readonly string[], at: string, clearQueue: boolean): Partial<Ctx> {
  const kept = errors.length > 0 ? [...errors] : ['unknown error'];
  return {
    errors: kept,
    last_status_message: StatusMessages.failed(context.current_process, lastOf(kept)),
    complete_time: at,
    run: null,
    call: null,
    ...(clearQueue ? { queue: [] } : {}),
  };
}

/** The run an event names (events of a run carry `run_id`), if any. */
function runIdOf(event: ProcEvent): string | undefined {
  return (event as { readonly run_id?: string }).run_id;
}

/** The call an event names (a start or a dispatch failure carries `call_id`), if any. */
function callIdOf(event: ProcEvent): string | undefined {
  return (event as { readonly call_id?: string }).call_id;
}

/** The event names the run that holds the proc (an event naming no run never does). */
function holdsRun(context: Ctx, event: ProcEvent): boolean {
  const run = runIdOf(event);
  return run !== undefined && run === context.run?.id;
}

/** A failure of the current call hands over to the next queued one instead of clearing the queue. */
function keepsQueueOnFailure(context: Ctx): boolean {
  return context.queue.length > 0 && context.call !== null && !context.call.clear_queue_on_failure;
}

/** Fields for handing the next queued call over once the current process ended. */
function promoted(context: Ctx, at: string): Partial<Ctx> {
  const [next, ...rest] = context.queue;
  if (next === undefined) return {};
  return {
    current_process: next.process,
    last_status_message: StatusMessages.pending(next.process),
    call: asCurrent(next, false, at),
    queue: rest,
  };
}

/**
 * The proc machine. Its state value is the proc's `process_status`; its context holds the
 * rest of the Proc document's processing fields.
 *
 * @example
 * ```ts
 * import { initialTransition, transition } from 'xstate';
 * import { procMachine } from 'procstate/machines';
 *
 * const [ready] = initialTransition(procMachine, { parent: null });
 * const [pending, actions] = transition(procMachine, ready, {
 *   type: 'process.called',
 *   call: { id: 'c1', process: 'process_upload', args: '{}', blocking: false,
 *           clear_queue_on_failure: true, child: false, called_at: '2026-01-01T00:00:00.000Z' },
 *   at: '2026-01-01T00:00:00.000Z',
 * });
 * pending.value; // 'PENDING'
 * actions.map((a) => a.type); // ['dispatch']
 * ```
 */
export const procMachine = setup({
  types: {
    context: {} as ProcContext,
    events: {} as ProcEvent,
    input: {} as ProcMachineInput,
  },
  guards: {
    /** No blocking process is current or queued. */
    queueOpen: ({ context }) => !(context.call?.blocking ?? false) && !context.queue.some((call) => call.blocking),
    /** The event names the pending call. */
    isPendingCall: ({ context, event }) => {
      const call = callIdOf(event);
      return call !== undefined && call === context.call?.id;
    },
    /** The event names the run holding RUNNING. */
    isCurrentRun: ({ context, event }) => holdsRun(context, event),
    /** The run may still be asked to stop softly. */
    isCurrentRunNotSoftTimedOut: ({ context, event }) => holdsRun(context, event) && context.run?.soft_timeout_at === null,
    /** The current call runs on a worker, so it may wait for children. */
    isCurrentWorkerRun: ({ context, event }) => holdsRun(context, event) && context.call?.local !== true,
    /** A loss report that names no run/call, or names the current one. */
    targetsCurrent: ({ context, event }) =>
      event.type === 'worker.lost' &&
      (event.run_id === undefined || event.run_id === context.run?.id) &&
      (event.call_id === undefined || event.call_id === context.call?.id),
    /** Success of the current run with calls queued behind it. */
    currentRunWithQueue: ({ context, event }) => holdsRun(context, event) && context.queue.length > 0,
    /** Failure of the current run whose process keeps its queue on failure. */
    currentRunKeepsQueue: ({ context, event }) => holdsRun(context, event) && keepsQueueOnFailure(context),
    /** No child of this proc is processing any more. */
    noChildProcessing: ({ event }) => event.type === 'join.started' && event.processing_children === 0,
    /** Reset while processing needs force. */
    forced: ({ event }) => event.type === 'proc.reset' && event.force,
  },
  actions: {
    /** Hand the current call to the scheduler (runtime side effect). */
    dispatch: () => undefined,
    /** Schedule the run's soft and hard timeouts (runtime side effect). */
    armTimeouts: () => undefined,
    /** Try to join this proc's children (runtime side effect). */
    attemptJoin: () => undefined,
    /** Let the parent try to join (runtime side effect). */
    notifyParent: () => undefined,

    queueCall: assign({
      queue: ({ context, event }) => (event.type === 'process.called' ? [...context.queue, event.call] : context.queue),
    }),
    makePending: assign(({ event }) => {
      if (event.type !== 'process.called') return {};
      return {
        current_process: event.call.process,
        last_status_message: StatusMessages.pending(event.call.process),
        call: asCurrent(event.call, false, event.at),
      };
    }),
    startLocal: assign(({ event }) => {
      if (event.type !== 'process.called_locally') return {};
      return {
        current_process: event.call.process,
        current_process_step: null,
        last_status_message: StatusMessages.started(event.call.process),
        errors: [],
        warnings: [],
        worker_hostname: null,
        job_id: null,
        call: asCurrent(event.call, true, event.at),
        run: { id: event.run_id, started_at: event.at, lease_ms: event.lease_ms, join: false, soft_timeout_at: null },
      };
    }),
    startWorker: assign(({ context, event }) => {
      if (event.type !== 'worker.started') return {};
      return {
        current_process_step: null,
        last_status_message: StatusMessages.started(context.current_process ?? ''),
        errors: [],
        warnings: [],
        worker_hostname: event.worker,
        job_id: event.job_id,
        run: { id: event.run_id, started_at: event.at, lease_ms: event.lease_ms, join: false, soft_timeout_at: null },
      };
    }),
    startJoin: assign(({ event }) => {
      if (event.type !== 'join.started') return {};
      return {
        worker_hostname: event.worker,
        run: { id: event.run_id, started_at: event.at, lease_ms: event.lease_ms, join: true, soft_timeout_at: null },
      };
    }),
    recordProgress: assign(({ context, event }) => {
      if (event.type !== 'run.progressed' && event.type !== 'run.waiting') return {};
      const changes: { -readonly [K in keyof Ctx]?: Ctx[K] } = {};
      if (event.warnings.length > 0) changes.warnings = [...context.warnings, ...event.warnings];
      if (event.step !== undefined) {
        changes.current_process_step = event.step;
        changes.last_status_message = event.step;
      }
      if (event.message !== undefined) changes.last_status_message = event.message;
      return changes;
    }),
    markSoftTimeout: assign({
      run: ({ context, event }) =>
        context.run === null || event.type !== 'run.soft_timed_out'
          ? context.run
          : { ...context.run, soft_timeout_at: event.at },
    }),
    endRun: assign({ run: null }),
    succeed: assign(({ context, event }) => {
      if (event.type !== 'run.succeeded') return {};
      const warnings = [...context.warnings, ...event.warnings];
      return {
        warnings,
        last_status_message:
          warnings.length > 0
            ? StatusMessages.completedWithWarnings(context.current_process)
            : StatusMessages.completedSuccessfully(context.current_process),
        complete_time: event.at,
        run: null,
        call: null,
        ...promoted(context, event.at),
      };
    }),
    fail: assign(({ context, event }) => {
      if (event.type !== 'run.failed') return {};
      const keepQueue = keepsQueueOnFailure(context);
      return {
        warnings: [...context.warnings, ...event.warnings],
        ...failed(context, event.errors, event.at, !keepQueue),
        ...(keepQueue ? promoted(context, event.at) : {}),
      };
    }),
    failDispatch: assign(({ context, event }) =>
      event.type === 'dispatch.failed' ? failed(context, [event.error], event.at, true) : {},
    ),
    failLost: assign(({ context, event }) => {
      switch (event.type) {
        case 'worker.lost':
          return failed(context, [StatusMessages.workerLost(event.reason)], event.at, true);
        case 'run.timed_out':
          return failed(context, [StatusMessages.timeout], event.at, true);
        case 'run.stopped':
          return failed(context, [event.reason], event.at, true);
        default:
          return {};
      }
    }),
    reset: assign(({ context }) => ({
      ...createInitialContext({ parent: context.parent }),
      complete_time: context.complete_time,
    })),
  },
}).createMachine({
  id: PROC_MACHINE_ID,
  initial: 'READY',
  /**
   * A new proc's context: nothing called yet, and its parent. XState's pure `transition()`
   * builds a throwaway actor without input on every call; without the fallback that would
   * throw (and be caught by XState) once per transition.
   */
  context: ({ input }) => createInitialContext((input as ProcMachineInput | undefined) ?? { parent: null }),
  states: {
    READY: {
      entry: 'notifyParent',
      on: {
        'process.called': { target: 'PENDING', actions: 'makePending' },
        'process.called_locally': { target: 'RUNNING', actions: 'startLocal' },
        'proc.reset': { target: 'READY', reenter: false, actions: 'reset' },
      },
    },
    PENDING: {
      entry: 'dispatch',
      on: {
        'process.called': { guard: 'queueOpen', actions: 'queueCall' },
        'dispatch.failed': { guard: 'isPendingCall', target: 'FAILURE', actions: 'failDispatch' },
        'worker.started': { guard: 'isPendingCall', target: 'RUNNING', actions: 'startWorker' },
        'worker.lost': { guard: 'targetsCurrent', target: 'FAILURE', actions: 'failLost' },
        'run.stopped': { target: 'FAILURE', actions: 'failLost' },
        'proc.reset': { guard: 'forced', target: 'READY', actions: 'reset' },
      },
    },
    RUNNING: {
      entry: 'armTimeouts',
      on: {
        'process.called': { guard: 'queueOpen', actions: 'queueCall' },
        'run.progressed': { guard: 'isCurrentRun', actions: 'recordProgress' },
        'run.soft_timed_out': { guard: 'isCurrentRunNotSoftTimedOut', actions: 'markSoftTimeout' },
        'run.succeeded': [
          { guard: 'currentRunWithQueue', target: 'PENDING', actions: 'succeed' },
          { guard: 'isCurrentRun', target: 'SUCCESS', actions: 'succeed' },
        ],
        'run.waiting': {
          guard: 'isCurrentWorkerRun',
          target: 'WAITING_FOR_RESULT',
          actions: ['recordProgress', 'endRun'],
        },
        'run.failed': [
          { guard: 'currentRunKeepsQueue', target: 'PENDING', actions: 'fail' },
          { guard: 'isCurrentRun', target: 'FAILURE', actions: 'fail' },
        ],
        'worker.lost': { guard: 'targetsCurrent', target: 'FAILURE', actions: 'failLost' },
        'run.timed_out': { guard: 'isCurrentRun', target: 'FAILURE', actions: 'failLost' },
        'run.stopped': { target: 'FAILURE', actions: 'failLost' },
        'proc.reset': { guard: 'forced', target: 'READY', actions: 'reset' },
      },
    },
    WAITING_FOR_RESULT: {
      entry: 'attemptJoin',
      on: {
        'process.called': { guard: 'queueOpen', actions: 'queueCall' },
        'join.started': { guard: 'noChildProcessing', target: 'RUNNING', actions: 'startJoin' },
        'worker.lost': { guard: 'targetsCurrent', target: 'FAILURE', actions: 'failLost' },
        'run.stopped': { target: 'FAILURE', actions: 'failLost' },
        'proc.reset': { guard: 'forced', target: 'READY', actions: 'reset' },
      },
    },
    SUCCESS: {
      entry: 'notifyParent',
      on: {
        'process.called': { target: 'PENDING', actions: 'makePending' },
        'process.called_locally': { target: 'RUNNING', actions: 'startLocal' },
        'proc.reset': { target: 'READY', actions: 'reset' },
      },
    },
    FAILURE: {
      entry: 'notifyParent',
      on: {
        'process.called': { target: 'PENDING', actions: 'makePending' },
        'process.called_locally': { target: 'RUNNING', actions: 'startLocal' },
        'proc.reset': { target: 'READY', actions: 'reset' },
      },
    },
  },
});

/** The proc machine's type. */
export type ProcMachine = typeof procMachine;
