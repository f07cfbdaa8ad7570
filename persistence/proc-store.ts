/**
 * The store port: the few primitive operations procstate needs from a database.
 *
 * Design. Correctness rests on one primitive only: {@link ProcStore.insertTransitions}, inserts
 * under a unique (kind, proc, seq) key that exactly one writer can win. That is the one arbiter
 * MongoDB, FerretDB and every MongoDB-compatible server all provide atomically. Every other write
 * here is allowed to be non-atomic (FerretDB's filtered updates are not): the proc document is a
 * *copy* of the ledger head that may lag but never lead, and {@link ProcLedger} repairs it. Leases
 * have one writer each, their holder.
 *
 * Writes take batches, because at scale the cost that matters is round trips: a store sends a
 * batch in as few commands as its server allows (one `insertMany`, one `bulkWrite`), and the
 * ledger's group commit hands it whatever queued while the previous round trip was in flight.
 * Within a batch every item keeps its own outcome: a conflict on one record says nothing about
 * the next.
 *
 * Non-goals: no transactions, no query language, no change streams. A store never opens or
 * owns a client; it is given its collections (or maps) and uses them.
 *
 * Every adapter must pass the store contract, `describeProcStoreContract` of `procstate/testing`
 * (docs/testing.md).
 */
import type { PersistenceError } from '../machines/errors.js';
import type { ProcRef } from '../machines/proc-context.js';
import type { ProcessStatus } from '../machines/process-status.js';
import type {
  FieldFilter,
  LeaseRecord,
  ProcDocumentFields,
  StatusCounts,
  StoredDocument,
  TransitionRecord,
} from './records.js';

/** Outcome of one record of {@link ProcStore.insertTransitions}. */
export type TransitionInsertResult =
  /** The record was inserted: its transition happened. */
  | { readonly status: 'inserted' }
  /** A record with its key exists: another writer won, nothing was written. */
  | { readonly status: 'conflict' }
  /** The server refused this record (e.g. a value it cannot store); nothing was written. */
  | { readonly status: 'failed'; readonly error: PersistenceError };

/** Outcome of one document of {@link ProcStore.insertDocuments}. */
export type DocumentInsertResult =
  | { readonly status: 'inserted' }
  /** A document with that id exists; nothing was written. */
  | { readonly status: 'exists' }
  | { readonly status: 'failed'; readonly error: PersistenceError };

/** A ledger record's key. */
export interface RecordKey {
  readonly ref: ProcRef;
  readonly seq: number;
}

/** A new document: procstate's fields and the user's own. */
export interface NewDocument {
  readonly ref: ProcRef;
  readonly fields: ProcDocumentFields;
  /** The user's fields (given at creation, e.g. the parent key). */
  readonly init: Readonly<Record<string, unknown>>;
}

/** A copy of a ledger record onto an existing document. */
export interface DocumentWrite {
  readonly ref: ProcRef;
  readonly fields: ProcDocumentFields;
  /** User fields to set as well, when a creation adopts the user's own document. */
  readonly init?: Readonly<Record<string, unknown>> | undefined;
}

/** Options of {@link ProcStore.readTransitions}. */
export interface ReadTransitionsOptions {
  /** First sequence number to return. @defaultValue 1 */
  readonly fromSeq?: number;
  /** At most this many records. @defaultValue no limit */
  readonly limit?: number;
}

/** Options of {@link ProcStore.findByStatus}. */
export interface FindByStatusOptions {
  /** At most this many ids. */
  readonly limit: number;
  /** Only ids greater than this one (for paging in id order). */
  readonly afterId?: string | undefined;
  /** Only procs whose field equals a value (e.g. children of one parent). */
  readonly where?: FieldFilter | undefined;
  /**
   * Only ids that start with this text. Served as an id range, never as a pattern, so the
   * text needs no escaping and the `_id` index answers it.
   */
  readonly idPrefix?: string | undefined;
}

/** The port every store implements. All methods validate their inputs' shapes. */
export interface ProcStore {
  /** A short name for logs (`memory`, `mongodb`). */
  readonly name: string;

