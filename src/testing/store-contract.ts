/**
 * The store contract: what every ProcStore must do, checked through the port and through the
 * ledger protocol on top of it. A store adapter's test file calls
 * {@link describeProcStoreContract} with its own factory (vitest runs it); procstate runs it on
 * the memory store and the MongoDB store, unchanged.
 */
import { randomUUID } from 'node:crypto';
import { applyProcEvent, initialProcState, type ProcEvent, type ProcessCall, type ProcMachineState } from '../../machines/index.js';
import {
  ProcLedger,
  encodeProcFields,
  transitionRecord,
  type ProcStore,
  type StoredDocument,
  type StoredProc,
  type TransitionRecord,
} from '../../persistence/index.js';
import { CorruptDocumentError, InvalidArgumentError, ProcAlreadyExistsError, TransitionConflictError } from '../../machines/errors.js';
import { vitest } from './peers.js';

const { afterEach, beforeEach, describe, expect, it } = vitest;

// A fixed time, so that records compare equal across stores.
const AT = '2026-01-01T00:00:00.000Z';

function callOf(id: string, overrides: Partial<ProcessCall>): ProcessCall {
  return { id, process: 'process_upload', args: '{}', blocking: false, clear_queue_on_failure: true, child: false, called_at: AT, ...overrides };
}

const events = {
  called: (id = 'call-1', overrides: Partial<ProcessCall> = {}): ProcEvent => ({ type: 'process.called', call: callOf(id, overrides), at: AT }),
  started: (callId = 'call-1', runId = 'run-1'): ProcEvent => ({ type: 'worker.started', call_id: callId, run_id: runId, worker: 'w1', job_id: 'job-1', lease_ms: 60_000, at: AT }),
};

/** What an adapter gives the contract. */
export interface ProcStoreContractOptions {
  /** Shown in test names. */
  readonly name: string;
  /** A fresh, empty store for kinds `upload` and `entry` (entry's parent key is `upload_id`). */
  createStore(): Promise<ProcStore>;
  /** Writes a document exactly as given, bypassing procstate (hand edits, fixtures). */
  putRawDocument(store: ProcStore, kind: string, document: Record<string, unknown> & { _id: string }): Promise<void>;
  /** Releases what createStore made. */
  cleanup?(store: ProcStore): Promise<void>;
}

function meta(cause: string, at = new Date(AT)) {
  return { cause, event: null, at, worker: 'contract', runId: null };
}

function recordOf(kind: string, id: string, seq: number, state: ProcMachineState | null): TransitionRecord {
  return transitionRecord({ ref: { kind, id }, seq, from: null, state, meta: { cause: 'contract', event: null, at: new Date(AT), worker: 'contract', runId: null } });
}

/** Inserts one record, as a batch of one; `true` when it won. */
async function insertOne(store: ProcStore, record: TransitionRecord): Promise<boolean> {
  const [result] = await store.insertTransitions([record]);
  if (result?.status === 'failed') throw result.error;
  return result?.status === 'inserted';
}

async function readOne(store: ProcStore, ref: { kind: string; id: string }, seq: number): Promise<TransitionRecord | undefined> {
  const [record] = await store.readTransitionsAt([{ ref, seq }]);
  return record;
}

function next(state: ProcMachineState, event: ProcEvent): ProcMachineState {
  const result = applyProcEvent(state, event);
  if (!result.accepted) throw new Error(`${event.type} rejected in ${state.status}`);
  return result.state;
}

