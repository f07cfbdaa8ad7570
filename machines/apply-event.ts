/**
 * Pure helpers around the proc machine: build the initial state, apply one event, explain a
 * rejection, and convert to and from XState's persisted snapshot.
 */
import { createActor, type AnyActorScope, type ExecutableActionsFrom } from 'xstate';
import type { ProcContext, ProcMachineState, ProcRef } from './proc-context.js';
import type { ProcEvent } from './proc-events.js';
import { PROC_MACHINE_ID, PROC_MACHINE_VERSION } from './machine-identity.js';
import { createInitialContext, procMachine } from './proc-machine.js';
import { isProcessing, type ProcessStatus } from './process-status.js';

/** Side effects the runtime performs once a transition is recorded. */
export type ProcAction = 'dispatch' | 'armTimeouts' | 'attemptJoin' | 'notifyParent';

const PROC_ACTIONS: readonly string[] = ['dispatch', 'armTimeouts', 'attemptJoin', 'notifyParent'];

/** An accepted event: the state after it and the side effects it asks for. */
export interface AcceptedTransition {
  readonly accepted: true;
  readonly from: ProcessStatus;
  readonly to: ProcessStatus;
  readonly state: ProcMachineState;
  readonly actions: readonly ProcAction[];
}

/**
 * Why an event was not accepted.
 * - `blocked`: a call met a blocking process (current or queued).
 * - `processing`: a local call, or an unforced reset, met a processing proc.
 * - `stale-run`: the event names a run that no longer holds the proc (the writer is fenced).
 * - `stale-call`: the event names a call that is no longer pending (duplicate or late delivery).
 * - `children-processing`: a join was attempted while children are processing.
 * - `not-accepted`: the status does not accept this event at all.
 */
export type RejectionReason =
  | 'blocked'
  | 'processing'
  | 'stale-run'
  | 'stale-call'
  | 'children-processing'
  | 'not-accepted';

/** A rejected event; nothing changes. */
export interface RejectedTransition {
  readonly accepted: false;
  readonly status: ProcessStatus;
  readonly reason: RejectionReason;
}

/** The result of {@link applyProcEvent}. */
export type ProcTransitionResult = AcceptedTransition | RejectedTransition;

/**
 * The state of a new proc: READY with an empty context, what XState's `initialTransition` gives
 * for this machine (a test checks it), built without the throwaway actor that costs. Pure.
 */
export function initialProcState(parent: ProcRef | null): ProcMachineState {
  return { status: 'READY', context: createInitialContext({ parent }) };
}

type ResolvedSnapshot = ReturnType<typeof procMachine.resolveState>;

/**
 * XState's snapshot of the states this module handed out: the next transition of a proc usually
 * starts from the state the previous one returned, and resolving it again is most of XState's
 * work. Keyed by the state object (states are never changed in place), so it holds nothing alive.
 */
const resolved = new WeakMap<ProcMachineState, ResolvedSnapshot>();

function resolve(state: ProcMachineState): ResolvedSnapshot {
  return resolved.get(state) ?? procMachine.resolveState({ value: state.status, context: state.context as ProcContext });
}

type ExecutableAction = ExecutableActionsFrom<typeof procMachine>;

/**
 * XState's `transition()` builds a throwaway actor per call, and an actor computes a whole
 * initial state when it is made: that was most of the cost of a transition. The proc machine
 * invokes and spawns nothing, so one inert scope (the same shape as XState's own) serves every
 * transition; transitions are synchronous, so `collected` belongs to the call in progress.
 */
let collected: ExecutableAction[] = [];
const inertScope: AnyActorScope = (() => {
  const self = createActor(procMachine, { input: { parent: null } });
  return {
    self,
    defer: () => undefined,
    id: '',
    logger: () => undefined,
    sessionId: '',
    stopChild: () => undefined,
    system: self.system,
    emit: () => undefined,
    actionExecutor: (action: ExecutableAction) => {
      collected.push(action);
    },
  } as unknown as AnyActorScope;
})();

function transitionOnce(snapshot: ReturnType<typeof resolve>, event: ProcEvent): [ReturnType<typeof resolve>, ExecutableAction[]] {
  collected = [];
  const next = procMachine.transition(snapshot, event, inertScope);
  const actions = collected;
  collected = [];
  return [next, actions];
}

/**
 * Applies one event to a proc state. Pure and never throws for a well-formed state: an event
 * the state does not accept comes back as a {@link RejectedTransition} with its reason.
 */
export function applyProcEvent(state: ProcMachineState, event: ProcEvent): ProcTransitionResult {
  const snapshot = resolve(state);
  if (!snapshot.can(event)) {
    return { accepted: false, status: state.status, reason: explainRejection(state, event) };
  }
  const [next, actions] = transitionOnce(snapshot, event);
  const nextState: ProcMachineState = { status: next.value, context: next.context };
  resolved.set(nextState, next);
  return {
    accepted: true,
    from: state.status,
    to: next.value,
    state: nextState,
    actions: actions.map((action) => action.type).filter((type): type is ProcAction => PROC_ACTIONS.includes(type)),
  };
}

function explainRejection(state: ProcMachineState, event: ProcEvent): RejectionReason {
  switch (event.type) {
    // Every status that is not processing accepts these three (the machine's table, which
    // test/unit/machines checks pair by pair): a refusal is always the processing proc's.
    case 'process.called':
      return 'blocked';
    case 'process.called_locally':
    case 'proc.reset':
      return 'processing';
    case 'worker.started':
    case 'dispatch.failed':
      return 'stale-call';
    case 'join.started':
      return state.status === 'WAITING_FOR_RESULT' ? 'children-processing' : 'not-accepted';
    case 'run.progressed':
    case 'run.soft_timed_out':
    case 'run.succeeded':
    case 'run.waiting':
    case 'run.failed':
    case 'run.timed_out':
      return 'stale-run';
    case 'worker.lost':
      if (!isProcessing(state.status)) return 'not-accepted';
      return event.run_id !== undefined ? 'stale-run' : 'stale-call';
    default:
      return 'not-accepted';
  }
}



/** Machine identity stored next to a persisted snapshot. */
export interface ProcMachineIdentity {
  readonly id: string;
  readonly version: number;
}

/** The identity of the machine in this build. */
export const PROC_MACHINE: ProcMachineIdentity = Object.freeze({ id: PROC_MACHINE_ID, version: PROC_MACHINE_VERSION });
