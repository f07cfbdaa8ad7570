/**
 * `procstate/machines`: the pure XState definition of a proc's lifecycle, with no I/O.
 * @module procstate/machines
 */
export {
  ProcessStatus,
  ProcessResult,
  PROCESS_STATUSES,
  STATUSES_PROCESSING,
  STATUSES_NOT_PROCESSING,
  STATUSES_COMPLETED,
  isProcessStatus,
  isProcessing,
  isCompleted,
} from './process-status.js';
export type {
  ProcContext,
  ProcRef,
  ProcessCall,
  ProcessFlags,
  CurrentCall,
  CurrentRun,
  ProcMachineState,
  PersistedProcSnapshot,
} from './proc-context.js';
export { ProcEventType, PROC_EVENT_TYPES } from './proc-events.js';
export type {
  ProcEvent,
  ProcessCalledEvent,
  ProcessCalledLocallyEvent,
  DispatchFailedEvent,
  WorkerStartedEvent,
  RunProgressedEvent,
  RunSoftTimedOutEvent,
  RunSucceededEvent,
  RunWaitingEvent,
  RunFailedEvent,
  JoinStartedEvent,
  WorkerLostEvent,
  RunTimedOutEvent,
  RunStoppedEvent,
  ProcResetEvent,
} from './proc-events.js';
export { StatusMessages } from './status-messages.js';
export { procMachine, createInitialContext } from './proc-machine.js';
export { PROC_MACHINE_ID, PROC_MACHINE_VERSION } from './machine-identity.js';
export type { ProcMachine, ProcMachineInput } from './proc-machine.js';
export { applyProcEvent, initialProcState, PROC_MACHINE } from './apply-event.js';
export { persistedSnapshotOf, stateOfSnapshot } from './persisted-snapshot.js';
export type {
  ProcAction,
  AcceptedTransition,
  RejectedTransition,
  RejectionReason,
  ProcTransitionResult,
  ProcMachineIdentity,
} from './apply-event.js';
export { procMachineEdges, procMachineToMermaid, procMachineToDot, procMachineToJson } from './diagram.js';
export type { DiagramEdge } from './diagram.js';
