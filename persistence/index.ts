/**
 * `procstate/persistence`: the store port, the ledger protocol over it, and the embedded
 * in-memory store. Loads no database driver.
 * @module procstate/persistence
 */
export type {
  ProcStore,
  ProcStoreCapabilities,
  ReadTransitionsOptions,
  FindByStatusOptions,
  WriteDocumentResult,
} from './proc-store.js';
export { RecordCause, PROC_FIELD_NAMES } from './records.js';
export type {
  TransitionRecord,
  ProcDocumentFields,
  ProcstateSubdocument,
  StoredDocument,
  LeaseRecord,
  StatusCounts,
  FieldFilter,
  MachineStamp,
} from './records.js';
export { ProcLedger, hintOf } from './proc-ledger.js';
export type { StoredProc, TransitionMeta, ProcLedgerOptions } from './proc-ledger.js';
export {
  encodeProcFields,
  decodeProcDocument,
  stateOfSnapshot,
  canonicalJson,
  LEGACY_FIELD_NAMES,
} from './proc-document.js';
export type { DecodedDocument } from './proc-document.js';
export { MemoryProcStore, emptyStatusCounts } from './memory/memory-proc-store.js';
export {
  assertKindName,
  assertProcId,
  assertProcRef,
  assertFieldName,
  assertFieldFilter,
  assertUserFields,
  encodeJsonArgument,
  MAX_ID_LENGTH,
  MAX_PAYLOAD_CHARS,
} from './validate.js';
