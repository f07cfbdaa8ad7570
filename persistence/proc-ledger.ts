/**
 * The ledger protocol on top of any {@link ProcStore}: load a proc (repairing its document
 * when it lags the ledger), create one, and append transitions.
 *
 * Invariants kept here (docs/persistence.md):
 * 1. A transition happens if and only if its record was inserted; sequence numbers have no gaps.
 * 2. Each record carries the whole state after the transition.
 * 3. The document is written after the insert: it may lag the ledger head, never lead it.
 *    Loading compares the two and repairs a lagging document; a document whose state matches
 *    no record (edited by hand) is refused with a typed error and never written over.
 */
import { randomUUID } from 'node:crypto';
import type { ProcMachineState, ProcRef } from '../machines/proc-context.js';
import { PROC_MACHINE_ID, PROC_MACHINE_VERSION } from '../machines/machine-identity.js';
import type { ProcessStatus } from '../machines/process-status.js';
import {
  CorruptDocumentError,
  PersistenceError,
  ProcAlreadyExistsError,
  SnapshotVersionMismatchError,
  TransitionConflictError,
} from '../src/errors.js';
import { decodeProcDocument, differingFields, encodeProcFields, persistedSnapshotOf, stateOfSnapshot } from './proc-document.js';
import type { ProcStore, ReadTransitionsOptions } from './proc-store.js';
import { RecordCause, type StoredDocument, type TransitionRecord } from './records.js';
import { assertProcRef } from './validate.js';

/** A proc as loaded: where it is in the ledger and its machine state. */
export interface StoredProc {
  readonly ref: ProcRef;
  /** The sequence number of the ledger record this state comes from. */
  readonly seq: number;
  readonly state: ProcMachineState;
}

/** Who writes a record, when, and why. */
export interface TransitionMeta {
  /** The event type, or a {@link RecordCause}. */
  readonly cause: string;
  /** The event's payload, for the history. */
  readonly event: Readonly<Record<string, unknown>> | null;
  readonly at: Date;
  readonly worker: string | null;
  readonly runId: string | null;
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
}

/** The unchecked state a document claims (see {@link ProcLedger.peek}). Pure. */
export function hintOf(ref: ProcRef, doc: StoredDocument): StoredProc | undefined {
  const decoded = decodeProcDocument(doc);
  return decoded.kind === 'proc' ? { ref, seq: decoded.seq, state: decoded.state } : undefined;
}

function problemsOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The ledger protocol over a store. */
export class ProcLedger {
  readonly #store: ProcStore;
  readonly #keepLast: number | undefined;
  readonly #onCopyError: (error: unknown, ref: ProcRef, seq: number) => void;

