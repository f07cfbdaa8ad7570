/**
 * What kind of MongoDB-protocol server a client talks to, as far as batching is concerned. Two
 * things differ on FerretDB 1.x (docs/operations.md): it evaluates `$in` in memory after a scan,
 * so batched point reads go one by one there; and an update command holds one PostgreSQL
 * connection per statement until the whole command ends, so update batches go out as small
 * commands. No driver import: anything with a `command` method will do.
 */
import { InvalidArgumentError, PersistenceError } from '../machines/errors.js';

/** `mongodb`: `$in` is served by indexes and a command may carry many update statements. `ferretdb`: neither. */
export type ServerProfile = 'mongodb' | 'ferretdb';

/** Update statements per command: FerretDB holds a PostgreSQL connection per statement until the command ends. */
export const UPDATES_PER_COMMAND: Readonly<Record<ServerProfile, number>> = Object.freeze({ mongodb: 500, ferretdb: 3 });

/** Checks a profile given as an option. */
export function assertServerProfile(value: unknown): asserts value is ServerProfile {
  if (value !== 'mongodb' && value !== 'ferretdb') throw new InvalidArgumentError(`server must be 'mongodb' or 'ferretdb', got ${JSON.stringify(value)}.`);
}

/** Asks the server once (`buildInfo`; FerretDB reports `ferretdbVersion`). */
export async function detectServerProfile(admin: { command(command: Record<string, unknown>): Promise<Record<string, unknown>> }): Promise<ServerProfile> {
  try {
    const info = await admin.command({ buildInfo: 1 });
    return 'ferretdbVersion' in info ? 'ferretdb' : 'mongodb';
  } catch (error) {
    throw new PersistenceError(`asking the server what it is (buildInfo) failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
