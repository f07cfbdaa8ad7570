/**
 * The embedded default store: everything in memory, the same semantics as the MongoDB store.
 * Values are cloned on the way in and out, so callers can never alias stored state.
 */
import type { ProcRef } from '../../machines/proc-context.js';
import { PROCESS_STATUSES, type ProcessStatus } from '../../machines/process-status.js';
import { TransitionConflictError } from '../../src/errors.js';
import type {
  FindByStatusOptions,
  ProcStore,
  ProcStoreCapabilities,
  ReadTransitionsOptions,
  WriteDocumentResult,
} from '../proc-store.js';
import type {
  FieldFilter,
  LeaseRecord,
  ProcDocumentFields,
  StatusCounts,
  StoredDocument,
  TransitionRecord,
} from '../records.js';
import { assertFieldFilter, assertKindName, assertProcRef, assertSeq } from '../validate.js';

type MutableDocument = Record<string, unknown> & { _id: string };

/** A proc's records, by sequence number and in order. */
interface ProcLedgerRecords {
  readonly bySeq: Map<number, TransitionRecord>;
  readonly ordered: TransitionRecord[];
}

/** Zero for every status. */
export function emptyStatusCounts(): StatusCounts {
  return Object.fromEntries(PROCESS_STATUSES.map((status) => [status, 0])) as StatusCounts;
}

/**
 * An in-memory {@link ProcStore}: the embedded default, and the reference implementation the
 * contract suite is checked against. Not durable: state lives as long as the object.
 *
 * @example
 * ```ts
 * import { MemoryProcStore } from 'procstate/persistence';
 * const store = new MemoryProcStore();
 * ```
 */
export class MemoryProcStore implements ProcStore {
  readonly name = 'memory';
  readonly capabilities: ProcStoreCapabilities = Object.freeze({ atomicConditionalUpdates: true, durable: false });

  readonly #ledgers = new Map<string, Map<string, ProcLedgerRecords>>();
  readonly #documents = new Map<string, Map<string, MutableDocument>>();
  readonly #leases = new Map<string, LeaseRecord>();

