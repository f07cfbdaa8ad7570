/**
 * The Agenda backend contract (test/contract/agenda-backend.contract.ts) on Agenda's own MongoDB
 * backend, `MongoBackend` from @agendajs/mongo-backend, on the test server: the reference every
 * case passes on. Its options say what this backend does where backends may differ, and why:
 * - FerretDB 1.x runs `findOneAndUpdate` as a read and a write, so concurrent lock queries for one
 *   due job all win it: the concurrency cases are skipped (exclusiveLocksUnderConcurrency: false);
 * - its saveJob takes `unique`/`uniqueOpts` out before writing: neither is in the document;
 * - its saveJob writes null for every field it is not given, and Agenda's Job.save() leaves out
 *   the fields its processor manages: a save inside a handler clears lockedAt and lastRunAt;
 * - its saveJobState throws for a job that is gone, which Agenda reports as an `error` event.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import { agendaBackendContract, type AgendaBackendContractSetup } from '../contract/agenda-backend.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();

const stock: AgendaBackendContractSetup = {
  db: () => database.db,
  makeBackend: (db, collection) => new MongoBackend({ mongo: db, collection }),
  exclusiveLocksUnderConcurrency: false,
  storesUniqueConstraint: false,
  keepsLockWhenHandlerSaves: false,
  deletedJobStart: {
    kind: 'error-event',
    message: (id, name) => `job ${id} (name: ${name}) cannot be updated in the database, maybe it does not exist anymore?`,
  },
};

agendaBackendContract('MongoBackend (@agendajs/mongo-backend)', stock);
