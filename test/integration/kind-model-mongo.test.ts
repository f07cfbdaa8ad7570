/**
 * The model runner of `procstate/testing` on the MongoDB store: the same commands and checks as
 * on the memory store, against the real protocol (each run on fresh collections).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { checkKinds } from '../../src/testing/index.js';
import { kinds } from '../../docs/examples/testing-kinds.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
let fresh = 0;

describe('procstate/testing on MongoDB', () => {
  it('finds every guarantee kept by two-level kinds on the MongoDB store', async () => {
    await checkKinds(kinds, {
      args: { upload: { process_upload: fc.record({ entries: fc.integer({ min: 0, max: 2 }) }) } },
      numRuns: 30,
      maxCommands: 20,
      store: async () => {
        fresh += 1;
        const store = new MongoProcStore({
          db: database.db,
          kinds: {
            upload: `km_uploads_${fresh}`,
            entry: { documents: database.db.collection(`km_entries_${fresh}`), parentKey: 'upload_id' },
            archive: { documents: database.db.collection(`km_archives_${fresh}`), parentKey: 'upload_id' },
          },
          leaseCollection: `km_leases_${fresh}`,
        });
        await store.ensureIndexes();
        return store;
      },
    });
  }, 600_000);
});
