import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { databaseName, mongoUri, useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();

describe('docs/examples run against the server', () => {
  it('on-mongodb.ts processes an upload with an Agenda worker and prints its history', async () => {
    const name = databaseName('example');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'docs/examples/on-mongodb.ts'], {
      cwd: new URL('../..', import.meta.url),
      env: { ...process.env, MONGODB_URI: mongoUri(), EXAMPLE_DB: name },
    });
    await database.client.db(name).dropDatabase();
    expect(stdout.trim().split('\n')).toEqual([
      'SUCCESS',
      'created → process.called → worker.started → run.progressed → run.succeeded',
    ]);
  }, 60_000);
});
