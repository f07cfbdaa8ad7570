import { InProcessScheduler } from 'procstate';
import { MemoryProcStore } from 'procstate/persistence';
import { describeProcStoreContract, describeSchedulerContract } from 'procstate/testing';

// A store adapter passes the store contract: kinds `upload` and `entry` (parent key `upload_id`).
describeProcStoreContract({
  name: 'memory',
  createStore: async () => new MemoryProcStore(),
  // Writes a document as given, past procstate, as a hand edit would.
  putRawDocument: async (store, kind, document) => (store as MemoryProcStore).putRawDocument(kind, document),
});

// A scheduler adapter passes the scheduler contract; `durable: true` adds the check that a job
// outlives the scheduler that dispatched it.
describeSchedulerContract({
  name: 'in-process',
  createScheduler: async () => new InProcessScheduler(),
  deliveryTimeoutMs: 5_000,
});
