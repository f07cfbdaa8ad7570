/**
 * Importing an optional peer on the path that needs it: a missing one is a
 * {@link MissingPeerError} naming the package to install, never the loader's raw
 * "Cannot find package" text.
 */
import { MissingPeerError } from '../machines/errors.js';

function isMissing(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${name}`);
}

/**
 * Imports the optional peer `name`, which `neededFor` needs.
 * @throws MissingPeerError when it is not installed
 */
export async function importOptionalPeer<T>(name: string, neededFor: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if (isMissing(error, name)) throw new MissingPeerError(name, neededFor, { cause: error });
    throw error;
  }
}
