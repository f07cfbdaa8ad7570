/**
 * The integration tests' database: one database per test file, on the server MONGODB_URI names
 * (FerretDB from `scripts/db.sh`, or a real mongod), dropped when the file is done. The only copy
 * of this logic.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';

/** The server under test. */
export function mongoUri(): string {
  const uri = process.env['MONGODB_URI'];
  if (uri === undefined || uri === '') throw new Error('MONGODB_URI is not set: run `npm test`, which starts FerretDB.');
  return uri;
}

/** A fresh database name, latin letters and digits only (FerretDB's rule). */
export function databaseName(prefix = 'procstate_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** A test file's database, and any further ones it asks for; all are dropped when the file is done. */
export interface TestDatabase {
  readonly client: MongoClient;
  readonly db: Db;
  readonly name: string;
  /** Another fresh database (`<name>_<n>`), for a test that needs several side by side. */
  another(): Db;
}

/** Registers hooks that give the file a connected client and its own database, dropped afterwards. */
export function useTestDatabase(): TestDatabase {
  const opened: Db[] = [];
  const state = {
    another() {
      const db = state.client.db(`${state.name}_${opened.length}`);
      opened.push(db);
      return db;
    },
  } as TestDatabase & { client: MongoClient; db: Db; name: string };
  beforeAll(async () => {
    state.client = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 10_000 });
    await state.client.connect();
    state.name = databaseName();
    state.db = state.client.db(state.name);
    opened.push(state.db);
  });
  afterAll(async () => {
    if (process.env["KEEP_DB"] !== "1") for (const db of opened) await db.dropDatabase().catch(() => undefined);
    await state.client?.close();
  });
  return state;
}
