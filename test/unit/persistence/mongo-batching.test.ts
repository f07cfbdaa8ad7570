/**
 * How the MongoDB store shapes its commands for each capability: update batches cut to
 * `updatesPerCommand` (MongoDB's 500, which the test server cannot execute: one command of 500
 * statements exhausts FerretDB 1.x's connection pool, so this value is covered here, by the
 * commands the store sends to a recording double), `$in` or point reads, one aggregation or one
 * count per status. The same branches run against a real server in the integration project,
 * once with each capability set.
 */
import type { Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { PROCESS_STATUSES } from '../../../machines/process-status.js';
import { FERRETDB_CAPABILITIES, MONGODB_CAPABILITIES, type ServerCapabilities } from '../../../persistence/server-capabilities.js';
import { MongoProcStore } from '../../../persistence/mongodb/mongo-proc-store.js';

interface Sent {
  readonly collection: string;
  readonly method: string;
  readonly statements?: number;
  readonly filter?: unknown;
}

/** A `Db` whose collections record what the store sends and answer with nothing found. */
function recordingDb(): { db: Db; sent: Sent[] } {
  const sent: Sent[] = [];
  const collection = (name: string) => {
    const cursor = (method: string, filter: unknown) => {
      sent.push({ collection: name, method, filter });
      const chain = { sort: () => chain, limit: () => chain, toArray: async () => [] };
      return chain;
    };
    return {
      collectionName: name,
      bulkWrite: async (operations: unknown[]) => {
        sent.push({ collection: name, method: 'bulkWrite', statements: operations.length });
        return { matchedCount: operations.length };
      },
      find: (filter: unknown) => cursor('find', filter),
      aggregate: (pipeline: unknown) => cursor('aggregate', pipeline),
      findOne: async (filter: unknown) => {
        sent.push({ collection: name, method: 'findOne', filter });
        return null;
      },
      countDocuments: async (filter: unknown) => {
        sent.push({ collection: name, method: 'countDocuments', filter });
        return 0;
      },
    };
  };
  const db = {
    collection,
    admin: () => ({ command: async () => Promise.reject(new Error('capabilities are given')) }),
  } as unknown as Db;
  return { db, sent };
}

function storeWith(capabilities: ServerCapabilities) {
  const { db, sent } = recordingDb();
  return { store: new MongoProcStore({ db, kinds: { entry: { documents: db.collection('entries'), parentKey: 'upload_id' } }, capabilities }), sent };
}

const fields = (seq: number) => ({ process_status: 'RUNNING', sync_counter: seq }) as never;

describe('update batches', () => {
  it("sends 1,200 document copies as commands of at most 500 statements on MongoDB's set", async () => {
    const { store, sent } = storeWith(MONGODB_CAPABILITIES);
    await store.writeDocuments(Array.from({ length: 1_200 }, (_, index) => ({ ref: { kind: 'entry', id: `e${index}` }, fields: fields(index + 1) })));
    expect(sent.map((command) => command.statements)).toEqual([500, 500, 200]);
  });

  it("and as commands of 3 on FerretDB's", async () => {
    const { store, sent } = storeWith(FERRETDB_CAPABILITIES);
    await store.writeDocuments(Array.from({ length: 7 }, (_, index) => ({ ref: { kind: 'entry', id: `e${index}` }, fields: fields(index + 1) })));
    expect(sent.map((command) => command.statements)).toEqual([3, 3, 1]);
  });

  it('renews leases in commands of the same size', async () => {
    const { store, sent } = storeWith(MONGODB_CAPABILITIES);
    const lease = (index: number) => ({ kind: 'entry', proc: `e${index}`, run_id: `r${index}`, worker: 'w', expires_at: new Date(0), renewed_at: new Date(0) }) as never;
    await store.writeLeases(Array.from({ length: 501 }, (_, index) => lease(index)));
    expect(sent.map((command) => [command.collection, command.statements])).toEqual([
      ['procstate_leases', 500],
      ['procstate_leases', 1],
    ]);
  });
});

describe('point reads and status queries', () => {
  const keys = Array.from({ length: 5 }, (_, index) => ({ ref: { kind: 'entry', id: `e${index}` }, seq: 1 }));

  it('reads many ledger records with one $in query where $in is indexed, one point read each where not', async () => {
    const mongo = storeWith(MONGODB_CAPABILITIES);
    await mongo.store.readTransitionsAt(keys);
    expect(mongo.sent.map((command) => command.method)).toEqual(['find']);
    expect(mongo.sent[0]?.filter).toEqual({ _id: { $in: keys.map((key) => `${key.ref.id}/1`) } });
    const ferret = storeWith(FERRETDB_CAPABILITIES);
    await ferret.store.readTransitionsAt(keys);
    expect(ferret.sent.map((command) => command.method)).toEqual(Array(5).fill('findOne'));
  });

  it('reads sync counters the same way', async () => {
    const ids = ['a', 'b', 'c'];
    const mongo = storeWith(MONGODB_CAPABILITIES);
    await mongo.store.readSyncCounters('entry', ids);
    expect(mongo.sent).toEqual([{ collection: 'entries', method: 'find', filter: { _id: { $in: ids } } }]);
    const ferret = storeWith(FERRETDB_CAPABILITIES);
    await ferret.store.readSyncCounters('entry', ids);
    expect(ferret.sent.map((command) => command.filter)).toEqual(ids.map((_id) => ({ _id })));
  });

  it('counts by status with one aggregation where it is indexed, one count per status where not', async () => {
    const where = { field: 'upload_id', value: 'u1' };
    const mongo = storeWith(MONGODB_CAPABILITIES);
    await mongo.store.countByStatus('entry', where);
    expect(mongo.sent).toEqual([{ collection: 'entries', method: 'aggregate', filter: [{ $match: { upload_id: 'u1' } }, { $group: { _id: '$process_status', n: { $sum: 1 } } }] }]);
    const ferret = storeWith(FERRETDB_CAPABILITIES);
    await ferret.store.countByStatus('entry', where);
    expect(ferret.sent.map((command) => command.filter)).toEqual(PROCESS_STATUSES.map((process_status) => ({ upload_id: 'u1', process_status })));
  });

  it('looks for and lists several statuses with one $in query where it is indexed, one query per status where not', async () => {
    const statuses = ['PENDING', 'RUNNING'] as const;
    const mongo = storeWith(MONGODB_CAPABILITIES);
    await mongo.store.anyInStatus('entry', statuses);
    await mongo.store.findByStatus('entry', statuses, { limit: 10 });
    expect(mongo.sent.map((command) => command.filter)).toEqual([{ process_status: { $in: statuses } }, { process_status: { $in: statuses } }]);
    const ferret = storeWith(FERRETDB_CAPABILITIES);
    await ferret.store.anyInStatus('entry', statuses);
    await ferret.store.findByStatus('entry', statuses, { limit: 10 });
    expect(ferret.sent.map((command) => command.filter)).toEqual([...statuses, ...statuses].map((process_status) => ({ process_status })));
  });
});
