/**
 * The ledger protocol on top of any {@link ProcStore}: load a proc (repairing its document
 * when it lags the ledger), create procs, and append transitions.
 *
 * Invariants kept here (docs/persistence.md):
 * 1. A transition happens if and only if its record was inserted; sequence numbers have no gaps.
 * 2. Each record carries the whole state after the transition.
 * 3. The document is written after the insert: it may lag the ledger head, never lead it.
 *    Loading compares the two and repairs a lagging or missing document; a document whose state
 *    matches no record (edited by hand) is refused with a typed error and never written over.
 *
 * Round trips are shared: inserts, point reads of records and document copies each go through a
 * {@link GroupCommit}, so transitions of different procs that are ready at the same moment cost
 * one command each, not one per proc, while a lone transition waits for nothing.
 */
import type { ProcMachineState, ProcRef } from '../machines/proc-context.js';
import { PROC_MACHINE_ID, PROC_MACHINE_VERSION } from '../machines/machine-identity.js';
import { stateOfSnapshot } from '../machines/persisted-snapshot.js';
import { isCompleted } from '../machines/process-status.js';
import {
  CorruptDocumentError,
  InvalidArgumentError,
  PersistenceError,
  ProcAlreadyExistsError,
  SnapshotVersionMismatchError,
  TransitionConflictError,
} from '../machines/errors.js';
import { GroupCommit } from './group-commit.js';
import { decodeProcDocument, differingFields, encodeProcFields } from './proc-document.js';
import type { DocumentInsertResult, DocumentWrite, NewDocument, ProcStore, ReadTransitionsOptions, RecordKey, TransitionInsertResult } from './proc-store.js';
import {
  RecordCause,
  transitionRecord,
  type StoredDocument,
  type TransitionMeta,
  type TransitionRecord,
} from './records.js';
import { assertProcRef } from './validate.js';

/** A proc as loaded: where it is in the ledger and its machine state. */
export interface StoredProc {
  readonly ref: ProcRef;
  /** The sequence number of the ledger record this state comes from. */
  readonly seq: number;
  readonly state: ProcMachineState;
}

/** Options of {@link ProcLedger}. */
export interface ProcLedgerOptions {
  /**
   * Keep only the last `keepLast` records of a proc (and its creation record) once a process
   * completes; older ones are deleted by the writer of the completing record.
   * @defaultValue keep everything
   */
  readonly retention?: { readonly keepLast: number } | undefined;
  /**
   * Called when the document copy could not be written after a record was inserted. The
   * transition stands (the ledger decides); the document is repaired on the next load or
   * sweep. @defaultValue ignore
   */
  readonly onCopyError?: ((error: unknown, ref: ProcRef, seq: number) => void) | undefined;
  /** Most items one round trip carries. @defaultValue 256 */
  readonly maxBatch?: number | undefined;
}

/** One proc for {@link ProcLedger.createMany}. */
export interface NewProc {
  readonly ref: ProcRef;
  /** Its first state (READY). */
  readonly state: ProcMachineState;
  /** The user's fields of its document. */
  readonly init: Readonly<Record<string, unknown>>;
}

/** Options of {@link ProcLedger.append}. */
export interface AppendOptions {
  /**
   * Told when the document copy failed after the record was inserted (besides `onCopyError`):
   * for callers whose next step counts procs by their documents. @defaultValue nothing
   */
  readonly onCopyFailure?: ((error: unknown) => void) | undefined;
  /**
   * Return once the record is inserted and let the copy follow: for a transition whose next
   * step needs only the record (a dispatch, a run's function), so that the two overlap, or the
   * copy shares its write with the next transition's. The document lags meanwhile, which loads
   * repair. @defaultValue false
   */
  readonly copyInBackground?: boolean | undefined;
  /** With `copyInBackground`: receives the copy's promise, which never rejects. @defaultValue nobody */
  readonly copied?: ((done: Promise<void>) => void) | undefined;
}

/** What became of one proc of {@link ProcLedger.createMany}. */
export type CreateResult =
  /** Created: its record 1 and its document are written. */
  | { readonly status: 'created'; readonly proc: StoredProc }
  /** A ledger with that id exists (a live proc, or a deleted one): nothing was written. */
  | { readonly status: 'exists' }
  /** The record landed but the document could not be made; `error` says why. */
  | { readonly status: 'failed'; readonly error: Error };

