import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { createProcRuntime, type KindDefinition } from '../../src/index.js';
import { describeRuntimeScenarios } from '../contract/runtime-scenarios.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
let fresh = 0;

/** A MongoDB store with fresh collections for these kinds. */
export function freshStore(kinds: readonly KindDefinition[]): MongoProcStore {
  fresh += 1;
  return new MongoProcStore({
    db: database.db,
    kinds: Object.fromEntries(
      kinds.map((kind) => [kind.name, { documents: database.db.collection(`${kind.name}_${fresh}`), parentKey: kind.parent?.key }]),
    ),
    leaseCollection: `leases_${fresh}`,
  });
}

describeRuntimeScenarios({
  name: 'MongoDB store, in-process scheduler',
  createRuntime: async (kinds) => {
    const store = freshStore(kinds);
    await store.ensureIndexes();
    const runtime = createProcRuntime({ kinds, store, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
    await runtime.start();
    return runtime;
  },
  closeRuntime: (runtime) => runtime.close({ drainTimeoutMs: 2_000 }),
});
