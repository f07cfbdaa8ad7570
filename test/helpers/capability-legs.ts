/**
 * The second leg of `npm test` (and the benchmark's second capability set): the other set than
 * the server's, forced with PROCSTATE_CAPABILITIES. The one place that says what FerretDB 1.x
 * cannot execute of MongoDB's set: an update command of MongoDB's 500 statements holds 500 of
 * FerretDB's PostgreSQL connections until it ends and deadlocks the server (docs/operations.md),
 * so on FerretDB the forced set sends 16 per command, the most the tests' concurrent clients
 * survive there; the 500 is covered by a unit test of the batching
 * (test/unit/persistence/mongo-batching.test.ts).
 *
 *   node --import tsx test/helpers/capability-legs.ts <uri>   prints the value for PROCSTATE_CAPABILITIES
 */
import { MongoClient } from 'mongodb';
import { detectServerCapabilities, type ServerCapabilities } from '../../persistence/server-capabilities.js';

/** Most update statements per command FerretDB 1.x survives under the tests' load, with MongoDB's set forced. */
const FERRETDB_SAFE_UPDATES_PER_COMMAND = 16;

/** The PROCSTATE_CAPABILITIES value that forces the other set than `detected`. */
export function otherCapabilities(detected: ServerCapabilities): string {
  // A server without atomic find-and-modify is FerretDB 1.x here: force MongoDB's set, within what it survives.
  return detected.atomicFindAndModify ? 'ferretdb' : `mongodb,updatesPerCommand=${FERRETDB_SAFE_UPDATES_PER_COMMAND}`;
}

if (process.argv[1]?.endsWith('capability-legs.ts')) {
  const client = new MongoClient(process.argv[2] ?? '', { serverSelectionTimeoutMS: 10_000 });
  try {
    process.stdout.write(`${otherCapabilities(await detectServerCapabilities(client.db('admin')))}\n`);
  } finally {
    await client.close();
  }
}
