import { MongoClient } from 'mongodb';

import { PersistenceError } from '../../machines/errors.js';
import { redactText, redactUri } from './format.js';

/**
 * Opens a client for a CLI command. The URI is the only secret a command sees, so a failure
 * names the server with its password redacted, in the message and in the cause's text.
 * @throws PersistenceError when no server answers within `timeoutMs` (10 s by default)
 */
export async function connectClient(uri: string, timeoutMs = 10_000): Promise<MongoClient> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs });
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new PersistenceError(`cannot connect to ${redactUri(uri)}: ${redactText(error instanceof Error ? error.message : String(error))}`, { cause: error });
  }
  return client;
}

/**
 * The database named in a MongoDB URI's path (`mongodb://a:1,b:2/uploads?replicaSet=rs`), or
 * undefined when it names none. Parsed by hand: WHATWG `URL` refuses the multi-host form.
 */
export function databaseFromUri(uri: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?#]*\/([^?#]*)/.exec(uri)?.[1];
  if (path === undefined || path === '') return undefined;
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
