/**
 * The store contract: what every ProcStore must do, checked through the port and through the
 * ledger protocol on top of it. The memory store runs it in the unit project, the MongoDB store
 * in the integration project, unchanged.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyProcEvent, initialProcState, type ProcEvent, type ProcMachineState } from '../../machines/index.js';
import {
  ProcLedger,
  encodeProcFields,
  type ProcStore,
  type StoredDocument,
  type StoredProc,
  type TransitionRecord,
} from '../../persistence/index.js';
import {
  CorruptDocumentError,
  InvalidArgumentError,
  ProcAlreadyExistsError,
  TransitionConflictError,
} from '../../src/index.js';
import { AT, events } from '../helpers/builders.js';

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
  return {
    kind,
    proc: id,
    seq,
    from: null,
    to: state?.status ?? null,
    cause: 'contract',
    event: null,
    at: new Date(AT),
    worker: 'contract',
    run_id: null,
    write_id: randomUUID(),
    machine: { id: 'procstate.proc', version: 1 },
    snapshot: state === null ? null : { status: 'active', value: state.status, context: state.context, historyValue: {}, children: {} },
  };
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
          const results = await Promise.allSettled(
            Array.from({ length: 12 }, () => store.insertTransition(recordOf(ref.kind, ref.id, seq, initialProcState(null)))),
          );
          expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
          for (const result of results) {
            if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(TransitionConflictError);
          }
        }
        expect((await store.readTransitions(ref)).map((record) => record.seq)).toEqual([1, 2]);
      });

      it('reads records by sequence, in order, from a start and up to a limit', async () => {
        const ref = upload();
        for (const seq of [1, 2, 3, 4]) await store.insertTransition(recordOf(ref.kind, ref.id, seq, initialProcState(null)));
        expect((await store.readTransition(ref, 3))?.seq).toBe(3);
        expect(await store.readTransition(ref, 9)).toBeUndefined();
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
        await store.insertTransition(record);
        expect(await store.readTransition(ref, 1)).toEqual(record);
      });

      it('lists records of a kind written in a time window', async () => {
        const ref = upload();
        const at = ['2020-01-01T00:00:00Z', '2026-06-01T00:00:00Z', '2030-01-01T00:00:00Z'];
        for (const [index, time] of at.entries()) {
          await store.insertTransition({ ...recordOf(ref.kind, ref.id, index + 1, initialProcState(null)), at: new Date(time) });
        }
        const between = await store.readTransitionsBetween('upload', new Date('2025-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'), 10);
        expect(between).toEqual([{ proc: ref.id, seq: 2 }]);
      });
    });

    describe('documents are copies that never move backwards', () => {
      it('creates only with init, writes later states, never an older one, and keeps user fields', async () => {
        const ref = upload();
        const state = initialProcState(null);
        expect(await store.writeDocument(ref, encodeProcFields(state, 1))).toBe('missing');
        expect(await store.writeDocument(ref, encodeProcFields(state, 1), { title: 'mine' })).toBe('written');
        const pending = next(state, events.called());
        expect(await store.writeDocument(ref, encodeProcFields(pending, 3))).toBe('written');
        expect(await store.writeDocument(ref, encodeProcFields(state, 2))).toBe('superseded');
        expect(await store.writeDocument(ref, encodeProcFields(state, 3))).toBe('superseded');
        const document = await store.readDocument(ref);
        expect(document).toMatchObject({ _id: ref.id, title: 'mine', process_status: 'PENDING', sync_counter: 3 });
        await store.deleteDocument(ref);
        expect(await store.readDocument(ref)).toBeUndefined();
      });

      it('leaves fields it does not own alone', async () => {
        const ref = upload();
        await options.putRawDocument(store, 'upload', { _id: ref.id, upload_name: 'x', main_author: 'a', nested: { k: [1] } });
        await store.writeDocument(ref, encodeProcFields(initialProcState(null), 1));
        expect(await store.readDocument(ref)).toMatchObject({ upload_name: 'x', main_author: 'a', nested: { k: [1] }, process_status: 'READY' });
      });
    });

    describe('queries by status', () => {
      it('counts, tests and lists documents by status, per parent', async () => {
        const states: ProcMachineState[] = [initialProcState(null), next(initialProcState(null), events.called())];
        const parent = `u-${randomUUID()}`;
        for (let index = 0; index < 7; index += 1) {
          const ref = { kind: 'entry', id: `${parent}-e${index}` };
          await store.writeDocument(ref, encodeProcFields(states[index % 2] as ProcMachineState, 1), { upload_id: index < 6 ? parent : 'other' });
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
    });

    describe('leases have one writer, their holder', () => {
      it('writes, renews, reads and deletes a lease', async () => {
        const ref = upload();
        const lease = { kind: 'upload', proc: ref.id, run_id: 'r1', holder: 'w1', expires_at: new Date('2030-01-01T00:00:00Z'), renewed_at: new Date(AT) };
        await store.writeLease(lease);
        await store.writeLease({ ...lease, expires_at: new Date('2030-01-01T00:01:00Z') });
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
        await store.insertTransition({ ...recordOf(ref.kind, ref.id, 2, pending), from: 'READY' });
        await store.insertTransition({ ...recordOf(ref.kind, ref.id, 3, running), from: 'PENDING' });
        expect(await store.readDocument(ref)).toMatchObject({ sync_counter: 1, process_status: 'READY' });
        const loaded = await ledger.load(ref);
        expect(loaded).toEqual({ ref, seq: 3, state: running });
        expect(await store.readDocument(ref)).toMatchObject({ sync_counter: 3, process_status: 'RUNNING', upload_name: 'n' });
        // A stale writer that still believes in seq 1 or 2 loses.
        await expect(ledger.append(created, pending, meta('process.called'))).rejects.toBeInstanceOf(TransitionConflictError);
      });

      it('rebuilds a document whose creation died after the insert', async () => {
        const ref = upload();
        await store.insertTransition({ ...recordOf(ref.kind, ref.id, 1, initialProcState(null)), cause: 'created', init: { upload_name: 'lost' } });
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


