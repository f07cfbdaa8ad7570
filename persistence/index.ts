/**
 * `procstate/persistence`: the store port, the ledger protocol over it, and the embedded
 * in-memory store. Loads no database driver.
 * @module procstate/persistence
 */
export type {
  ProcStore,
  TransitionInsertResult,
  DocumentInsertResult,
  RecordKey,
  NewDocument,
  DocumentWrite,
  ReadTransitionsOptions,
  FindByStatusOptions,
} from './proc-store.js';
export { RecordCause, PROC_FIELD_NAMES, transitionRecord, emptyStatusCounts } from './records.js';
export type {
  TransitionRecord,
  TransitionRecordInput,
  TransitionMeta,
  ProcDocumentFields,
  ProcstateSubdocument,
  StoredDocument,
  LeaseRecord,
  StatusCounts,
  FieldFilter,
  MachineStamp,
} from './records.js';
export { ProcLedger, hintOf } from './proc-ledger.js';
export type { StoredProc, ProcLedgerOptions, AppendOptions, NewProc, CreateResult } from './proc-ledger.js';
export { encodeProcFields, decodeProcDocument, canonicalJson, LEGACY_FIELD_NAMES } from './proc-document.js';
export type { DecodedDocument } from './proc-document.js';
export { MemoryProcStore } from './memory/memory-proc-store.js';
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