  #ledger(ref: ProcRef): ProcLedgerRecords {
    let byProc = this.#ledgers.get(ref.kind);
    if (byProc === undefined) this.#ledgers.set(ref.kind, (byProc = new Map()));
    let records = byProc.get(ref.id);
    if (records === undefined) byProc.set(ref.id, (records = { bySeq: new Map(), ordered: [] }));
    return records;
  }

  #documentsOf(kind: string): Map<string, MutableDocument> {
    let documents = this.#documents.get(kind);
    if (documents === undefined) this.#documents.set(kind, (documents = new Map()));
    return documents;
  }

  async insertTransition(record: TransitionRecord): Promise<void> {
    const ref = { kind: record.kind, id: record.proc };
    assertProcRef(ref);
    assertSeq(record.seq);
    const records = this.#ledger(ref);
    if (records.bySeq.has(record.seq)) throw new TransitionConflictError(record.kind, record.proc, record.seq);
    const stored = structuredClone(record);
    records.bySeq.set(record.seq, stored);
    // Records nearly always arrive in order; keep the list sorted without sorting it.
    const last = records.ordered[records.ordered.length - 1];
    if (last === undefined || last.seq < record.seq) records.ordered.push(stored);
    else records.ordered.splice(records.ordered.findIndex((existing) => existing.seq > record.seq), 0, stored);
  }

  async readTransition(ref: ProcRef, seq: number): Promise<TransitionRecord | undefined> {
    assertProcRef(ref);
    assertSeq(seq);
    const record = this.#ledger(ref).bySeq.get(seq);
    return record === undefined ? undefined : structuredClone(record);
  }

  async readTransitions(ref: ProcRef, options: ReadTransitionsOptions = {}): Promise<TransitionRecord[]> {
    assertProcRef(ref);
    const fromSeq = options.fromSeq ?? 1;
    const selected = this.#ledger(ref).ordered.filter((record) => record.seq >= fromSeq);
    return structuredClone(options.limit === undefined ? selected : selected.slice(0, options.limit));
  }

  async readHead(ref: ProcRef): Promise<TransitionRecord | undefined> {
    assertProcRef(ref);
    const { ordered } = this.#ledger(ref);
    const head = ordered[ordered.length - 1];
    return head === undefined ? undefined : structuredClone(head);
  }

  async trimTransitions(ref: ProcRef, seq: number): Promise<number> {
    assertProcRef(ref);
    const records = this.#ledger(ref);
    const kept: TransitionRecord[] = [];
    for (const record of records.ordered) {
      if (record.seq === 1 || record.seq >= seq) kept.push(record);
      else records.bySeq.delete(record.seq);
    }
    const removed = records.ordered.length - kept.length;
    records.ordered.splice(0, records.ordered.length, ...kept);
    return removed;
  }

  async readTransitionsBetween(kind: string, since: Date, until: Date, limit: number): Promise<Array<Pick<TransitionRecord, 'proc' | 'seq'>>> {
    assertKindName(kind);
    const selected: TransitionRecord[] = [];
    for (const records of this.#ledgers.get(kind)?.values() ?? []) {
      for (const record of records.ordered) if (record.at >= since && record.at < until) selected.push(record);
    }
    selected.sort((a, b) => a.at.getTime() - b.at.getTime());
    return selected.slice(0, limit).map((record) => ({ proc: record.proc, seq: record.seq }));
  }

  async readDocument(ref: ProcRef): Promise<StoredDocument | undefined> {
    assertProcRef(ref);
    const document = this.#documentsOf(ref.kind).get(ref.id);
    return document === undefined ? undefined : structuredClone(document);
  }

  async writeDocument(
    ref: ProcRef,
    fields: ProcDocumentFields,
    init?: Readonly<Record<string, unknown>>,
  ): Promise<WriteDocumentResult> {
    assertProcRef(ref);
    assertSeq(fields.sync_counter);
    const documents = this.#documentsOf(ref.kind);
    const existing = documents.get(ref.id);
    if (existing === undefined) {
      if (init === undefined) return 'missing';
      documents.set(ref.id, structuredClone({ ...init, ...fields, _id: ref.id }));
      return 'written';
    }
    const counter = existing['sync_counter'];
    if (typeof counter === 'number' && counter >= fields.sync_counter) return 'superseded';
    documents.set(ref.id, structuredClone({ ...existing, ...(init ?? {}), ...fields, _id: ref.id }));
    return 'written';
  }

  async deleteDocument(ref: ProcRef): Promise<void> {
    assertProcRef(ref);
    this.#documentsOf(ref.kind).delete(ref.id);
  }

  /** Stores a document as given, bypassing procstate (for tests and fixtures). */
  async putRawDocument(kind: string, document: MutableDocument): Promise<void> {
    assertProcRef({ kind, id: document._id });
    this.#documentsOf(kind).set(document._id, structuredClone(document));
  }

  #matching(kind: string, where: FieldFilter | undefined): MutableDocument[] {
    assertKindName(kind);
    if (where !== undefined) assertFieldFilter(where);
    const all = [...this.#documentsOf(kind).values()];
    return where === undefined ? all : all.filter((document) => document[where.field] === where.value);
  }

  async countByStatus(kind: string, where?: FieldFilter): Promise<StatusCounts> {
    const counts = emptyStatusCounts();
    for (const document of this.#matching(kind, where)) {
      const status = document['process_status'];
      if (typeof status === 'string' && status in counts) counts[status as ProcessStatus] += 1;
    }
    return counts;
  }

  async anyInStatus(kind: string, statuses: readonly ProcessStatus[], where?: FieldFilter): Promise<boolean> {
    return this.#matching(kind, where).some((document) => statuses.includes(document['process_status'] as ProcessStatus));
  }

  async findByStatus(kind: string, statuses: readonly ProcessStatus[], options: FindByStatusOptions): Promise<StoredDocument[]> {
    const afterId = options.afterId;
    const selected = this.#matching(kind, options.where)
      .filter((document) => statuses.includes(document['process_status'] as ProcessStatus))
      .filter((document) => afterId === undefined || document._id > afterId)
      .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))
      .slice(0, options.limit);
    return structuredClone(selected);
  }

  #leaseKey(ref: ProcRef, runId: string): string {
    return `${ref.kind}\u0000${ref.id}\u0000${runId}`;
  }

  async writeLease(lease: LeaseRecord): Promise<void> {
    assertProcRef({ kind: lease.kind, id: lease.proc });
    this.#leases.set(this.#leaseKey({ kind: lease.kind, id: lease.proc }, lease.run_id), structuredClone(lease));
  }

  async readLease(ref: ProcRef, runId: string): Promise<LeaseRecord | undefined> {
    assertProcRef(ref);
    const lease = this.#leases.get(this.#leaseKey(ref, runId));
    return lease === undefined ? undefined : structuredClone(lease);
  }

  async deleteLease(ref: ProcRef, runId: string): Promise<void> {
    assertProcRef(ref);
    this.#leases.delete(this.#leaseKey(ref, runId));
  }
}
