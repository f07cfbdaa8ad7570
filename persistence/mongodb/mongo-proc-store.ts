/**
 * The MongoDB store: procs live in the user's own collections, their ledgers in companion
 * collections, leases in one shared collection.
 *
 * Every "who wins" question is an insert under a unique `_id` (`<proc id>/<seq>`), which
 * MongoDB and FerretDB both arbitrate atomically; no guarantee rests on a filtered update
 * being atomic (FerretDB's are not). Document writes are still filtered on `sync_counter`, which
 * on MongoDB keeps a slow writer from moving a document backwards and on FerretDB narrows the
 * window in which it can; a document that lags is repaired from the ledger either way.
 *
 * Batches go out as one command per collection where the server makes that cheap; where it does
 * not serve `$in` from an index, point reads go one by one, and update batches go out in commands
 * of the size the server takes ({@link ServerCapabilities}).
 */
import type { AnyBulkWriteOperation, Collection, Db, Document, Filter } from 'mongodb';
import { PersistenceError, UnknownKindError } from '../../machines/errors.js';
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
import {
  PROC_FIELD_NAMES,
  type FieldFilter,
  type LeaseRecord,
  type StatusCounts,
  type StoredDocument,
  type TransitionRecord,
} from '../records.js';
import { chunks } from '../chunks.js';
import { serverCapabilities, type ServerCapabilities } from '../server-capabilities.js';
import { assertFieldFilter, assertFieldName, assertKindName, assertProcRef, assertSeq } from '../validate.js';
import { bulkWriteErrors, DUPLICATE_KEY, insertedCountOf, refusal, toPersistenceError, type BulkFailure } from './map-mongo-error.js';

/** Suffix of a kind's ledger collection, after its documents' collection name. */
export const DEFAULT_LEDGER_SUFFIX = '_transitions';
/** The collection holding every run's lease record. */
export const DEFAULT_LEASE_COLLECTION = 'procstate_leases';

/** Where one kind lives. */
export interface MongoKindCollections {
  /** The user's collection holding the kind's documents, e.g. `db.collection('uploads')`. */
  readonly documents: Collection<Document>;
  /** The kind's ledger. @defaultValue `<documents>_transitions` in the same database */
  readonly ledger?: Collection<Document> | undefined;
  /** The field of a child kind's documents holding the parent's id (indexed with the status). */
  readonly parentKey?: string | undefined;
}


/** Options of {@link MongoProcStore}. */
export interface MongoProcStoreOptions {
  /** The database; companion collections are created in it. */
  readonly db: Db;
  /** Per kind: its documents' collection (a name or a `Collection`), ledger and parent key. */
  readonly kinds: Readonly<Record<string, string | MongoKindCollections>>;
  /** The lease collection's name. @defaultValue {@link DEFAULT_LEASE_COLLECTION} */
  readonly leaseCollection?: string | undefined;
  /**
   * Capabilities to use instead of the server's: any subset of the flags. @defaultValue asked of
   * the server once (`buildInfo`), on the first operation that depends on one, unless the
   * environment variable `PROCSTATE_CAPABILITIES` names a set (docs/persistence.md)
   */
  readonly capabilities?: Partial<ServerCapabilities> | undefined;
}

/** A user document as procstate reads it: any fields, a string `_id`. */
type ProcDocument = Document & { _id: string };

/** A ledger record as stored: its key as `_id`, no `kind` (the collection is the kind's). */
export interface LedgerDocument extends Omit<TransitionRecord, 'kind'> {
  _id: string;
}

interface LeaseDocument extends LeaseRecord {
  _id: string;
}

interface ResolvedKind {
  readonly documents: Collection<ProcDocument>;
  readonly ledger: Collection<LedgerDocument>;
  readonly parentKey: string | undefined;
}

/** Ids per `$in` query. */
const IDS_PER_QUERY = 1_000;
/** Point reads in flight at once where `$in` is a scan. */
const POINT_READ_CONCURRENCY = 8;

/** The `_id` of a proc's ledger record: its unique (proc, sequence number) key. Internal. */
export function ledgerRecordId(id: string, seq: number): string {
  // Injective: the sequence number is the digits after the last slash.
  return `${id}/${seq}`;
}