  constructor(store: ProcStore, options: ProcLedgerOptions = {}) {
    const keepLast = options.retention?.keepLast;
    if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 1)) {
      throw new RangeError(`retention.keepLast must be a positive integer, got ${keepLast}`);
    }
    this.#store = store;
    this.#keepLast = keepLast;
    this.#onCopyError = options.onCopyError ?? (() => undefined);
  }

  /** The underlying store. */
  get store(): ProcStore {
    return this.#store;
  }

  /**
   * Loads a proc: reads its document, checks it against the ledger and repairs it when it
   * lags. Returns undefined when no proc with that id exists.
   * @throws CorruptDocumentError when the document cannot be explained; it is left untouched.
   * @throws SnapshotVersionMismatchError when a newer machine wrote it.
   */
  async load(ref: ProcRef): Promise<StoredProc | undefined> {
    assertProcRef(ref);
    const doc = await this.#store.readDocument(ref);
    const decoded = doc === undefined ? undefined : decodeProcDocument(doc);
    if (decoded === undefined || decoded.kind === 'plain') {
      // A creation whose writer died after the insert: the record can rebuild the document.
      const head = await this.#store.readHead(ref);
      if (head === undefined || head.snapshot === null || head.cause !== RecordCause.CREATED) return undefined;
      await this.#copy(head, head.init ?? {});
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

    // Point reads by key: every MongoDB-compatible server serves them from the _id index.
    const [own, next] = await Promise.all([
      this.#store.readTransition(ref, decoded.seq),
      this.#store.readTransition(ref, decoded.seq + 1),
    ]);
    if (next !== undefined) {
      const head = await this.#store.readHead(ref);
      if (head === undefined) throw new PersistenceError(`ledger of ${ref.kind} ${ref.id} vanished while loading`);
      if (head.snapshot === null) {
        await this.#store.deleteDocument(ref);
        return undefined;
      }
      await this.#copy(head);
      return { ref, seq: head.seq, state: stateOfSnapshot(head.snapshot) };
    }
    if (own === undefined || own.snapshot === null) {
      throw new CorruptDocumentError(ref.kind, ref.id, [
        `the ledger has no record ${decoded.seq} for the document's sync_counter (document written outside procstate, or ledger lost)`,
      ]);
    }
    const recorded = stateOfSnapshot(own.snapshot);
    const differing = differingFields(decoded.state, recorded);
    if (differing.length > 0) {
      throw new CorruptDocumentError(ref.kind, ref.id, [
        `fields ${differing.join(', ')} differ from ledger record ${own.seq} (edited by hand?); reset the proc to take it over again`,
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

  /**
   * Creates a proc in `state` (READY): inserts its first record, then its document with
   * `init` fields. An existing plain document (the user's own) is adopted.
   * @throws ProcAlreadyExistsError when a proc with that id exists.
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
    // Record 1 is never trimmed, so without it the ledger is empty and the head query is saved.
    const head = (await this.#store.readTransition(ref, 1)) === undefined ? undefined : await this.#store.readHead(ref);
    if (head !== undefined && head.snapshot !== null && (doc !== undefined || head.cause === RecordCause.CREATED)) {
      throw new ProcAlreadyExistsError(ref.kind, ref.id);
    }
    const record = this.#record(ref, (head?.seq ?? 0) + 1, null, state, {
      cause: RecordCause.CREATED,
      event: null,
      at: meta.at,
      worker: meta.worker,
      runId: null,
    });
    const withInit: TransitionRecord = { ...record, init: meta.init ?? {} };
    try {
      await this.#store.insertTransition(withInit);
    } catch (error) {
      if (error instanceof TransitionConflictError) throw new ProcAlreadyExistsError(ref.kind, ref.id);
      throw error;
    }
    await this.#copy(withInit, meta.init ?? {});
    return { ref, seq: record.seq, state };
  }

  /**
   * Appends the transition `current` → `next`: inserts record `current.seq + 1`, then copies
   * the state onto the document.
   * @throws TransitionConflictError when another writer recorded that sequence number first.
   */
  async append(current: StoredProc, next: ProcMachineState, meta: TransitionMeta): Promise<StoredProc> {
    const record = this.#record(current.ref, current.seq + 1, current.state.status, next, meta);
    await this.#insert(record);
    await this.#copy(record);
    if (this.#keepLast !== undefined && (next.status === 'SUCCESS' || next.status === 'FAILURE')) {
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
    const record: TransitionRecord = {
      ...this.#record(current.ref, current.seq + 1, current.state.status, null, meta),
    };
    await this.#insert(record);
    await this.#store.deleteDocument(current.ref);
  }

  /** The proc's recorded transitions, oldest first. */
  async history(ref: ProcRef, options?: ReadTransitionsOptions): Promise<TransitionRecord[]> {
    assertProcRef(ref);
    return this.#store.readTransitions(ref, options);
  }

  #record(
    ref: ProcRef,
    seq: number,
    from: ProcessStatus | null,
    next: ProcMachineState | null,
    meta: TransitionMeta,
  ): TransitionRecord {
    return {
      kind: ref.kind,
      proc: ref.id,
      seq,
      from,
      to: next?.status ?? null,
      cause: meta.cause,
      event: meta.event,
      at: meta.at,
      worker: meta.worker,
      run_id: meta.runId,
      write_id: randomUUID(),
      machine: { id: PROC_MACHINE_ID, version: PROC_MACHINE_VERSION },
      snapshot: next === null ? null : persistedSnapshotOf(next),
    };
  }

  async #insert(record: TransitionRecord): Promise<void> {
    const ref = { kind: record.kind, id: record.proc };
    try {
      await this.#store.insertTransition(record);
    } catch (error) {
      if (error instanceof TransitionConflictError) throw error;
      // The insert may have landed before the failure was reported: look for our own record.
      const landed = await this.#store.readTransition(ref, record.seq).catch(() => undefined);
      if (landed?.write_id === record.write_id) return;
      if (landed !== undefined) throw new TransitionConflictError(record.kind, record.proc, record.seq);
      throw error instanceof PersistenceError ? error : new PersistenceError(`recording ${record.kind} ${record.proc} #${record.seq} failed: ${problemsOf(error)}`, { cause: error });
    }
  }

  async #copy(record: TransitionRecord, init?: Readonly<Record<string, unknown>>): Promise<void> {
    if (record.snapshot === null) return;
    const ref = { kind: record.kind, id: record.proc };
    try {
      await this.#store.writeDocument(ref, encodeProcFields(stateOfSnapshot(record.snapshot), record.seq), init);
    } catch (error) {
      this.#onCopyError(error, ref, record.seq);
    }
  }
}
