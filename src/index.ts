/**
 * `procstate`: explicit, persisted, corruption-proof process status for long-running work.
 * @module procstate
 */
export { createProcRuntime } from './runtime.js';
export type {
  ProcRuntime,
  ProcRuntimeOptions,
  CreateOptions,
  WaitOptions,
  TransitionNotice,
  SweepReport,
  RuntimeLogger,
} from './runtime.js';
export { defineKind } from './define-kind.js';
export type {
  KindDefinition,
  ProcessDefinition,
  ProcessFunction,
  ProcessReturn,
  ParentSpec,
  JsonValue,
} from './define-kind.js';
export type { ProcessContext, ChildCounts, ChildStart } from './process-context.js';
export type { ProcSnapshot, QueuedProcess } from './proc-snapshot.js';
export { InProcessScheduler } from './in-process-scheduler.js';
export type { InProcessSchedulerOptions } from './in-process-scheduler.js';
export { jobKey } from './scheduler.js';
export type { Scheduler, ProcJob, RunJob, JoinJob, TimeoutJob, JobDelivery, JobHandler } from './scheduler.js';
export {
  ErrorCode,
  ProcstateError,
  UnknownKindError,
  UnknownProcessError,
  InvalidArgumentError,
  InvalidDefinitionError,
  InvalidTransitionError,
  ProcessAlreadyRunningError,
  ProcNotFoundError,
  ProcAlreadyExistsError,
  TransitionConflictError,
  RunFencedError,
  CorruptDocumentError,
  SnapshotVersionMismatchError,
  WaitTimeoutError,
  SyncFailureError,
  PersistenceError,
  DispatchError,
  ProcessFailure,
  SoftTimeLimitExceeded,
  WorkerShutdown,
} from './errors.js';
export {
  ProcessStatus,
  ProcessResult,
  PROCESS_STATUSES,
  STATUSES_PROCESSING,
  STATUSES_NOT_PROCESSING,
  STATUSES_COMPLETED,
  isProcessing,
  isCompleted,
} from '../machines/process-status.js';
export { replayLedger, sessionIdOf } from './inspection.js';
export type { InspectionObserver, ReplayRecord, ReplaySnapshot } from './inspection.js';
