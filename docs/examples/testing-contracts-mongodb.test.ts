import { MongoClient } from 'mongodb';
import { AgendaScheduler } from 'procstate/agenda';
import { MongoProcStore } from 'procstate/persistence/mongodb';
import { describeProcStoreContract, describeSchedulerContract } from 'procstate/testing';
import { afterAll } from 'vitest';

// On a server of your own: MONGODB_URI, and a database the suites may fill and drop.
const client = await new MongoClient(process.env['MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017').connect();
const db = client.db(`procstate_contracts_${process.pid}`);
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

let stores = 0;
describeProcStoreContract({
  name: 'mongodb',
  createStore: async () => {
    stores += 1;
    const store = new MongoProcStore({
      db,
      kinds: { upload: `uploads_${stores}`, entry: { documents: db.collection(`entries_${stores}`), parentKey: 'upload_id' } },
      leaseCollection: `leases_${stores}`,
    });
    await store.ensureIndexes();
    return store;
  },
  putRawDocument: async (_store, kind, document) => {
    const collection = db.collection<{ _id: string }>(`${kind === 'upload' ? 'uploads' : 'entries'}_${stores}`);
    await collection.replaceOne({ _id: document._id }, document, { upsert: true });
  },
});

// Agenda keeps its jobs in MongoDB: a second scheduler on the same collection takes them over.
describeSchedulerContract({
  name: 'agenda',
  durable: true,
  createScheduler: async (queue) => new AgendaScheduler({ db, collection: `jobs_${queue.replaceAll('-', '_')}`, pollMs: 200 }),
});
