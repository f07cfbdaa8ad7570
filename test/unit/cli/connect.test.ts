import { describe, expect, it } from 'vitest';

import { connectClient, databaseFromUri } from '../../../src/cli/connect.js';
import { PersistenceError } from '../../../src/index.js';

describe('databaseFromUri', () => {
  it('reads the database of single-host, multi-host and srv URIs', () => {
    expect(databaseFromUri('mongodb://127.0.0.1:27027/nomad')).toBe('nomad');
    expect(databaseFromUri('mongodb://user:p%2Fw@a:1,b:2,c:3/nomad_prod?replicaSet=rs0')).toBe('nomad_prod');
    expect(databaseFromUri('mongodb+srv://user:pw@cluster.example/with%20space?retryWrites=true')).toBe('with space');
  });

  it('is undefined when the URI names no database or cannot be decoded', () => {
    expect(databaseFromUri('mongodb://127.0.0.1:27027')).toBeUndefined();
    expect(databaseFromUri('mongodb://127.0.0.1:27027/')).toBeUndefined();
    expect(databaseFromUri('mongodb://a:1,b:2/?replicaSet=rs0')).toBeUndefined();
    expect(databaseFromUri('mongodb://h/%E0%A4%A')).toBeUndefined();
    expect(databaseFromUri('postgres://h/db')).toBeUndefined();
  });
});

describe('connectClient', () => {
  it('fails with a PersistenceError that never shows the password', async () => {
    // Nothing listens on port 1; server selection gives up after the 500 ms asked for.
    const failure = await connectClient('mongodb://admin:hunter2@127.0.0.1:1/db', 500).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(PersistenceError);
    expect(String((failure as Error).message)).toContain('127.0.0.1:1');
    expect(String((failure as Error).message)).not.toContain('hunter2');
  });
});
