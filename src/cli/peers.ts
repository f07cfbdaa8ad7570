/**
 * The optional peers of the command line, loaded on the path that needs them only. A missing
 * one is a {@link MissingPeerError} naming the package to install, never the loader's raw
 * "Cannot find package" text.
 */
import { importOptionalPeer } from '../peer-import.js';

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

/**
 * Imports a peer.
 * @throws MissingPeerError when it is not installed
 */
export function importPeer<T>(name: PeerName, neededFor: string = PEERS[name]): Promise<T> {
  return importOptionalPeer<T>(name, neededFor);
}

/**
 * Checks that every peer is installed before a module that imports them statically is loaded,
 * so that the first missing one is named.
 * @throws MissingPeerError
 */
export async function requirePeers(names: readonly PeerName[], neededFor?: string): Promise<void> {
  for (const name of names) await importPeer(name, neededFor);
}
