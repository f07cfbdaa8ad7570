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

/** Registers hooks that give the file a connected client and its own database, dropped afterwards. */
export function useTestDatabase(): { readonly client: MongoClient; readonly db: Db; readonly name: string } {
  const state = {} as { client: MongoClient; db: Db; name: string };
  beforeAll(async () => {
    state.client = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 10_000 });
    await state.client.connect();
    state.name = databaseName();
    state.db = state.client.db(state.name);
  });
  afterAll(async () => {
    await state.db?.dropDatabase().catch(() => undefined);
    await state.client?.close();
  });
  return state;
}
