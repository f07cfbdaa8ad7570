/**
 * `procstate`: explicit, persisted, corruption-proof process status for long-running work.
 * @module procstate
 */
export { createProcRuntime } from './runtime/create-proc-runtime.js';
export type { ProcRuntimeOptions } from './runtime/create-proc-runtime.js';
export type { ProcRuntime, BulkResult, CloseOptions } from './runtime/proc-runtime.js';
export type { CreateOptions, CreateItem, CallItem } from './runtime/calls.js';
export type { WaitOptions } from './runtime/wait-for.js';
export type { TransitionNotice } from './runtime/notices.js';
export type { SweepReport } from './runtime/sweep.js';
export type { MetricsSnapshot, MetricFamily, CounterFamily, HistogramFamily, CounterPoint, HistogramPoint, MetricAttributes } from './runtime/metrics.js';
export { prometheusText, PROMETHEUS_CONTENT_TYPE } from './metrics-text.js';
export type { GaugeFamily, GaugePoint } from './metrics-text.js';
export { createLogger } from './runtime/logger.js';
export type { RuntimeLogger, Logger, LoggerOptions, LogLevel } from './runtime/logger.js';
export { defineKind } from './define-kind.js';
export { typedArgs } from './schema.js';
export type { StandardSchemaV1 } from './schema.js';
export type {
  AnyKinds,
  KindNameOf,
  KindOf,
  ProcessNameOf,
  ArgumentsOf,
  CallArguments,
  ArgumentsProperty,
  CallItemOf,
  ChildStartOf,
  FieldsOf,
  NewFieldsOf,
  ArgsInProcess,
  UntypedArguments,
} from './kind-types.js';
export type {
  KindDefinition,
  TypedKindDefinition,
  KindSpec,
  ProcessSpec,
  SchemaInput,
  SchemaOutput,
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
export { runKey, runKeysOf } from './scheduler.js';
export type { Scheduler, ProcJob, RunJob, RunBatchJob, BatchedRun, JoinJob, TimeoutJob, JobDelivery, JobHandler } from './scheduler.js';
export {
  ErrorCode,
  ProcstateError,
  ProcstateMisuseError,
  ProcstateRuntimeError,
  ClosedError,
  UnknownKindError,
  UnknownProcessError,
  InvalidArgumentError,
  InvalidFieldsError,
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
  MigrationLockedError,
  InvariantViolationError,
  MissingPeerError,
  ProcessFailure,
  SoftTimeLimitExceeded,
  WorkerShutdown,
} from '../machines/errors.js';
export type { ProcstateErrorOptions, ValidationIssue } from '../machines/errors.js';
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