/** Registers the contract's tests for one adapter. */
export function describeProcStoreContract(options: ProcStoreContractOptions): void {
  describe(`ProcStore contract: ${options.name}`, () => {
    let store: ProcStore;
    let ledger: ProcLedger;
    const upload = (id = `u-${randomUUID()}`) => ({ kind: 'upload', id });

    beforeEach(async () => {
      store = await options.createStore();
      ledger = new ProcLedger(store);
    });
    afterEach(async () => {
      await options.cleanup?.(store);
    });

    describe('the ledger insert arbitrates', () => {
      it('lets exactly one of many racing inserts of a sequence number win', async () => {
        const ref = upload();
        for (const seq of [1, 2]) {
          const results = await Promise.all(Array.from({ length: 12 }, () => store.insertTransitions([recordOf(ref.kind, ref.id, seq, initialProcState(null))])));
          const statuses = results.map(([result]) => result?.status);
          expect(statuses.filter((status) => status === 'inserted')).toHaveLength(1);
          expect(statuses.filter((status) => status === 'conflict')).toHaveLength(11);
        }
        expect((await store.readTransitions(ref)).map((record) => record.seq)).toEqual([1, 2]);
      });

      it('decides every key of a batch on its own, and batches racing batches and single inserts leave one winner per key', async () => {
        const refs = Array.from({ length: 6 }, () => upload());
        // Keys 1 of the first three exist already: inside a batch they lose, the others win.
        for (const ref of refs.slice(0, 3)) expect(await insertOne(store, recordOf(ref.kind, ref.id, 1, initialProcState(null)))).toBe(true);
        const batch = refs.map((ref) => recordOf(ref.kind, ref.id, 1, initialProcState(null)));
        expect((await store.insertTransitions(batch)).map((result) => result.status)).toEqual(['conflict', 'conflict', 'conflict', 'inserted', 'inserted', 'inserted']);
        // Two records of one key in one batch: the first wins.
        const twice = upload();
        const pair = [recordOf(twice.kind, twice.id, 1, initialProcState(null)), recordOf(twice.kind, twice.id, 1, initialProcState(null))];
        expect((await store.insertTransitions(pair)).map((result) => result.status)).toEqual(['inserted', 'conflict']);
        expect((await readOne(store, twice, 1))?.write_id).toBe(pair[0]?.write_id);
        // Four batches and eight single inserts race for the same six keys #2.
        const racers = [
          ...Array.from({ length: 4 }, () => store.insertTransitions(refs.map((ref) => recordOf(ref.kind, ref.id, 2, initialProcState(null))))),
          ...refs.concat(refs.slice(0, 2)).map((ref) => store.insertTransitions([recordOf(ref.kind, ref.id, 2, initialProcState(null))])),
        ];
        const outcomes = (await Promise.all(racers)).flat();
        expect(outcomes.every((result) => result.status === 'inserted' || result.status === 'conflict')).toBe(true);
        expect(outcomes.filter((result) => result.status === 'inserted')).toHaveLength(refs.length);
        for (const ref of refs) expect((await store.readTransitions(ref)).map((record) => record.seq)).toEqual([1, 2]);
      });

      it('reads records by key in a batch, in input order, undefined where there is none', async () => {
        const [a, b] = [upload(), upload()];
        await store.insertTransitions([recordOf(a.kind, a.id, 1, initialProcState(null)), recordOf(b.kind, b.id, 1, initialProcState(null)), recordOf(b.kind, b.id, 2, initialProcState(null))]);
        const read = await store.readTransitionsAt([{ ref: b, seq: 2 }, { ref: a, seq: 2 }, { ref: a, seq: 1 }, { ref: { kind: 'entry', id: a.id }, seq: 1 }]);
        expect(read.map((record) => (record === undefined ? undefined : [record.proc, record.seq]))).toEqual([[b.id, 2], undefined, [a.id, 1], undefined]);
      });

      it('reads records by sequence, in order, from a start and up to a limit', async () => {
        const ref = upload();
        for (const seq of [1, 2, 3, 4]) await insertOne(store, recordOf(ref.kind, ref.id, seq, initialProcState(null)));
        expect((await readOne(store, ref, 3))?.seq).toBe(3);
        expect(await readOne(store, ref, 9)).toBeUndefined();
        expect((await store.readTransitions(ref, { fromSeq: 2, limit: 2 })).map((record) => record.seq)).toEqual([2, 3]);
        expect((await store.readHead(ref))?.seq).toBe(4);
        expect(await store.readHead(upload())).toBeUndefined();
        expect(await store.trimTransitions(ref, 4)).toBe(2);
        expect((await store.readTransitions(ref)).map((record) => record.seq)).toEqual([1, 4]);
      });

      it('keeps a record exactly as written (dates, nulls, nested snapshot)', async () => {
        const ref = upload();
        const state = next(initialProcState({ kind: 'upload', id: 'p' }), events.called('c', { args: '{"a":[[1,2]],"b.c":{"$x":1}}' }));
        const record = { ...recordOf(ref.kind, ref.id, 1, state), event: { nested: { list: ['x'] } }, init: { name: 'n' } };
        await insertOne(store, record);
        expect(await readOne(store, ref, 1)).toEqual(record);
      });

      it('lists records of a kind written in a time window', async () => {
        const ref = upload();
        const at = ['2020-01-01T00:00:00Z', '2026-06-01T00:00:00Z', '2030-01-01T00:00:00Z'];
        for (const [index, time] of at.entries()) {
          await insertOne(store, { ...recordOf(ref.kind, ref.id, index + 1, initialProcState(null)), at: new Date(time) });
        }
        const between = await store.readTransitionsBetween('upload', new Date('2025-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'), 10);
        expect(between).toEqual([{ proc: ref.id, seq: 2 }]);
      });
    });

    describe('documents are copies that never move backwards', () => {
      it('creates documents only by inserting them, writes later states, never an older one, and keeps user fields', async () => {
        const ref = upload();
        const state = initialProcState(null);
        await store.writeDocuments([{ ref, fields: encodeProcFields(state, 1) }]);
        expect(await store.readDocument(ref)).toBeUndefined();
        expect(await store.insertDocuments([{ ref, fields: encodeProcFields(state, 1), init: { title: 'mine' } }])).toEqual([{ status: 'inserted' }]);
        expect(await store.insertDocuments([{ ref, fields: encodeProcFields(state, 1), init: { title: 'theirs' } }])).toEqual([{ status: 'exists' }]);
        const pending = next(state, events.called());
        await store.writeDocuments([{ ref, fields: encodeProcFields(pending, 3) }]);
        await store.writeDocuments([{ ref, fields: encodeProcFields(state, 2) }, { ref, fields: encodeProcFields(state, 3) }]);
        const document = await store.readDocument(ref);
        expect(document).toMatchObject({ _id: ref.id, title: 'mine', process_status: 'PENDING', sync_counter: 3 });
        expect(await store.readSyncCounters('upload', [ref.id, upload().id])).toEqual(new Map([[ref.id, 3]]));
        await store.deleteDocument(ref);
        expect(await store.readDocument(ref)).toBeUndefined();
      });

      it('writes a batch of copies of many documents, each guarded by its own counter', async () => {
        const refs = Array.from({ length: 9 }, () => upload());
        const state = initialProcState(null);
        const pending = next(state, events.called());
        expect((await store.insertDocuments(refs.map((ref) => ({ ref, fields: encodeProcFields(state, 2), init: {} })))).map((result) => result.status)).toEqual(refs.map(() => 'inserted'));
        // Odd documents move on to 3; even ones are offered an older state, which must not land.
        await store.writeDocuments(refs.map((ref, index) => ({ ref, fields: encodeProcFields(index % 2 === 1 ? pending : state, index % 2 === 1 ? 3 : 1) })));
        const counters = await store.readSyncCounters('upload', refs.map((ref) => ref.id));
        expect(refs.map((ref) => counters.get(ref.id))).toEqual(refs.map((_, index) => (index % 2 === 1 ? 3 : 2)));
      });

      it('leaves fields it does not own alone', async () => {
        const ref = upload();
        await options.putRawDocument(store, 'upload', { _id: ref.id, upload_name: 'x', main_author: 'a', nested: { k: [1] } });
        await store.writeDocuments([{ ref, fields: encodeProcFields(initialProcState(null), 1) }]);
        expect(await store.readDocument(ref)).toMatchObject({ upload_name: 'x', main_author: 'a', nested: { k: [1] }, process_status: 'READY' });
      });
    });

    describe('queries by status', () => {
      it('counts, tests and lists documents by status, per parent', async () => {
        const states: ProcMachineState[] = [initialProcState(null), next(initialProcState(null), events.called())];
        const parent = `u-${randomUUID()}`;
        for (let index = 0; index < 7; index += 1) {
          const ref = { kind: 'entry', id: `${parent}-e${index}` };
          await store.insertDocuments([{ ref, fields: encodeProcFields(states[index % 2] as ProcMachineState, 1), init: { upload_id: index < 6 ? parent : 'other' } }]);
        }
        const where = { field: 'upload_id', value: parent };
        const counts = await store.countByStatus('entry', where);
        expect(counts).toMatchObject({ READY: 3, PENDING: 3, RUNNING: 0, SUCCESS: 0 });
        expect(await store.anyInStatus('entry', ['PENDING'], where)).toBe(true);
        expect(await store.anyInStatus('entry', ['RUNNING', 'WAITING_FOR_RESULT'], where)).toBe(false);
        const firstPage = await store.findByStatus('entry', ['READY', 'PENDING'], { limit: 4, where });
        const secondPage = await store.findByStatus('entry', ['READY', 'PENDING'], { limit: 4, where, afterId: firstPage[firstPage.length - 1]?._id });
        expect([...firstPage, ...secondPage].map((document) => document._id)).toEqual(Array.from({ length: 6 }, (_, index) => `${parent}-e${index}`));
        expect(firstPage[1]).toMatchObject({ process_status: 'PENDING', sync_counter: 1, procstate: { machine: 'procstate.proc' } });
      });

      it('lists ids that start with a prefix, paged, and takes regular-expression characters literally', async () => {
        const base = `p-${randomUUID()}`;
        const ids = [`${base}.a1`, `${base}.a2`, `${base}.a3`, `${base}xa4`, `${base}.b1`, `${base}.`];
        for (const id of ids) await store.insertDocuments([{ ref: { kind: 'upload', id }, fields: encodeProcFields(initialProcState(null), 1), init: {} }]);
        const prefixed = (idPrefix: string, afterId?: string) =>
          store.findByStatus('upload', ['READY'], { limit: 2, idPrefix, afterId }).then((documents) => documents.map((document) => document._id));
        expect(await prefixed(`${base}.a`)).toEqual([`${base}.a1`, `${base}.a2`]);
        expect(await prefixed(`${base}.a`, `${base}.a2`)).toEqual([`${base}.a3`]);
        expect(await prefixed(`${base}.`, `${base}.a3`)).toEqual([`${base}.b1`]);
        expect(await prefixed(`${base}.`, `${base}`)).toEqual([`${base}.`, `${base}.a1`]);
        expect(await prefixed(`${base}.*`)).toEqual([]);
        await expect(store.findByStatus('upload', ['READY'], { limit: 2, idPrefix: { $gt: '' } as unknown as string })).rejects.toThrow(InvalidArgumentError);
      });
    });

    describe('leases have one writer, their holder', () => {
      it('writes, renews, reads and deletes a lease', async () => {
        const ref = upload();
        const lease = { kind: 'upload', proc: ref.id, run_id: 'r1', holder: 'w1', expires_at: new Date('2030-01-01T00:00:00Z'), renewed_at: new Date(AT) };
        await store.writeLeases([lease]);
        await store.writeLeases([{ ...lease, expires_at: new Date('2030-01-01T00:01:00Z') }]);
        expect(await store.readLease(ref, 'r1')).toEqual({ ...lease, expires_at: new Date('2030-01-01T00:01:00Z') });
        expect(await store.readLease(ref, 'r2')).toBeUndefined();
        await store.deleteLease(ref, 'r1');
        expect(await store.readLease(ref, 'r1')).toBeUndefined();
      });
    });

    describe('bad input is refused before it reaches a filter', () => {
      it('refuses operator objects and other non-ids, and changes nothing', async () => {
        const bad: unknown[] = [{ $ne: null }, { $gt: '' }, '', 'a\u0000b', 42, null, ['x'], 'x'.repeat(600)];
        for (const id of bad) {
          const ref = { kind: 'upload', id } as unknown as { kind: string; id: string };
          await expect(store.readDocument(ref)).rejects.toBeInstanceOf(InvalidArgumentError);
          await expect(store.readHead(ref)).rejects.toBeInstanceOf(InvalidArgumentError);
          await expect(ledger.load(ref)).rejects.toBeInstanceOf(InvalidArgumentError);
          await expect(store.countByStatus('entry', { field: 'upload_id', value: id as string })).rejects.toBeInstanceOf(InvalidArgumentError);
        }
        for (const field of ['$where', 'a.b', '', { $ne: 1 }]) {
          await expect(store.anyInStatus('entry', ['READY'], { field: field as string, value: 'x' })).rejects.toBeInstanceOf(InvalidArgumentError);
        }
        await expect(store.readDocument({ kind: '$cmd', id: 'x' })).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(await store.countByStatus('upload')).toMatchObject({ READY: 0, PENDING: 0 });
      });
    });

    describe('the ledger protocol over this store', () => {
      it('creates, appends and loads; losers of a race get a conflict and the history has no gap', async () => {
        const ref = upload();
        const created = await ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w', init: { upload_name: 'n' } });
        const state = next(created.state, events.called());
        const racers = await Promise.allSettled(Array.from({ length: 8 }, () => ledger.append(created, state, meta('process.called'))));
        expect(racers.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        expect(racers.filter((result) => result.status === 'rejected' && result.reason instanceof TransitionConflictError)).toHaveLength(7);
        const loaded = await ledger.load(ref);
        expect(loaded).toEqual({ ref, seq: 2, state });
        expect((await ledger.history(ref)).map((record) => [record.seq, record.from, record.to, record.cause])).toEqual([
          [1, null, 'READY', 'created'],
          [2, 'READY', 'PENDING', 'process.called'],
        ]);
        expect(await store.readDocument(ref)).toMatchObject({ upload_name: 'n', sync_counter: 2, process_status: 'PENDING' });
        await expect(ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' })).rejects.toBeInstanceOf(ProcAlreadyExistsError);
      });

      it('repairs a document when its writer died between the insert and the copy', async () => {
        const ref = upload();
        const created = await ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w', init: { upload_name: 'n' } });
        const pending = next(created.state, events.called());
        const running = next(pending, events.started());
        // Two records land, no document write follows them.
        await insertOne(store, { ...recordOf(ref.kind, ref.id, 2, pending), from: 'READY' });
        await insertOne(store, { ...recordOf(ref.kind, ref.id, 3, running), from: 'PENDING' });
        expect(await store.readDocument(ref)).toMatchObject({ sync_counter: 1, process_status: 'READY' });
        const loaded = await ledger.load(ref);
        expect(loaded).toEqual({ ref, seq: 3, state: running });
        expect(await store.readDocument(ref)).toMatchObject({ sync_counter: 3, process_status: 'RUNNING', upload_name: 'n' });
        // A stale writer that still believes in seq 1 or 2 loses.
        await expect(ledger.append(created, pending, meta('process.called'))).rejects.toBeInstanceOf(TransitionConflictError);
      });

      it('shares round trips between transitions of different procs, and still gives one winner per key', async () => {
        const refs = Array.from({ length: 24 }, () => upload());
        const created = await Promise.all(refs.map((ref) => ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' })));
        const inserts: number[] = [];
        const counting = new ProcLedger(
          new Proxy(store, {
            get(target, key, receiver) {
              const value = Reflect.get(target, key, receiver) as unknown;
              if (key !== 'insertTransitions' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
              return (records: readonly TransitionRecord[]) => {
                inserts.push(records.length);
                return (value as (r: readonly TransitionRecord[]) => unknown).call(target, records);
              };
            },
          }),
        );
        // Each proc's transition twice: the two copies race inside the same batches.
        const results = await Promise.allSettled(created.flatMap((proc) => [0, 1].map(() => counting.append(proc, next(proc.state, events.called()), meta('process.called')))));
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(refs.length);
        for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(TransitionConflictError);
        expect(inserts.reduce((total, size) => total + size, 0)).toBe(refs.length * 2);
        expect(inserts.length).toBeLessThan(refs.length);
        for (const ref of refs) expect(await ledger.load(ref)).toMatchObject({ seq: 2, state: { status: 'PENDING' } });
      });

      it('creates many procs without reading first, and reports what it could not create', async () => {
        const [fresh, existing, own, foreign] = [upload(), upload(), upload(), upload()];
        await ledger.create(existing, initialProcState(null), { at: new Date(AT), worker: 'w' });
        await options.putRawDocument(store, 'upload', { _id: own.id, upload_name: 'own' });
        await options.putRawDocument(store, 'upload', { _id: foreign.id, tasks_status: 'SUCCESS', current_task: 'cleanup' });
        const foreignBefore = await store.readDocument(foreign);
        const results = await ledger.createMany(
          [fresh, existing, own, foreign].map((ref) => ({ ref, state: initialProcState(null), init: { upload_name: `n-${ref.id}` } })),
          { at: new Date(AT), worker: 'w' },
        );
        expect(results.map((result) => result.status)).toEqual(['created', 'exists', 'created', 'failed']);
        expect(results[3]?.status === 'failed' && results[3].error).toBeInstanceOf(CorruptDocumentError);
        expect(await store.readDocument(fresh)).toMatchObject({ upload_name: `n-${fresh.id}`, process_status: 'READY', sync_counter: 1 });
        // The user's own document is adopted, its fields and the creation's together.
        expect(await store.readDocument(own)).toMatchObject({ upload_name: `n-${own.id}`, process_status: 'READY', sync_counter: 1 });
        expect(await store.readDocument(foreign)).toEqual(foreignBefore);
        expect((await ledger.history(existing)).map((record) => record.cause)).toEqual(['created']);
      });

      it('repairs a batch that a crash left half-applied: some copies landed, some did not', async () => {
        const refs = Array.from({ length: 8 }, () => upload());
        const created = await Promise.all(refs.map((ref) => ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w', init: { upload_name: 'n' } })));
        const pending = created.map((proc) => next(proc.state, events.called()));
        // The batch's records all landed; the writer died after copying half of them.
        await store.insertTransitions(refs.map((ref, index) => ({ ...recordOf(ref.kind, ref.id, 2, pending[index] as ProcMachineState), from: 'READY' })));
        await store.writeDocuments(refs.slice(0, 4).map((ref, index) => ({ ref, fields: encodeProcFields(pending[index] as ProcMachineState, 2) })));
        for (const ref of refs) {
          expect(await ledger.load(ref)).toMatchObject({ seq: 2, state: { status: 'PENDING' } });
          expect(await store.readDocument(ref)).toMatchObject({ sync_counter: 2, process_status: 'PENDING', upload_name: 'n' });
        }
      });

      it('rebuilds a document lost after later transitions, from the head and the creation\u2019s fields', async () => {
        const ref = upload();
        const created = await ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w', init: { upload_name: 'kept' } });
        await ledger.append(created, next(created.state, events.called()), meta('process.called'));
        await store.deleteDocument(ref);
        expect(await ledger.load(ref)).toMatchObject({ seq: 2, state: { status: 'PENDING' } });
        expect(await store.readDocument(ref)).toMatchObject({ upload_name: 'kept', process_status: 'PENDING', sync_counter: 2 });
        await expect(ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' })).rejects.toBeInstanceOf(ProcAlreadyExistsError);
      });

      it('rebuilds a document whose creation died after the insert', async () => {
        const ref = upload();
        await insertOne(store, { ...recordOf(ref.kind, ref.id, 1, initialProcState(null)), cause: 'created', init: { upload_name: 'lost' } });
        expect(await store.readDocument(ref)).toBeUndefined();
        const loaded = await ledger.load(ref);
        expect(loaded?.state.status).toBe('READY');
        expect(await store.readDocument(ref)).toMatchObject({ upload_name: 'lost', process_status: 'READY', sync_counter: 1 });
      });

      it('adopts the user’s own document and keeps its fields', async () => {
        const ref = upload();
        await options.putRawDocument(store, 'upload', { _id: ref.id, upload_name: 'own', files: 3 });
        await ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' });
        expect(await store.readDocument(ref)).toMatchObject({ upload_name: 'own', files: 3, process_status: 'READY', sync_counter: 1 });
      });

      it('continues the ledger of a deleted proc when one with the same id is created', async () => {
        const ref = upload();
        const created = await ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' });
        await ledger.appendDeleted(created, meta('deleted'));
        expect(await store.readDocument(ref)).toBeUndefined();
        expect(await ledger.load(ref)).toBeUndefined();
        const again = await ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' });
        expect(again.seq).toBe(3);
        expect((await ledger.history(ref)).map((record) => record.cause)).toEqual(['created', 'deleted', 'created']);
      });

      it('bounds the ledger with a retention option, keeping the creation record and the head', async () => {
        const ref = upload();
        const bounded = new ProcLedger(store, { retention: { keepLast: 2 } });
        let proc: StoredProc = await bounded.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' });
        for (const event of [events.called(), events.started(), { type: 'run.succeeded', run_id: 'run-1', warnings: [], at: AT } as ProcEvent]) {
          proc = await bounded.append(proc, next(proc.state, event), meta(event.type));
        }
        // The creation record stays: it can rebuild the document.
        expect((await store.readTransitions(ref)).map((record) => record.seq)).toEqual([1, 3, 4]);
        expect((await bounded.load(ref))?.state.status).toBe('SUCCESS');
      });
    });

    describe('documents procstate cannot explain are refused and left untouched', () => {
      async function expectRefused(mutate: (document: Record<string, unknown>) => void, problem: RegExp) {
        const ref = upload();
        const created = await ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w', init: { upload_name: 'n' } });
        await ledger.append(created, next(created.state, events.called()), meta('process.called'));
        const document = { ...(await store.readDocument(ref)) } as Record<string, unknown> & { _id: string };
        mutate(document);
        await options.putRawDocument(store, 'upload', document);
        const before = await store.readDocument(ref);
        const error = await ledger.load(ref).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(error).toBeInstanceOf(CorruptDocumentError);
        expect((error as CorruptDocumentError).problems.join(' ')).toMatch(problem);
        expect(await store.readDocument(ref)).toEqual(before as StoredDocument);
        await expect(ledger.create(ref, initialProcState(null), { at: new Date(AT), worker: 'w' })).rejects.toThrow();
        expect(await store.readDocument(ref)).toEqual(before as StoredDocument);
      }

      it('an unknown status', () => expectRefused((document) => { document['process_status'] = 'STUCK'; }, /STUCK/));
      it('a status edited to another valid one', () => expectRefused((document) => { document['process_status'] = 'SUCCESS'; }, /differ from ledger/));
      it('a wrong type', () => expectRefused((document) => { document['errors'] = 'boom'; }, /errors must be a list/));
      it('a missing field', () => expectRefused((document) => { delete document['warnings']; }, /warnings/));
      it('a counter ahead of the ledger', () => expectRefused((document) => { document['sync_counter'] = 99; }, /no record 99/));
      it('legacy tasks fields', () => expectRefused((document) => { document['tasks_status'] = 'SUCCESS'; }, /legacy/));
      // NOMAD's own queue entries are arrays of arrays, which FerretDB cannot even store; this shape can be stored anywhere.
      it('a queue entry of the wrong shape', () => expectRefused((document) => { document['queue'] = [{ process: 'process_entry', args: 42 }]; }, /queue\[0\]/));
    });
  });
}


