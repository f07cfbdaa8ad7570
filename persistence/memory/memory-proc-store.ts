/**
 * The embedded default store: everything in memory, the same semantics as the MongoDB store.
 *
 * The store takes ownership of what it is given and deep-freezes it, so nobody can change stored
 * state afterwards, and hands out the frozen values themselves: no copies on the way in or out.
 * The ledger builds every record and document fresh for the store (and the runtime copies user
 * fields once, when they come in), so nothing a caller still holds is frozen under it; that is
 * what keeps the embedded store cheap. Status queries use per-field indexes, so that a join check
 * over one parent's children does not copy every document of the kind.
 */
import { TransitionConflictError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import { PROCESS_STATUSES, type ProcessStatus } from '../../machines/process-status.js';
import type {
  DocumentInsertResult,
  DocumentWrite,
  FindByStatusOptions,
  NewDocument,
  ProcStore,
  ReadTransitionsOptions,
  RecordKey,
  TransitionInsertResult,
} from '../proc-store.js';
import { emptyStatusCounts, type FieldFilter, type LeaseRecord, type StatusCounts, type StoredDocument, type TransitionRecord } from '../records.js';
import { assertFieldFilter, assertKindName, assertProcRef, assertSeq } from '../validate.js';

type MutableDocument = Record<string, unknown> & { _id: string };

/** A proc's records, by sequence number and in order. */
interface ProcLedgerRecords {
  readonly bySeq: Map<number, TransitionRecord>;
  readonly ordered: TransitionRecord[];
}

/** The documents of one kind, with the indexes status queries use. */
interface KindDocuments {
  readonly byId: Map<string, StoredDocument>;
  /** field → value → ids; built the first time a field is queried, then kept up to date. */
  readonly byField: Map<string, Map<unknown, Set<string>>>;
}

/** Freezes plain data all the way down, in place. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (!(value instanceof Date)) for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
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

  readonly #ledgers = new Map<string, Map<string, ProcLedgerRecords>>();
  readonly #documents = new Map<string, KindDocuments>();
  readonly #leases = new Map<string, LeaseRecord>();

  #ledger(ref: ProcRef): ProcLedgerRecords {
    let byProc = this.#ledgers.get(ref.kind);
    if (byProc === undefined) this.#ledgers.set(ref.kind, (byProc = new Map()));
    let records = byProc.get(ref.id);
    if (records === undefined) byProc.set(ref.id, (records = { bySeq: new Map(), ordered: [] }));
    return records;
  }

  #kind(kind: string): KindDocuments {
    let documents = this.#documents.get(kind);
    if (documents === undefined) this.#documents.set(kind, (documents = { byId: new Map(), byField: new Map() }));
    return documents;
  }

  async insertTransitions(records: readonly TransitionRecord[]): Promise<TransitionInsertResult[]> {
    for (const record of records) {
      assertProcRef({ kind: record.kind, id: record.proc });
      assertSeq(record.seq);
    }
    return records.map((record) => {
      const ledger = this.#ledger({ kind: record.kind, id: record.proc });
      if (ledger.bySeq.has(record.seq)) return { status: 'conflict' };
      const stored = deepFreeze(record);
      ledger.bySeq.set(record.seq, stored);
      // Records nearly always arrive in order; keep the list sorted without sorting it.
      const last = ledger.ordered[ledger.ordered.length - 1];
      if (last === undefined || last.seq < record.seq) ledger.ordered.push(stored);
      else ledger.ordered.splice(ledger.ordered.findIndex((existing) => existing.seq > record.seq), 0, stored);
      return { status: 'inserted' };
    });
  }

  async readTransitionsAt(keys: readonly RecordKey[]): Promise<Array<TransitionRecord | undefined>> {
    for (const { ref, seq } of keys) {
      assertProcRef(ref);
      assertSeq(seq);
    }
    return keys.map(({ ref, seq }) => this.#ledgers.get(ref.kind)?.get(ref.id)?.bySeq.get(seq));
  }

  async readTransitions(ref: ProcRef, options: ReadTransitionsOptions = {}): Promise<TransitionRecord[]> {
    assertProcRef(ref);
    const fromSeq = options.fromSeq ?? 1;
    const selected = this.#ledger(ref).ordered.filter((record) => record.seq >= fromSeq);
    return options.limit === undefined ? selected : selected.slice(0, options.limit);
  }

  async readHead(ref: ProcRef): Promise<TransitionRecord | undefined> {
    assertProcRef(ref);
    const { ordered } = this.#ledger(ref);
    return ordered[ordered.length - 1];
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
    return this.#documents.get(ref.kind)?.byId.get(ref.id);
  }

  async readSyncCounters(kind: string, ids: readonly string[]): Promise<Map<string, number>> {
    assertKindName(kind);
    const counters = new Map<string, number>();
    for (const id of ids) {
      assertProcRef({ kind, id });
      const counter = this.#documents.get(kind)?.byId.get(id)?.['sync_counter'];
      if (typeof counter === 'number') counters.set(id, counter);
    }
    return counters;
  }

  async insertDocuments(documents: readonly NewDocument[]): Promise<DocumentInsertResult[]> {
    for (const { ref, fields } of documents) {
      assertProcRef(ref);
      assertSeq(fields.sync_counter);
    }
    return documents.map(({ ref, fields, init }) => {
      if (this.#kind(ref.kind).byId.has(ref.id)) return { status: 'exists' };
      this.#put(ref.kind, { ...init, ...fields, _id: ref.id });
      return { status: 'inserted' };
    });
  }

  async writeDocuments(writes: readonly DocumentWrite[]): Promise<void> {
    for (const { ref, fields } of writes) {
      assertProcRef(ref);
      assertSeq(fields.sync_counter);
    }
    for (const { ref, fields, init } of writes) {
      const existing = this.#kind(ref.kind).byId.get(ref.id);
      if (existing === undefined) continue;
      const counter = existing['sync_counter'];
      if (typeof counter === 'number' && counter >= fields.sync_counter) continue;
      this.#put(ref.kind, { ...existing, ...(init ?? {}), ...fields, _id: ref.id });
    }
  }

  async deleteDocument(ref: ProcRef): Promise<void> {
    assertProcRef(ref);
    this.#remove(ref.kind, ref.id);
  }

  /** Stores (a copy of) a document as given, bypassing procstate (for tests and fixtures). */
  async putRawDocument(kind: string, document: MutableDocument): Promise<void> {
    assertProcRef({ kind, id: document._id });
    this.#put(kind, structuredClone(document));
  }

  #put(kind: string, document: MutableDocument): void {
    const documents = this.#kind(kind);
    const stored = deepFreeze(document) as StoredDocument;
    const previous = documents.byId.get(document._id);
    for (const [field, index] of documents.byField) {
      if (previous !== undefined) index.get(previous[field])?.delete(document._id);
      this.#indexOne(index, stored[field], document._id);
    }
    documents.byId.set(document._id, stored);
  }

  #remove(kind: string, id: string): void {
    const documents = this.#kind(kind);
    const previous = documents.byId.get(id);
    if (previous === undefined) return;
    for (const [field, index] of documents.byField) index.get(previous[field])?.delete(id);
    documents.byId.delete(id);
  }

  #indexOne(index: Map<unknown, Set<string>>, value: unknown, id: string): void {
    let ids = index.get(value);
    if (ids === undefined) index.set(value, (ids = new Set()));
    ids.add(id);
  }

  /** The ids of a kind whose `field` equals `value`, from an index built on first use. */
  #idsWhere(kind: string, field: string, value: unknown): Iterable<string> {
    const documents = this.#kind(kind);
    let index = documents.byField.get(field);
    if (index === undefined) {
      index = new Map();
      for (const [id, document] of documents.byId) this.#indexOne(index, document[field], id);
      documents.byField.set(field, index);
    }
    return index.get(value) ?? [];
  }

  /** Documents of a kind in one of the statuses (and matching `where`), unordered. */
  *#matching(kind: string, statuses: readonly ProcessStatus[], where: FieldFilter | undefined): Generator<StoredDocument> {
    assertKindName(kind);
    if (where !== undefined) assertFieldFilter(where);
    const byId = this.#kind(kind).byId;
    for (const status of statuses) {
      for (const id of this.#idsWhere(kind, 'process_status', status)) {
        const document = byId.get(id);
        if (document !== undefined && (where === undefined || document[where.field] === where.value)) yield document;
      }
    }
  }

  /** The smaller side to scan: the children of one parent, or the documents in one status. */
  *#scan(kind: string, statuses: readonly ProcessStatus[], where: FieldFilter | undefined): Generator<StoredDocument> {
    if (where === undefined) {
      yield* this.#matching(kind, statuses, undefined);
      return;
    }
    assertKindName(kind);
    assertFieldFilter(where);
    const byId = this.#kind(kind).byId;
    for (const id of this.#idsWhere(kind, where.field, where.value)) {
      const document = byId.get(id);
      if (document !== undefined && statuses.includes(document['process_status'] as ProcessStatus)) yield document;
    }
  }

  async countByStatus(kind: string, where?: FieldFilter): Promise<StatusCounts> {
    const counts = emptyStatusCounts();
    for (const document of this.#scan(kind, PROCESS_STATUSES, where)) counts[document['process_status'] as ProcessStatus] += 1;
    return counts;
  }

  async anyInStatus(kind: string, statuses: readonly ProcessStatus[], where?: FieldFilter): Promise<boolean> {
    for (const _ of this.#scan(kind, statuses, where)) return true;
    return false;
  }

  async findByStatus(kind: string, statuses: readonly ProcessStatus[], options: FindByStatusOptions): Promise<StoredDocument[]> {
    const { afterId, idPrefix } = options;
    if (afterId !== undefined) assertProcRef({ kind, id: afterId });
    if (idPrefix !== undefined) assertProcRef({ kind, id: idPrefix });
    const selected: StoredDocument[] = [];
    for (const document of this.#scan(kind, statuses, options.where)) {
      if (afterId !== undefined && document._id <= afterId) continue;
      if (idPrefix !== undefined && !document._id.startsWith(idPrefix)) continue;
      selected.push(document);
    }
    selected.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
    return selected.slice(0, options.limit);
  }

  #leaseKey(ref: ProcRef, runId: string): string {
    return `${ref.kind}\u0000${ref.id}\u0000${runId}`;
  }

  async writeLeases(leases: readonly LeaseRecord[]): Promise<void> {
    for (const lease of leases) assertProcRef({ kind: lease.kind, id: lease.proc });
    for (const lease of leases) this.#leases.set(this.#leaseKey({ kind: lease.kind, id: lease.proc }, lease.run_id), deepFreeze({ ...lease }));
  }

  async readLease(ref: ProcRef, runId: string): Promise<LeaseRecord | undefined> {
    assertProcRef(ref);
    return this.#leases.get(this.#leaseKey(ref, runId));
  }

  async deleteLease(ref: ProcRef, runId: string): Promise<void> {
    assertProcRef(ref);
    this.#leases.delete(this.#leaseKey(ref, runId));
  }
}