/** The unchecked state a document claims (see {@link ProcLedger.peek}). Pure. */
export function hintOf(ref: ProcRef, doc: StoredDocument): StoredProc | undefined {
  const decoded = decodeProcDocument(doc);
  return decoded.kind === 'proc' ? { ref, seq: decoded.seq, state: decoded.state } : undefined;
}

function problemsOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function keyOf(ref: ProcRef): string {
  return `${ref.kind}\u0000${ref.id}`;
}

function recordKey(kind: string, id: string, seq: number): string {
  return `${kind}\u0000${id}\u0000${seq}`;
}

const DEFAULT_MAX_BATCH = 256;
/** Records this ledger wrote that it keeps, newest first out of the window: a worker in the same process starts from them. */
const RECENT_RECORDS = 20_000;

/** The ledger protocol over a store. */
export class ProcLedger {
  readonly #store: ProcStore;
  readonly #keepLast: number | undefined;
  readonly #onCopyError: (error: unknown, ref: ProcRef, seq: number) => void;
  readonly #inserts: GroupCommit<TransitionRecord, TransitionInsertResult>;
  readonly #reads: GroupCommit<RecordKey, TransitionRecord | undefined>;
  readonly #copies: GroupCommit<DocumentWrite, void>;
  readonly #newDocuments: GroupCommit<NewDocument, DocumentInsertResult>;
  /**
   * The records this ledger inserted lately, by key. Records never change once inserted, so a
   * read of one of them (the worker of a call dispatched from this process) needs no round trip.
   */
  readonly #recent = new Map<string, TransitionRecord>();

