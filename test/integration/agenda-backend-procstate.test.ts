/**
 * The Agenda backend contract (test/contract/agenda-backend.contract.ts) on procstate's backend,
 * `createAgendaBackend` from procstate/agenda, once with each job lock: Agenda's own
 * (`atomicFindAndModify: true`) and claims (`atomicFindAndModify: false`), forced whatever the
 * server is; the other capabilities are the leg's (scripts/test.sh). Everything Agenda's stock
 * backend does on the same server (test/integration/agenda-backend-stock.test.ts), this one does:
 * the options below are the stock backend's, but for locks under concurrency, which claims make
 * exclusive on any server and Agenda's own lock only where the server makes it atomic.
 */
import { MongoClient } from 'mongodb';
import { detectServerCapabilities } from '../../persistence/server-capabilities.js';
import { createAgendaBackend } from '../../src/agenda/index.js';
import { agendaBackendContract, type AgendaBackendContractSetup } from '../contract/agenda-backend.contract.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
// Asked before the suites are declared: whether the server itself makes Agenda's lock atomic.
const atomicServer = await (async () => {
  const client = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 10_000 });
  try {
    return (await detectServerCapabilities(client.db('admin'))).atomicFindAndModify;
  } finally {
    await client.close();
  }
})();

function setup(atomicFindAndModify: boolean): AgendaBackendContractSetup {
  return {
    db: () => database.db,
    makeBackend: (db, collection) => createAgendaBackend({ db, collection, capabilities: { atomicFindAndModify } }),
    exclusiveLocksUnderConcurrency: !atomicFindAndModify || atomicServer,
    storesUniqueConstraint: false,
    keepsLockWhenHandlerSaves: false,
    deletedJobStart: {
      kind: 'error-event',
      message: (id, name) => `job ${id} (name: ${name}) cannot be updated in the database, maybe it does not exist anymore?`,
    },
  };
}

agendaBackendContract("procstate's backend, Agenda's own lock", setup(true));
agendaBackendContract("procstate's backend, claims", setup(false));
