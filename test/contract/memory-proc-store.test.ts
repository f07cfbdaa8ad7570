import { MemoryProcStore, type ProcStore } from '../../persistence/index.js';
import { describeProcStoreContract } from './proc-store.contract.js';

describeProcStoreContract({
  name: 'memory',
  createStore: async () => new MemoryProcStore(),
  putRawDocument: async (store: ProcStore, kind, document) => (store as MemoryProcStore).putRawDocument(kind, document),
});
