/**
 * The capabilities the tests really run with. Detection is asked of the server under test, and
 * each leg of `npm test` must run the set it claims to: the server's own in the first, the other
 * set forced by PROCSTATE_CAPABILITIES in the second (scripts/test.sh). The project's FerretDB
 * reports no version of its own, which once made it pass for MongoDB.
 */
import { describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { capabilitiesFromEnvironment, detectServerCapabilities, FERRETDB_CAPABILITIES } from '../../persistence/server-capabilities.js';
import { createAgendaBackend } from '../../src/agenda/index.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();

describe('server capabilities on the server under test', () => {
  it.runIf(process.env['PROCSTATE_TEST_SERVER'] === 'ferretdb')("detects the project's FerretDB as FerretDB 1.x", async () => {
    expect(await detectServerCapabilities(database.db.admin())).toEqual(FERRETDB_CAPABILITIES);
  });

  it('the store and the Agenda backend use the server’s set, with what PROCSTATE_CAPABILITIES forces over it', async () => {
    const forced = capabilitiesFromEnvironment();
    const expected = { ...(forced.preset ?? (await detectServerCapabilities(database.db.admin()))), ...forced.overrides };
    const store = new MongoProcStore({ db: database.db, kinds: { upload: 'uploads' } });
    expect(await store.capabilities()).toEqual(expected);
    const backend = createAgendaBackend({ db: database.db, collection: 'capability_jobs' });
    expect(await backend.ready()).toEqual(expected);
    // An option wins over both.
    expect((await new MongoProcStore({ db: database.db, kinds: { upload: 'uploads' }, capabilities: { updatesPerCommand: 2 } }).capabilities()).updatesPerCommand).toBe(2);
  });
});
