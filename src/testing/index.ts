/**
 * `procstate/testing`: property tests of your own kinds, a scheduler and a clock a test
 * controls, and the contract suites a store or scheduler adapter must pass. Needs `fast-check`
 * and `vitest` (optional peers, loaded only here).
 * @module procstate/testing
 */
export { checkKinds, kindCommands, kindProperty, runKindCommands } from './kind-model.js';
export type { CheckKindsOptions, KindArguments, KindModelOptions, KindWorld } from './kind-model.js';
export { readProcs, startKey, violationsOf } from './invariants.js';
export type { InvariantContext, Invocations, ProcView } from './invariants.js';
export { ControlledScheduler } from './controlled-scheduler.js';
export type { ControlledJob, ControlledSchedulerOptions } from './controlled-scheduler.js';
export { VirtualClock } from './virtual-clock.js';
export { describeProcStoreContract } from './store-contract.js';
export type { ProcStoreContractOptions } from './store-contract.js';
export { describeSchedulerContract } from './scheduler-contract.js';
export type { SchedulerContractOptions } from './scheduler-contract.js';
export { InvariantViolationError } from '../../machines/errors.js';
