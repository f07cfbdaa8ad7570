import { MongoProcStore } from '../../persistence/mongodb/index.js';
import type { ProcStore } from '../../persistence/index.js';
import { describeProcStoreContract } from '../contract/proc-store.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
let fresh = 0;
const collectionsOf = new WeakMap<ProcStore, Record<string, string>>();

describeProcStoreContract({
  name: 'mongodb',
  createStore: async () => {
    fresh += 1;
    const collections = { upload: `uploads_${fresh}`, entry: `entries_${fresh}` };
    const store = new MongoProcStore({
      db: database.db,
      kinds: { upload: collections.upload, entry: { documents: database.db.collection(collections.entry), parentKey: 'upload_id' } },
      leaseCollection: `leases_${fresh}`,
    });
    await store.ensureIndexes();
    collectionsOf.set(store, collections);
    return store;
  },
  putRawDocument: async (store, kind, document) => {
    const name = collectionsOf.get(store)?.[kind] as string;
    await database.db.collection<{ _id: string }>(name).replaceOne({ _id: document._id }, document, { upsert: true });
  },
});
