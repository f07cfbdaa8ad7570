import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { AgendaScheduler } from '../../src/agenda/index.js';
import { createProcRuntime, type KindDefinition } from '../../src/index.js';
import { describeRuntimeScenarios } from '../contract/runtime-scenarios.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
let fresh = 0;

describeRuntimeScenarios({
  name: 'MongoDB store, Agenda scheduler',
  createRuntime: async (kinds: readonly KindDefinition[]) => {
    fresh += 1;
    const store = new MongoProcStore({
      db: database.db,
      kinds: Object.fromEntries(kinds.map((kind) => [kind.name, { documents: database.db.collection(`${kind.name}_${fresh}`), parentKey: kind.parent?.key }])),
      leaseCollection: `leases_${fresh}`,
    });
    await store.ensureIndexes();
    const scheduler = new AgendaScheduler({ db: database.db, collection: `jobs_${fresh}`, pollMs: 500, concurrency: 8 });
    const runtime = createProcRuntime({ kinds, store, scheduler, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
    await runtime.start();
    return runtime;
  },
  closeRuntime: (runtime) => runtime.close({ drainTimeoutMs: 2_000 }),
  waitMs: 30_000,
});
