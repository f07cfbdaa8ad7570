/**
 * Opening a MongoDB client for a command: the driver is loaded here, on the path that needs it,
 * and every failure names the server with its credentials removed.
 */
import type { MongoClient } from 'mongodb';
import { PersistenceError } from '../../machines/errors.js';
import { redactText, redactUri } from '../redact.js';
import { UsageError } from './options.js';
import { importPeer } from './peers.js';

/**
 * Opens a client for a CLI command.
 * @throws UsageError when `uri` is not a MongoDB connection string
 * @throws MissingPeerError when the `mongodb` package is not installed
 * @throws PersistenceError when no server answers within `timeoutMs`
 */
export async function connectClient(uri: string, timeoutMs = 10_000): Promise<MongoClient> {
  const { MongoClient } = await importPeer<typeof import('mongodb')>('mongodb');
  let client: MongoClient;
  try {
    client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  } catch (error) {
    throw new UsageError(`--uri is not a MongoDB connection string (${redactText(error instanceof Error ? error.message : String(error))}): ${redactUri(uri)}`);
  }
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new PersistenceError(`cannot connect to ${redactUri(uri)} within ${timeoutMs} ms: ${redactText(error instanceof Error ? error.message : String(error))}`, { cause: error });
  }
  return client;
}

/**
 * The database named in a MongoDB URI's path (`mongodb://a:1,b:2/uploads?replicaSet=rs`), or
 * undefined when it names none. Read by a pattern: WHATWG `URL` refuses the multi-host form,
 * and the driver's parser is not a dependency of ours.
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