/** A ledger record as the ledger collection stores it. Internal. */
export function toLedgerDocument(record: TransitionRecord): LedgerDocument {
  const { kind: _kind, ...rest } = record;
  return { _id: ledgerRecordId(record.proc, record.seq), ...rest };
}

function groupByKind<T>(items: readonly T[], kindOf: (item: T) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, index) => {
    const kind = kindOf(item);
    let indexes = groups.get(kind);
    if (indexes === undefined) groups.set(kind, (indexes = []));
    indexes.push(index);
  });
  return groups;
}

async function eachLimited<T>(items: readonly T[], limit: number, visit: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await visit(items[index] as T, index);
      }
    }),
  );
}

/**
 * A {@link ProcStore} on MongoDB (or any server speaking its protocol, FerretDB included).
 * Receives a connected `Db`; never opens or closes a client. Creates no index by itself: call
 * {@link MongoProcStore.ensureIndexes} once (the worker command does).
 *
 * @example
 * ```ts
 * import { MongoClient } from 'mongodb';
 * import { MongoProcStore } from 'procstate/persistence/mongodb';
 *
 * const db = new MongoClient(process.env.MONGODB_URI!).db('nomad');
 * const store = new MongoProcStore({ db, kinds: { upload: 'uploads', entry: { documents: db.collection('entries'), parentKey: 'upload_id' } } });
 * await store.ensureIndexes();
 * ```
 */
export class MongoProcStore implements ProcStore {
  readonly name = 'mongodb';
  readonly #kinds = new Map<string, ResolvedKind>();
  readonly #leases: Collection<LeaseDocument>;
  readonly #capabilities: () => Promise<ServerCapabilities>;

