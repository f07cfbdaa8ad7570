/**
 * The store port: the few primitive operations procstate needs from a database.
 *
 * Design. Correctness rests on one primitive only: {@link ProcStore.insertTransition}, an
 * insert under a unique (kind, proc, seq) key that exactly one writer can win. That is the one
 * arbiter MongoDB, FerretDB and every MongoDB-compatible server all provide atomically. Every
 * other write here is allowed to be non-atomic (FerretDB's filtered updates are not): the
 * proc document is a *copy* of the ledger head that may lag but never lead, and
 * {@link ProcLedger} repairs it. Leases have one writer each, their holder.
 *
 * Non-goals: no transactions, no query language, no change streams. A store never opens or
 * owns a client; it is given its collections (or maps) and uses them.
 *
 * Every adapter must pass the contract suite in `test/contract/proc-store.contract.ts`.
 */
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

/** Outcome of {@link ProcStore.writeDocument}. */
export type WriteDocumentResult =
  /** The document now reflects the given sequence number. */
  | 'written'
  /** The document already reflected this or a later sequence number; nothing was written. */
  | 'superseded'
  /** No document with that id exists (and none was to be created); nothing was written. */
  | 'missing';

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
}

/** What a store can do beyond the contract; adapters declare it, callers may adapt. */
export interface ProcStoreCapabilities {
  /** Conditional document updates are atomic (true on MongoDB, false on FerretDB). @defaultValue false */
  readonly atomicConditionalUpdates: boolean;
  /** State survives the process (false for the memory store). */
  readonly durable: boolean;
}

/** The port every store implements. All methods validate their inputs' shapes. */
export interface ProcStore {
  /** A short name for logs (`memory`, `mongodb`). */
  readonly name: string;
  /** What this store can do. */
  readonly capabilities: ProcStoreCapabilities;

  /**
   * Inserts a ledger record. The unique (kind, proc, seq) key decides: the first insert of a
   * key wins, every later one throws `TransitionConflictError` and writes nothing.
   * @throws TransitionConflictError when the key exists; PersistenceError on store failure.
   */
  insertTransition(record: TransitionRecord): Promise<void>;

  /** The record with exactly this sequence number, if present. */
  readTransition(ref: ProcRef, seq: number): Promise<TransitionRecord | undefined>;

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
   * Writes procstate's fields onto the document, unless it already reflects
   * `fields.sync_counter` or later. Never touches other fields, except `init`, which is set
   * when given (creation). Creates the document only when `init` is given.
   */
  writeDocument(ref: ProcRef, fields: ProcDocumentFields, init?: Readonly<Record<string, unknown>>): Promise<WriteDocumentResult>;

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

  /** Creates or renews a lease; called only by the lease's holder. */
  writeLease(lease: LeaseRecord): Promise<void>;

  /** The lease of a run, if one was written. */
  readLease(ref: ProcRef, runId: string): Promise<LeaseRecord | undefined>;

  /** Removes a run's lease record, if present. */
  deleteLease(ref: ProcRef, runId: string): Promise<void>;
}
