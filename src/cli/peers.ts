/**
 * The optional peers of the command line, loaded on the path that needs them only. A missing
 * one is a {@link MissingPeerError} naming the package to install, never the loader's raw
 * "Cannot find package" text.
 */
import { MissingPeerError } from '../../machines/errors.js';

/** The optional peers, each with what needs it. */
const PEERS = Object.freeze({
  mongodb: 'a command on MongoDB (--uri)',
  agenda: 'a worker or a command that calls processes (Agenda runs the jobs)',
  '@agendajs/mongo-backend': "Agenda's MongoDB backend",
  ioredis: 'Redis notifications (--redis)',
  '@statelyai/inspect': 'procstate inspect (the XState inspector protocol)',
} as const);

/** One of the optional peers. */
export type PeerName = keyof typeof PEERS;

function isMissing(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${name}`);
}

/**
 * Imports a peer.
 * @throws MissingPeerError when it is not installed
 */
export async function importPeer<T>(name: PeerName, neededFor: string = PEERS[name]): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if (isMissing(error, name)) throw new MissingPeerError(name, neededFor, { cause: error });
    throw error;
  }
}

/**
 * Checks that every peer is installed before a module that imports them statically is loaded,
 * so that the first missing one is named.
 * @throws MissingPeerError
 */
export async function requirePeers(names: readonly PeerName[], neededFor?: string): Promise<void> {
  for (const name of names) await importPeer(name, neededFor);
}