  /**
   * Inserts ledger records, each under its unique (kind, proc, seq) key: the first insert of a
   * key wins, every later one is a `conflict` and writes nothing. Results are in input order;
   * two records of one batch with the same key are decided in input order.
   * @throws PersistenceError when the command itself failed; then any of the records may or
   * may not have landed (the ledger finds out by reading them back).
   */
  insertTransitions(records: readonly TransitionRecord[]): Promise<TransitionInsertResult[]>;

  /** The records with exactly these keys, in input order (undefined where there is none). */
  readTransitionsAt(keys: readonly RecordKey[]): Promise<Array<TransitionRecord | undefined>>;

  /** Records of one proc in ascending sequence order. */
  readTransitions(ref: ProcRef, options?: ReadTransitionsOptions): Promise<TransitionRecord[]>;

  /** The record with the highest sequence number, if the proc has any. */
  readHead(ref: ProcRef): Promise<TransitionRecord | undefined>;

  /**
   * Deletes records with a sequence number from 2 up to (not including) `seq`, for retention;
   * record 1 (the creation, with the fields to rebuild the document) is always kept, so that
   * "no record 1" means "no ledger". Returns how many were deleted.
   */
  trimTransitions(ref: ProcRef, seq: number): Promise<number>;

  /**
   * The proc id and sequence number of records of a kind written in [since, until), for the
   * sweep's repair pass. On MongoDB the `at` index serves it; servers without range pushdown
   * (FerretDB) scan the ledger, which is why the sweep runs this pass on its own, slower cadence.
   */
  readTransitionsBetween(kind: string, since: Date, until: Date, limit: number): Promise<Array<Pick<TransitionRecord, 'proc' | 'seq'>>>;

  /** The document with this id, with its user fields, if present. */
  readDocument(ref: ProcRef): Promise<StoredDocument | undefined>;

  /**
   * The `sync_counter` of each of these documents of a kind that exists and has one, in as
   * few queries as the server allows (the sweep's repair pass compares them with ledger heads).
   */
  readSyncCounters(kind: string, ids: readonly string[]): Promise<Map<string, number>>;

  /** Inserts new documents; one whose id exists is left as it is (`exists`). */
  insertDocuments(documents: readonly NewDocument[]): Promise<DocumentInsertResult[]>;

  /**
   * Copies ledger records onto existing documents: each write lands unless its document
   * already reflects `fields.sync_counter` or later, and touches no field but procstate's own
   * (and `init`'s, when given). A write whose document does not exist does nothing.
   * @throws PersistenceError when a write could not be made (the copies lag; the ledger repairs them).
   */
  writeDocuments(writes: readonly DocumentWrite[]): Promise<void>;

  /** Deletes the document, if present. */
  deleteDocument(ref: ProcRef): Promise<void>;

  /**
   * Counts documents of a kind by `process_status`, optionally filtered by one field.
   * Implementations should prefer one equality query per status: servers such as FerretDB push
   * equality filters down but evaluate `$in` and aggregations in memory.
   */
  countByStatus(kind: string, where?: FieldFilter): Promise<StatusCounts>;

  /** True when at least one document of the kind (matching `where`) is in one of the statuses. */
  anyInStatus(kind: string, statuses: readonly ProcessStatus[], where?: FieldFilter): Promise<boolean>;

  /**
   * Documents of a kind in one of the statuses, in id order, with procstate's fields only
   * (the user's fields may be omitted). The sweep reads them as hints and decides nothing
   * before loading a proc through the ledger.
   */
  findByStatus(kind: string, statuses: readonly ProcessStatus[], options: FindByStatusOptions): Promise<StoredDocument[]>;

  /** Creates or renews leases; called only by each lease's holder. */
  writeLeases(leases: readonly LeaseRecord[]): Promise<void>;

  /** The lease of a run, if one was written. */
  readLease(ref: ProcRef, runId: string): Promise<LeaseRecord | undefined>;

  /** Removes a run's lease record, if present. */
  deleteLease(ref: ProcRef, runId: string): Promise<void>;
}
