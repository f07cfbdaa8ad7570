/**
 * What the MongoDB store makes of a batch the server answered only in part. A duplicate key is a
 * clear answer (another writer holds that sequence number); any other failure mid-batch is not
 * (FerretDB then reports some of the records that did not land, not all), so the store reads the
 * ledger back and decides each record from what is there. These are server failures the test
 * server produces only by chance (its PostgreSQL lost mid-command), so the answers are built here
 * in the driver's shape and the store's collections are doubles; the same code runs against a
 * real server in the integration and chaos projects.
 */
import type { Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { PersistenceError, UnknownKindError } from '../../../machines/errors.js';
import { MongoProcStore } from '../../../persistence/mongodb/mongo-proc-store.js';
import { FERRETDB_CAPABILITIES } from '../../../persistence/server-capabilities.js';
import type { TransitionRecord } from '../../../persistence/records.js';

const record = (proc: string, seq: number, writeId: string) =>
  ({ kind: 'entry', proc, seq, from: null, to: 'READY', cause: 'created', event: null, at: new Date(0), worker: 'w', run_id: null, write_id: writeId, machine: { id: 'proc', version: 1 }, snapshot: null }) as unknown as TransitionRecord;

/** A store whose ledger's insertMany fails with `failure`, and whose point reads find `landed` (by `_id`). */
function storeAnswering(failure: unknown, landed: Record<string, TransitionRecord>, reads: 'work' | 'fail' = 'work') {
  const ledger = {
    collectionName: 'entries_transitions',
    insertMany: async () => Promise.reject(failure),
    findOne: async ({ _id }: { _id: string }) => {
      if (reads === 'fail') throw new Error('server gone');
      const found = landed[_id];
      return found === undefined ? null : { _id, ...found };
    },
  };
  const documents = {
    collectionName: 'entries',
    insertMany: async () => Promise.reject(failure),
  };
  const db = { collection: () => documents, admin: () => ({ command: async () => ({}) }) } as unknown as Db;
  return new MongoProcStore({ db, kinds: { entry: { documents: documents as never, ledger: ledger as never } }, capabilities: FERRETDB_CAPABILITIES });
}

const batch = [record('a', 1, 'mine-a'), record('b', 1, 'mine-b'), record('c', 1, 'mine-c')];

describe('a batch of ledger inserts answered in part', () => {
  it('takes duplicate keys alone at their word: those are conflicts, the rest landed', async () => {
    const store = storeAnswering({ writeErrors: [{ index: 1, code: 11000 }], insertedCount: 2 }, {});
    expect(await store.insertTransitions(batch)).toEqual([{ status: 'inserted' }, { status: 'conflict' }, { status: 'inserted' }]);
  });

  it('reads the ledger back after any other failure: its own record is inserted, another writer’s a conflict, none a failure', async () => {
    const failure = { writeErrors: [{ index: 2, code: 6, errmsg: 'host unreachable' }], insertedCount: 1 };
    const store = storeAnswering(failure, { 'a/1': record('a', 1, 'mine-a'), 'b/1': record('b', 1, 'someone-else') });
    const results = await store.insertTransitions(batch);
    expect(results.slice(0, 2)).toEqual([{ status: 'inserted' }, { status: 'conflict' }]);
    expect(results[2]?.status).toBe('failed');
    const error = (results[2] as { error: Error }).error;
    expect(error).toBeInstanceOf(PersistenceError);
    expect(error.message).toBe('recording entry "c" #1 was refused (code 6): host unreachable');
  });

  it('reads it back too when the driver counts fewer inserted than the duplicates leave, and fails a record it did not report', async () => {
    // Two duplicates reported, none inserted: the third record's fate is unknown until read.
    const failure = new Error('connection reset');
    Object.assign(failure, { writeErrors: [{ index: 0, code: 11000 }, { index: 1, code: 11000 }], insertedCount: 0 });
    const store = storeAnswering(failure, { 'a/1': record('a', 1, 'other'), 'b/1': record('b', 1, 'other') });
    const results = await store.insertTransitions(batch);
    expect(results.slice(0, 2)).toEqual([{ status: 'conflict' }, { status: 'conflict' }]);
    const error = (results[2] as { status: string; error: Error }).error;
    expect(error).toBeInstanceOf(PersistenceError);
    expect(error.message).toBe('recording entry "c" #1 failed: connection reset');
  });

  it('reports the whole batch failed when the ledger cannot be read back either, and when the server says nothing per record', async () => {
    const failure = { writeErrors: [{ index: 0, code: 6 }], insertedCount: 0 };
    await expect(storeAnswering(failure, {}, 'fail').insertTransitions(batch)).rejects.toThrow(PersistenceError);
    await expect(storeAnswering(new Error('socket closed'), {}).insertTransitions(batch)).rejects.toThrow('recording 3 transitions of entry failed: socket closed');
  });
});

describe('a batch of new documents answered in part', () => {
  const fields = (seq: number) => ({ process_status: 'READY', sync_counter: seq }) as never;
  const created = ['a', 'b', 'c'].map((id) => ({ ref: { kind: 'entry', id }, fields: fields(1), init: {} }));

  it('reports a duplicate as existing and any other refusal as failed, naming the document', async () => {
    const store = storeAnswering({ writeErrors: [{ index: 0, code: 11000 }, { index: 2, code: 121, errmsg: 'Document failed validation' }] }, {});
    const results = await store.insertDocuments(created);
    expect(results.slice(0, 2)).toEqual([{ status: 'exists' }, { status: 'inserted' }]);
    expect((results[2] as { error: Error }).error.message).toBe('creating entry "c" was refused (code 121): Document failed validation');
  });

  it('fails the batch when the server says nothing per document', async () => {
    await expect(storeAnswering(new Error('socket closed'), {}).insertDocuments(created)).rejects.toThrow('creating 3 entry documents failed: socket closed');
  });
});

describe('asked for what it does not hold', () => {
  it('refuses a kind it has no collection for, and sends nothing for no leases', async () => {
    const store = storeAnswering(new Error('never'), {});
    await expect(store.readDocument({ kind: 'upload', id: 'u1' })).rejects.toThrow(UnknownKindError);
    await expect(store.writeLeases([])).resolves.toBeUndefined();
  });
});