  constructor(store: ProcStore, options: ProcLedgerOptions = {}) {
    const keepLast = options.retention?.keepLast;
    if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 1)) {
      throw new InvalidArgumentError(`retention.keepLast must be a positive integer, got ${String(keepLast)}.`);
    }
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new InvalidArgumentError(`maxBatch must be a positive integer, got ${String(maxBatch)}.`);
    this.#store = store;
    this.#keepLast = keepLast;
    this.#onCopyError = options.onCopyError ?? (() => undefined);
    this.#inserts = new GroupCommit((records) => store.insertTransitions(records), maxBatch);
    this.#reads = new GroupCommit((keys) => store.readTransitionsAt(keys), maxBatch);
    this.#copies = new GroupCommit<DocumentWrite, void>(async (writes) => {
      await store.writeDocuments(latestPerDocument(writes));
      return writes.map(() => undefined);
    }, maxBatch);
    this.#newDocuments = new GroupCommit((documents) => store.insertDocuments(documents), maxBatch);
  }

  /** The underlying store. */
  get store(): ProcStore {
    return this.#store;
  }

  /**
   * Loads a proc: reads its document, checks it against the ledger and repairs it when it
   * lags or is missing. Returns undefined when no proc with that id exists.
   * @throws CorruptDocumentError when the document cannot be explained; it is left untouched.
   * @throws SnapshotVersionMismatchError when a newer machine wrote it.
   */
  async load(ref: ProcRef): Promise<StoredProc | undefined> {
    assertProcRef(ref);
    // The document and the ledger's head in one round trip: what the copy says, and what it must say.
    const [doc, firstHead] = await Promise.all([this.#store.readDocument(ref), this.#store.readHead(ref)]);
    let head = firstHead;
    const decoded = doc === undefined ? undefined : decodeProcDocument(doc);
    if (decoded === undefined || decoded.kind === 'plain') {
      // No copy (or the user's plain document) but maybe a ledger: a creation whose writer died
      // after its insert, or a document removed by hand. The ledger can rebuild it.
      if (head === undefined || head.snapshot === null) return undefined;
      const first = head.seq === 1 ? head : await this.recordAt(ref, 1);
      await this.#materialize(head, first?.init ?? {}, decoded === undefined);
      return { ref, seq: head.seq, state: stateOfSnapshot(head.snapshot) };
    }
    if (decoded.kind === 'corrupt') throw new CorruptDocumentError(ref.kind, ref.id, decoded.problems);
    if (decoded.machine.id !== PROC_MACHINE_ID || decoded.machine.version > PROC_MACHINE_VERSION || decoded.machine.version < 1) {
      throw new SnapshotVersionMismatchError(
        ref.kind,
        ref.id,
        `${decoded.machine.id}@${decoded.machine.version}`,
        `${PROC_MACHINE_ID}@1..${PROC_MACHINE_VERSION}`,
      );
    }
    if (head === undefined || head.seq < decoded.seq) {
      // The two reads run side by side, so the head may have been read before a writer inserted
      // the record this copy reflects (and copied it). Read after the copy was seen, the head
      // is at least the copy's record, unless the ledger really lacks it.
      head = await this.#store.readHead(ref);
    }
    if (head === undefined || head.seq < decoded.seq) {
      throw new CorruptDocumentError(ref.kind, ref.id, [
        `the ledger has no record ${decoded.seq} for the document's sync_counter (document written outside procstate, or ledger lost)`,
      ]);
    }
    if (head.seq > decoded.seq) {
      // The copy lags (a writer died between its two writes, or is still copying): repair it.
      if (head.snapshot === null) {
        await this.#store.deleteDocument(ref);
        return undefined;
      }
      await this.#copy(head);
      return { ref, seq: head.seq, state: stateOfSnapshot(head.snapshot) };
    }
    if (head.snapshot === null) {
      throw new CorruptDocumentError(ref.kind, ref.id, [`ledger record ${head.seq} deleted the proc, but its document is there (written outside procstate?)`]);
    }
    const differing = differingFields(decoded.state, stateOfSnapshot(head.snapshot));
    if (differing.length > 0) {
      throw new CorruptDocumentError(ref.kind, ref.id, [
        `fields ${differing.join(', ')} differ from ledger record ${head.seq} (edited by hand?); reset the proc to take it over again`,
      ]);
    }
    return { ref, seq: decoded.seq, state: decoded.state };
  }

  /**
   * Reads the document's copy of a proc without checking it against the ledger: a hint, which
   * may lag. Nothing may be decided on it but whether to load the proc properly. Undefined for
   * a missing, plain or unexplainable document.
   */
  async peek(ref: ProcRef): Promise<StoredProc | undefined> {
    assertProcRef(ref);
    const doc = await this.#store.readDocument(ref);
    return doc === undefined ? undefined : hintOf(ref, doc);
  }

  /** The record with this sequence number, if any (point reads of concurrent callers share round trips). */
  async recordAt(ref: ProcRef, seq: number): Promise<TransitionRecord | undefined> {
    return this.#recent.get(recordKey(ref.kind, ref.id, seq)) ?? this.#reads.submit({ ref, seq });
  }

  /**
   * The proc as record `seq` left it: what a writer that lost the race for `seq` builds on
   * next, without reading the document or the head. `deleted` when that record ended the proc.
   */
  async stateAt(ref: ProcRef, seq: number): Promise<StoredProc | 'deleted' | undefined> {
    const record = await this.recordAt(ref, seq);
    if (record === undefined) return undefined;
    if (record.snapshot === null) return 'deleted';
    return { ref, seq, state: stateOfSnapshot(record.snapshot) };
  }

  /**
   * Creates a proc in `state` (READY): inserts its first record, then its document with `init`
   * fields. An existing plain document (the user's own) is adopted; a proc whose ledger ended
   * with a deletion continues its sequence.
   * @throws ProcAlreadyExistsError when a proc with that id exists.
   * @throws CorruptDocumentError when a document procstate cannot explain has that id (nothing is written).
   */
  async create(
    ref: ProcRef,
    state: ProcMachineState,
    meta: Omit<TransitionMeta, 'cause' | 'event' | 'runId'> & { init?: Readonly<Record<string, unknown>> | undefined },
  ): Promise<StoredProc> {
    assertProcRef(ref);
    const doc = await this.#store.readDocument(ref);
    if (doc !== undefined) {
      const decoded = decodeProcDocument(doc);
      if (decoded.kind === 'corrupt') throw new CorruptDocumentError(ref.kind, ref.id, decoded.problems);
      if (decoded.kind === 'proc') throw new ProcAlreadyExistsError(ref.kind, ref.id);
    }
    const init = meta.init ?? {};
    const recordMeta: TransitionMeta = { cause: RecordCause.CREATED, event: null, at: meta.at, worker: meta.worker, runId: null };
    // Record 1 is never trimmed: trying it first costs no read for a new proc, the common case.
    let record = transitionRecord({ ref, seq: 1, from: null, state, meta: recordMeta, init });
    try {
      await this.#insert(record);
    } catch (error) {
      if (!(error instanceof TransitionConflictError)) throw error;
      const head = await this.#store.readHead(ref);
      if (head === undefined || head.snapshot !== null) throw new ProcAlreadyExistsError(ref.kind, ref.id);
      record = transitionRecord({ ref, seq: head.seq + 1, from: null, state, meta: recordMeta, init });
      try {
        await this.#insert(record);
      } catch (again) {
        if (again instanceof TransitionConflictError) throw new ProcAlreadyExistsError(ref.kind, ref.id);
        throw again;
      }
    }
    await this.#materialize(record, init, doc === undefined).catch((error: unknown) => this.#onCopyError(error, ref, record.seq));
    return { ref, seq: record.seq, state };
  }

  /**
   * Creates many procs in few round trips: their first records in one batch, their documents
   * in another. Nothing is read first, which is what makes it cheap, so a proc that exists (or
   * existed) is only reported as `exists`, for the caller to handle one by one.
   */
  async createMany(procs: readonly NewProc[], meta: Omit<TransitionMeta, 'cause' | 'event' | 'runId'>): Promise<CreateResult[]> {
    for (const proc of procs) assertProcRef(proc.ref);
    const recordMeta: TransitionMeta = { cause: RecordCause.CREATED, event: null, at: meta.at, worker: meta.worker, runId: null };
    const records = procs.map((proc) => transitionRecord({ ref: proc.ref, seq: 1, from: null, state: proc.state, meta: recordMeta, init: proc.init }));
    const inserted = await Promise.all(records.map((record) => this.#insert(record).then(() => true, (error: unknown) => error)));
    return Promise.all(
      procs.map(async (proc, index): Promise<CreateResult> => {
        const outcome = inserted[index];
        if (outcome instanceof TransitionConflictError) return { status: 'exists' };
        if (outcome !== true) return { status: 'failed', error: outcome instanceof Error ? outcome : new PersistenceError(String(outcome)) };
        const record = records[index] as TransitionRecord;
        const made = await this.#newDocuments.submit({ ref: proc.ref, fields: encodeProcFields(proc.state, 1), init: proc.init }).catch((error: unknown) => ({
          status: 'failed' as const,
          // The command failed as a whole (a driver's or a store's own error): said in procstate's terms.
          error:
            error instanceof PersistenceError
              ? error
              : new PersistenceError(`creating the document of ${proc.ref.kind} ${proc.ref.id} failed: ${problemsOf(error)}`, { kind: proc.ref.kind, id: proc.ref.id, cause: error }),
        }));
        if (made.status === 'failed') return { status: 'failed', error: made.error };
        if (made.status === 'exists') {
          // A document with this id but no ledger: the user's own (adopted), or one procstate
          // cannot explain, which is left as it is.
          const existing = await this.#store.readDocument(proc.ref);
          const decoded = existing === undefined ? undefined : decodeProcDocument(existing);
          if (decoded?.kind === 'plain') await this.#copy(record, proc.init);
          else if (decoded !== undefined) {
            return { status: 'failed', error: new CorruptDocumentError(proc.ref.kind, proc.ref.id, decoded.kind === 'corrupt' ? decoded.problems : ['a document with procstate fields but no ledger has this id']) };
          }
        }
        return { status: 'created', proc: { ref: proc.ref, seq: 1, state: proc.state } };
      }),
    );
  }

  /**
   * Appends the transition `current` → `next`: inserts record `current.seq + 1`, then copies
   * the state onto the document.
   * @throws TransitionConflictError when another writer recorded that sequence number first.
   */
  async append(current: StoredProc, next: ProcMachineState, meta: TransitionMeta, options: AppendOptions = {}): Promise<StoredProc> {
    const record = transitionRecord({ ref: current.ref, seq: current.seq + 1, from: current.state.status, state: next, meta });
    await this.#insert(record);
    if (options.copyInBackground === true) {
      options.copied?.(this.#copy(record).then(() => undefined));
      return { ref: current.ref, seq: record.seq, state: next };
    }
    const copied = await this.#copy(record);
    if (copied !== true) options.onCopyFailure?.(copied);
    if (this.#keepLast !== undefined && isCompleted(next.status)) {
      await this.#store.trimTransitions(current.ref, record.seq - this.#keepLast + 1).catch((error: unknown) => {
        this.#onCopyError(error, current.ref, record.seq);
      });
    }
    return { ref: current.ref, seq: record.seq, state: next };
  }

  /**
   * Records that the proc deleted its object (the DELETED return value) and removes the
   * document if it still exists. The ledger keeps the history; a new proc with the same id
   * continues its sequence.
   * @throws TransitionConflictError when another writer recorded that sequence number first.
   */
  async appendDeleted(current: StoredProc, meta: TransitionMeta): Promise<void> {
    await this.#insert(transitionRecord({ ref: current.ref, seq: current.seq + 1, from: current.state.status, state: null, meta }));
    await this.#store.deleteDocument(current.ref);
  }

  /** The proc's recorded transitions, oldest first. */
  async history(ref: ProcRef, options?: ReadTransitionsOptions): Promise<TransitionRecord[]> {
    assertProcRef(ref);
    return this.#store.readTransitions(ref, options);
  }

  async #insert(record: TransitionRecord): Promise<void> {
    let result: TransitionInsertResult;
    try {
      result = await this.#inserts.submit(record);
    } catch (error) {
      // The command failed; the insert may still have landed: look for our own record.
      const landed = await this.recordAt({ kind: record.kind, id: record.proc }, record.seq).catch(() => undefined);
      if (landed?.write_id === record.write_id) return;
      if (landed !== undefined) throw new TransitionConflictError(record.kind, record.proc, record.seq);
      throw error instanceof PersistenceError
        ? error
        : new PersistenceError(`recording ${record.kind} ${record.proc} #${record.seq} failed: ${problemsOf(error)}`, { kind: record.kind, id: record.proc, cause: error });
    }
    if (result.status === 'conflict') throw new TransitionConflictError(record.kind, record.proc, record.seq);
    if (result.status === 'failed') throw result.error;
    this.#remember(record);
  }

  #remember(record: TransitionRecord): void {
    this.#recent.set(recordKey(record.kind, record.proc, record.seq), record);
    // A Map iterates in insertion order: the oldest goes first.
    if (this.#recent.size > RECENT_RECORDS) this.#recent.delete(this.#recent.keys().next().value as string);
  }

  /**
   * Copies a record onto its document. A failure is reported and returned, never thrown: the
   * ledger decided, and the copy is repaired on the next load.
   */
  async #copy(record: TransitionRecord, init?: Readonly<Record<string, unknown>>): Promise<true | unknown> {
    if (record.snapshot === null) return true;
    const ref = { kind: record.kind, id: record.proc };
    try {
      await this.#copies.submit({ ref, fields: encodeProcFields(stateOfSnapshot(record.snapshot), record.seq), init });
      return true;
    } catch (error) {
      this.#onCopyError(error, ref, record.seq);
      return error;
    }
  }

  /** Writes the document of a record that has none (or only the user's plain one). */
  async #materialize(record: TransitionRecord, init: Readonly<Record<string, unknown>>, missing: boolean): Promise<void> {
    if (record.snapshot === null) return;
    const ref = { kind: record.kind, id: record.proc };
    const fields = encodeProcFields(stateOfSnapshot(record.snapshot), record.seq);
    if (missing) {
      const made = await this.#newDocuments.submit({ ref, fields, init });
      if (made.status === 'inserted') return;
      if (made.status === 'failed') throw made.error;
    }
    // The user's own document (or one made since we looked): adopt it, keeping its fields.
    await this.#copies.submit({ ref, fields, init });
  }
}

/** One write per document, the latest: copies of one proc queued together need only the newest. */
function latestPerDocument(writes: readonly DocumentWrite[]): DocumentWrite[] {
  const latest = new Map<string, DocumentWrite>();
  for (const write of writes) {
    const key = keyOf(write.ref);
    const seen = latest.get(key);
    if (seen === undefined || seen.fields.sync_counter < write.fields.sync_counter) {
      // Fields given at creation must survive a later copy in the same batch.
      latest.set(key, seen?.init === undefined || write.init !== undefined ? write : { ...write, init: seen.init });
    }
  }
  return [...latest.values()];
}