  constructor(options: MongoProcStoreOptions) {
    for (const [kind, spec] of Object.entries(options.kinds)) {
      assertKindName(kind);
      const documents = typeof spec === 'string' ? options.db.collection(spec) : spec.documents;
      const ledger = (typeof spec === 'string' ? undefined : spec.ledger) ?? options.db.collection(`${documents.collectionName}${DEFAULT_LEDGER_SUFFIX}`);
      const parentKey = typeof spec === 'string' ? undefined : spec.parentKey;
      if (parentKey !== undefined) assertFieldName(parentKey);
      this.#kinds.set(kind, {
        documents: documents as unknown as Collection<ProcDocument>,
        ledger: ledger as unknown as Collection<LedgerDocument>,
        parentKey,
      });
    }
    this.#leases = options.db.collection<LeaseDocument>(options.leaseCollection ?? DEFAULT_LEASE_COLLECTION);
    this.#capabilities = serverCapabilities(options.db.admin(), options.capabilities);
  }

  #kind(kind: string): ResolvedKind {
    const resolved = this.#kinds.get(kind);
    if (resolved === undefined) throw new UnknownKindError(kind, 'map it to a collection in the store\'s `kinds`');
    return resolved;
  }

  /** The capabilities this store uses: the server's (asked once), with the overrides applied. */
  capabilities(): Promise<ServerCapabilities> {
    return this.#capabilities();
  }

  /**
   * Creates the indexes status queries, ledger reads and the sweep rely on. Idempotent; call it
   * at deployment or start-up, never implicitly. Correctness does not depend on it (the `_id`
   * index arbitrates), speed does.
   */
  async ensureIndexes(): Promise<void> {
    try {
      for (const { documents, ledger, parentKey } of this.#kinds.values()) {
        await ledger.createIndex({ proc: 1, seq: -1 }, { name: 'procstate_proc_seq' });
        await ledger.createIndex({ at: 1 }, { name: 'procstate_at' });
        await documents.createIndex({ process_status: 1 }, { name: 'procstate_status' });
        if (parentKey !== undefined) {
          await documents.createIndex({ [parentKey]: 1, process_status: 1 }, { name: `procstate_${parentKey}_status` });
        }
      }
    } catch (error) {
      throw toPersistenceError(error, 'creating indexes');
    }
  }

  async insertTransitions(records: readonly TransitionRecord[]): Promise<TransitionInsertResult[]> {
    for (const record of records) {
      assertProcRef({ kind: record.kind, id: record.proc });
      assertSeq(record.seq);
    }
    const results: TransitionInsertResult[] = records.map(() => ({ status: 'inserted' }));
    await Promise.all(
      [...groupByKind(records, (record) => record.kind)].map(async ([kind, indexes]) => {
        const documents = indexes.map((index) => toLedgerDocument(records[index] as TransitionRecord));
        try {
          await this.#kind(kind).ledger.insertMany(documents, { ordered: false });
        } catch (error) {
          const failures = bulkWriteErrors(error);
          if (failures === undefined) throw toPersistenceError(error, `recording ${documents.length} transitions of ${kind}`);
          // Duplicate keys alone are a clear answer: every other record landed. Any other
          // failure (the server lost its PostgreSQL mid-command) is not: FerretDB then reports
          // some of the records that did not land, not all, and a record taken for inserted
          // that is not there is a gap a writer builds on. Such a batch is read back.
          if (failures.some((failure) => failure.code !== DUPLICATE_KEY) || insertedCountOf(error) !== documents.length - failures.length) {
            await this.#settleFromLedger(kind, indexes, records, results, failures, error);
            return;
          }
          for (const failure of failures) results[indexes[failure.index] as number] = { status: 'conflict' };
        }
      }),
    );
    return results;
  }

  /**
   * Decides each record of a batch whose outcome the server left unclear by reading the ledger:
   * our own record is there (inserted), another writer's is (conflict), none is (failed).
   * @throws PersistenceError when the ledger cannot be read either
   */
  async #settleFromLedger(kind: string, indexes: readonly number[], records: readonly TransitionRecord[], results: TransitionInsertResult[], failures: readonly BulkFailure[], error: unknown): Promise<void> {
    let found: Array<TransitionRecord | undefined>;
    try {
      found = await this.readTransitionsAt(indexes.map((index) => ({ ref: { kind, id: (records[index] as TransitionRecord).proc }, seq: (records[index] as TransitionRecord).seq })));
    } catch {
      throw toPersistenceError(error, `recording ${indexes.length} transitions of ${kind}`);
    }
    const refused = new Map(failures.map((failure) => [failure.index, failure]));
    indexes.forEach((index, position) => {
      const record = records[index] as TransitionRecord;
      const landed = found[position];
      if (landed?.write_id === record.write_id) results[index] = { status: 'inserted' };
      else if (landed !== undefined) results[index] = { status: 'conflict' };
      else {
        const what = `recording ${record.kind} ${JSON.stringify(record.proc)} #${record.seq}`;
        const failure = refused.get(position);
        results[index] = {
          status: 'failed',
          error:
            failure === undefined
              ? new PersistenceError(`${what} failed: ${error instanceof Error ? error.message : String(error)}`, { kind: record.kind, id: record.proc, cause: error })
              : refusal(failure, what, { kind: record.kind, id: record.proc }),
        };
      }
    });
  }

  #toRecord(kind: string, document: LedgerDocument | null | undefined): TransitionRecord | undefined {
    if (document === null || document === undefined) return undefined;
    const { _id, ...rest } = document;
    return { kind, ...rest } as TransitionRecord;
  }

  async readTransitionsAt(keys: readonly RecordKey[]): Promise<Array<TransitionRecord | undefined>> {
    for (const { ref, seq } of keys) {
      assertProcRef(ref);
      assertSeq(seq);
    }
    const results: Array<TransitionRecord | undefined> = keys.map(() => undefined);
    // A single key is one point read on any server; only batches need to know how to batch.
    const batched = keys.length > 1 && (await this.#capabilities()).indexedIn;
    await this.#read(`reading ${keys.length} ledger records`, () =>
      Promise.all(
        [...groupByKind(keys, (key) => key.ref.kind)].map(async ([kind, indexes]) => {
          const { ledger } = this.#kind(kind);
          if (!batched) {
            // Without an index behind `$in` it scans the whole ledger; one point read per key does not.
            await eachLimited(indexes, POINT_READ_CONCURRENCY, async (index) => {
              const { ref, seq } = keys[index] as RecordKey;
              results[index] = this.#toRecord(kind, await ledger.findOne({ _id: ledgerRecordId(ref.id, seq) }));
            });
            return;
          }
          for (const part of chunks(indexes, IDS_PER_QUERY)) {
            const ids = part.map((index) => ledgerRecordId((keys[index] as RecordKey).ref.id, (keys[index] as RecordKey).seq));
            const found = new Map((await ledger.find({ _id: { $in: ids } }).toArray()).map((document) => [document._id, document]));
            part.forEach((index, position) => {
              results[index] = this.#toRecord(kind, found.get(ids[position] as string));
            });
          }
        }),
      ),
    );
    return results;
  }

  async readTransitions(ref: ProcRef, options: ReadTransitionsOptions = {}): Promise<TransitionRecord[]> {
    assertProcRef(ref);
    const fromSeq = options.fromSeq ?? 1;
    assertSeq(fromSeq);
    return this.#read(`reading the ledger of ${ref.kind} ${ref.id}`, async () => {
      let cursor = this.#kind(ref.kind).ledger.find({ proc: ref.id, seq: { $gte: fromSeq } }).sort({ seq: 1 });
      if (options.limit !== undefined) cursor = cursor.limit(options.limit);
      const documents = await cursor.toArray();
      return documents.map((document) => this.#toRecord(ref.kind, document) as TransitionRecord);
    });
  }

  async readHead(ref: ProcRef): Promise<TransitionRecord | undefined> {
    assertProcRef(ref);
    return this.#read(`reading the ledger head of ${ref.kind} ${ref.id}`, async () => {
      const [head] = await this.#kind(ref.kind).ledger.find({ proc: ref.id }).sort({ seq: -1 }).limit(1).toArray();
      return this.#toRecord(ref.kind, head);
    });
  }

  async trimTransitions(ref: ProcRef, seq: number): Promise<number> {
    assertProcRef(ref);
    assertSeq(seq);
    return this.#read(`trimming the ledger of ${ref.kind} ${ref.id}`, async () => {
      const result = await this.#kind(ref.kind).ledger.deleteMany({ proc: ref.id, seq: { $gt: 1, $lt: seq } });
      return result.deletedCount;
    });
  }

  async readTransitionsBetween(kind: string, since: Date, until: Date, limit: number): Promise<Array<Pick<TransitionRecord, 'proc' | 'seq'>>> {
    assertKindName(kind);
    return this.#read(`reading recent records of ${kind}`, async () => {
      const documents = await this.#kind(kind)
        .ledger.find({ at: { $gte: since, $lt: until } }, { projection: { _id: 0, proc: 1, seq: 1 } })
        .sort({ at: 1 })
        .limit(limit)
        .toArray();
      return documents.map((document) => ({ proc: document.proc, seq: document.seq }));
    });
  }

  async readDocument(ref: ProcRef): Promise<StoredDocument | undefined> {
    assertProcRef(ref);
    return this.#read(`reading ${ref.kind} ${ref.id}`, async () => {
      const document = await this.#kind(ref.kind).documents.findOne({ _id: ref.id });
      return (document ?? undefined) as StoredDocument | undefined;
    });
  }

  async readSyncCounters(kind: string, ids: readonly string[]): Promise<Map<string, number>> {
    assertKindName(kind);
    for (const id of ids) assertProcRef({ kind, id });
    const { documents } = this.#kind(kind);
    const counters = new Map<string, number>();
    const note = (document: Document | null) => {
      if (document !== null && typeof document['sync_counter'] === 'number') counters.set(String(document['_id']), document['sync_counter']);
    };
    const { indexedIn } = await this.#capabilities();
    await this.#read(`reading the counters of ${ids.length} ${kind} documents`, async () => {
      if (!indexedIn) {
        await eachLimited(ids, POINT_READ_CONCURRENCY, async (id) => note(await documents.findOne({ _id: id }, { projection: { sync_counter: 1 } })));
        return;
      }
      for (const part of chunks(ids, IDS_PER_QUERY)) {
        for (const document of await documents.find({ _id: { $in: part } }, { projection: { sync_counter: 1 } }).toArray()) note(document);
      }
    });
    return counters;
  }

  async insertDocuments(newDocuments: readonly NewDocument[]): Promise<DocumentInsertResult[]> {
    for (const { ref, fields } of newDocuments) {
      assertProcRef(ref);
      assertSeq(fields.sync_counter);
    }
    const results: DocumentInsertResult[] = newDocuments.map(() => ({ status: 'inserted' }));
    await Promise.all(
      [...groupByKind(newDocuments, (document) => document.ref.kind)].map(async ([kind, indexes]) => {
        const documents = indexes.map((index) => {
          const { ref, fields, init } = newDocuments[index] as NewDocument;
          return { ...init, ...fields, _id: ref.id } as ProcDocument;
        });
        try {
          await this.#kind(kind).documents.insertMany(documents, { ordered: false });
        } catch (error) {
          const failures = bulkWriteErrors(error);
          if (failures === undefined) throw toPersistenceError(error, `creating ${documents.length} ${kind} documents`);
          for (const failure of failures) {
            const index = indexes[failure.index] as number;
            const { ref } = newDocuments[index] as NewDocument;
            results[index] = failure.code === DUPLICATE_KEY ? { status: 'exists' } : { status: 'failed', error: refusal(failure, `creating ${kind} ${JSON.stringify(ref.id)}`, ref) };
          }
        }
      }),
    );
    return results;
  }

  async writeDocuments(writes: readonly DocumentWrite[]): Promise<void> {
    for (const { ref, fields } of writes) {
      assertProcRef(ref);
      assertSeq(fields.sync_counter);
    }
    const perCommand = (await this.#capabilities()).updatesPerCommand;
    // One update command at a time, over all kinds: where a server holds resources per statement
    // until the command ends (FerretDB 1.x), commands in flight must stay few.
    for (const [kind, indexes] of groupByKind(writes, (write) => write.ref.kind)) {
      const operations: AnyBulkWriteOperation<ProcDocument>[] = indexes.map((index) => {
        const { ref, fields, init } = writes[index] as DocumentWrite;
        return {
          updateOne: {
            filter: { _id: ref.id, $or: [{ sync_counter: { $lt: fields.sync_counter } }, { sync_counter: { $exists: false } }] } as Filter<ProcDocument>,
            update: { $set: { ...(init ?? {}), ...fields } },
          },
        };
      });
      for (const part of chunks(operations, perCommand)) {
        try {
          await this.#kind(kind).documents.bulkWrite(part, { ordered: false });
        } catch (error) {
          throw toPersistenceError(error, `copying ${part.length} ${kind} records to their documents`);
        }
      }
    }
  }

  async deleteDocument(ref: ProcRef): Promise<void> {
    assertProcRef(ref);
    await this.#read(`deleting ${ref.kind} ${ref.id}`, () => this.#kind(ref.kind).documents.deleteOne({ _id: ref.id }));
  }

  #where(where: FieldFilter | undefined): Filter<ProcDocument> {
    if (where === undefined) return {};
    assertFieldFilter(where);
    return { [where.field]: where.value };
  }

  // Without `indexedIn` / `indexedAggregation` status queries use one equality filter per status:
  // FerretDB 1.x pushes equality down to PostgreSQL while it evaluates `$in` and aggregations in
  // memory (400 ms against 7 ms over 10,000 children). With them one query over the (parent
  // key, status) index does.

  async countByStatus(kind: string, where?: FieldFilter): Promise<StatusCounts> {
    assertKindName(kind);
    const match = this.#where(where);
    const { documents } = this.#kind(kind);
    const { indexedAggregation } = await this.#capabilities();
    return this.#read(`counting ${kind} by status`, async () => {
      const counts = Object.fromEntries(PROCESS_STATUSES.map((status) => [status, 0])) as StatusCounts;
      if (!indexedAggregation) {
        for (const status of PROCESS_STATUSES) counts[status] = await documents.countDocuments({ ...match, process_status: status });
        return counts;
      }
      const groups = await documents.aggregate<{ _id: unknown; n: number }>([{ $match: match }, { $group: { _id: '$process_status', n: { $sum: 1 } } }]).toArray();
      for (const group of groups) if (typeof group._id === 'string' && group._id in counts) counts[group._id as ProcessStatus] = group.n;
      return counts;
    });
  }

  async anyInStatus(kind: string, statuses: readonly ProcessStatus[], where?: FieldFilter): Promise<boolean> {
    assertKindName(kind);
    const match = this.#where(where);
    const { documents } = this.#kind(kind);
    const { indexedIn } = await this.#capabilities();
    return this.#read(`looking for ${kind} by status`, async () => {
      if (indexedIn) return (await documents.findOne({ ...match, process_status: { $in: [...statuses] } }, { projection: { _id: 1 } })) !== null;
      for (const status of statuses) {
        if ((await documents.findOne({ ...match, process_status: status }, { projection: { _id: 1 } })) !== null) return true;
      }
      return false;
    });
  }

  async findByStatus(kind: string, statuses: readonly ProcessStatus[], options: FindByStatusOptions): Promise<StoredDocument[]> {
    assertKindName(kind);
    const match = this.#where(options.where);
    const { afterId, idPrefix } = options;
    if (afterId !== undefined) assertProcRef({ kind, id: afterId });
    if (idPrefix !== undefined) assertProcRef({ kind, id: idPrefix });
    const projection = Object.fromEntries(PROC_FIELD_NAMES.map((name) => [name, 1]));
    const { documents } = this.#kind(kind);
    const { indexedIn } = await this.#capabilities();
    const idRange = idRangeOf(afterId, idPrefix);
    const page = (filter: Filter<ProcDocument>) => {
      if (idRange !== undefined) filter['_id'] = idRange;
      return documents.find(filter, { projection }).sort({ _id: 1 }).limit(options.limit).toArray();
    };
    return this.#read(`listing ${kind} by status`, async () => {
      if (indexedIn) return (await page({ ...match, process_status: { $in: [...statuses] } })) as StoredDocument[];
      const found: ProcDocument[] = [];
      for (const status of statuses) found.push(...(await page({ ...match, process_status: status })));
      found.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      return found.slice(0, options.limit) as StoredDocument[];
    });
  }

  #leaseId(ref: ProcRef, runId: string): string {
    return `${ref.kind}/${ref.id}/${runId}`;
  }

  async writeLeases(leases: readonly LeaseRecord[]): Promise<void> {
    for (const lease of leases) assertProcRef({ kind: lease.kind, id: lease.proc });
    if (leases.length === 0) return;
    const perCommand = (await this.#capabilities()).updatesPerCommand;
    const operations: AnyBulkWriteOperation<LeaseDocument>[] = leases.map((lease) => ({
      updateOne: { filter: { _id: this.#leaseId({ kind: lease.kind, id: lease.proc }, lease.run_id) }, update: { $set: { ...lease } }, upsert: true },
    }));
    await this.#read(`renewing ${leases.length} leases`, async () => {
      for (const part of chunks(operations, perCommand)) await this.#leases.bulkWrite(part, { ordered: false });
    });
  }

  async readLease(ref: ProcRef, runId: string): Promise<LeaseRecord | undefined> {
    assertProcRef(ref);
    return this.#read(`reading the lease of ${ref.kind} ${ref.id}`, async () => {
      const document = await this.#leases.findOne({ _id: this.#leaseId(ref, runId) });
      if (document === null) return undefined;
      const { _id, ...lease } = document;
      return lease;
    });
  }

  async deleteLease(ref: ProcRef, runId: string): Promise<void> {
    assertProcRef(ref);
    await this.#read(`deleting the lease of ${ref.kind} ${ref.id}`, () => this.#leases.deleteOne({ _id: this.#leaseId(ref, runId) }));
  }

  async #read<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw toPersistenceError(error, what);
    }
  }
}

/**
 * The `_id` bounds of a page: after the last id seen, and within the ids that start with a
 * prefix. A prefix is a range (`[prefix, prefix + U+FFFF)`), never a regular expression, so
 * user text needs no escaping and every server serves it from the `_id` index.
 */
function idRangeOf(afterId: string | undefined, idPrefix: string | undefined): Record<string, string> | undefined {
  const range: Record<string, string> = {};
  if (afterId !== undefined) range['$gt'] = afterId;
  if (idPrefix !== undefined) {
    if (afterId === undefined || afterId < idPrefix) {
      delete range['$gt'];
      range['$gte'] = idPrefix;
    }
    range['$lt'] = `${idPrefix}\uffff`;
  }
  return Object.keys(range).length === 0 ? undefined : range;
}
