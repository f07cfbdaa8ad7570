/**
 * The datafix for documents of NOMAD's tasks model: pure rules and the MongoDB executor.
 * Internal (the CLI's `migrate` command, the tests and the benchmark); not an entry point.
 * @packageDocumentation
 */
export { migrateLegacy } from './migrate-legacy.js';
export type { MigrationReport } from './migrate-legacy.js';
export { planUnit, restoreLegacy } from './legacy-tasks.js';
export type { LegacyDocument, LegacyConversion } from './legacy-tasks.js';
