/**
 * The datafix for documents of NOMAD's tasks model: pure rules and the MongoDB executor.
 * @packageDocumentation
 */
export { migrateLegacy, exitCodeOf } from './migrate-legacy.js';
export type { MigrateLegacyOptions, MigrationReport, UnitProblem } from './migrate-legacy.js';
export {
  assessLegacy,
  convertLegacy,
  planUnit,
  restoreLegacy,
  isLegacy,
  AttentionReason,
  LEGACY_TASK_STATUSES,
  LEGACY_PROCESS_STATUSES,
} from './legacy-tasks.js';
export type { LegacyDocument, LegacyAssessment, LegacyConversion, UnitPlan } from './legacy-tasks.js';
export { acquireMigrationLock, MigrationLockedError, DEFAULT_MIGRATION_LOCK_COLLECTION } from './migration-lock.js';
export type { MigrationLock, MigrationLockOptions } from './migration-lock.js';
