/**
 * What the MongoDB-protocol server can do, as far as procstate's queries and Agenda's job lock
 * depend on it: a few capability flags with a known set per server (the pattern of a query
 * builder's dialect flags), detected once, each overridable. Code that branches names the
 * capability it needs; only {@link detectServerCapabilities} looks at what the server is.
 *
 * Tests force a set with the environment variable `PROCSTATE_CAPABILITIES` (see
 * {@link capabilitiesFromEnvironment}), so that MongoDB's code paths run on FerretDB too.
 * No driver import: anything with a `command` method will do.
 */
import { InvalidArgumentError, PersistenceError } from '../machines/errors.js';

/** The capabilities procstate's code paths depend on. */
export interface ServerCapabilities {
  /**
   * A filtered `findOneAndUpdate` is atomic: of two concurrent ones with the same filter, at most
   * one matches. Where it is, Agenda's own job lock is sound; where not (FerretDB 1.x reads, then
   * writes the whole document back), a job lock is decided by inserting a claim under a unique key.
   */
  readonly atomicFindAndModify: boolean;
  /**
   * `$in` over an indexed field (`_id`, a status) is served by the index: many point reads go as
   * one query, and a query over several statuses is one query. Where not (FerretDB 1.x evaluates
   * `$in` in memory after a scan), each key or status is its own equality query.
   */
  readonly indexedIn: boolean;
  /**
   * A `$match` + `$group` aggregation runs on the server from an index: counting a kind by status
   * is one aggregation. Where not (FerretDB 1.x groups in memory), it is one count per status.
   */
  readonly indexedAggregation: boolean;
  /**
   * Most update statements sent in one command. FerretDB 1.x holds a PostgreSQL connection per
   * statement until the command ends, so large commands exhaust its pool.
   */
  readonly updatesPerCommand: number;
}

/** MongoDB's capabilities (any real `mongod`, replica set or sharded cluster). */
export const MONGODB_CAPABILITIES: ServerCapabilities = Object.freeze({
  atomicFindAndModify: true,
  indexedIn: true,
  indexedAggregation: true,
  updatesPerCommand: 500,
});

/** FerretDB 1.x's capabilities (docs/operations.md, "FerretDB and other MongoDB-compatible servers"). */
export const FERRETDB_CAPABILITIES: ServerCapabilities = Object.freeze({
  atomicFindAndModify: false,
  indexedIn: false,
  indexedAggregation: false,
  updatesPerCommand: 3,
});

/** The named sets `PROCSTATE_CAPABILITIES` accepts. */
const CAPABILITY_PRESETS: Readonly<Record<string, ServerCapabilities>> = Object.freeze({
  mongodb: MONGODB_CAPABILITIES,
  ferretdb: FERRETDB_CAPABILITIES,
});

/** The environment variable that forces capabilities (for tests and for servers detection gets wrong). */
export const CAPABILITIES_VARIABLE = 'PROCSTATE_CAPABILITIES';

/** Most update statements per command accepted (MongoDB's own batch limit is 100,000 statements). */
const MAX_UPDATES_PER_COMMAND = 100_000;

const FLAG_NAMES = ['atomicFindAndModify', 'indexedIn', 'indexedAggregation'] as const;

/** The part of a driver's `Admin` (or `Db`) detection needs. */
export interface CommandRunner {
  /** Runs one database command and resolves with the server's answer. */
  command(command: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * Checks capabilities given as an option: only known names, each of its type.
 * @throws InvalidArgumentError
 */
export function assertCapabilityOverrides(value: unknown, what = 'capabilities'): asserts value is Partial<ServerCapabilities> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${what} must be an object of capability flags, got ${JSON.stringify(value)}.`);
  for (const [name, flag] of Object.entries(value)) {
    if ((FLAG_NAMES as readonly string[]).includes(name)) {
      if (typeof flag !== 'boolean') throw new InvalidArgumentError(`${what}.${name} must be true or false, got ${JSON.stringify(flag)}.`);
    } else if (name === 'updatesPerCommand') {
      if (!Number.isSafeInteger(flag) || (flag as number) < 1 || (flag as number) > MAX_UPDATES_PER_COMMAND) {
        throw new InvalidArgumentError(`${what}.updatesPerCommand must be an integer from 1 to ${MAX_UPDATES_PER_COMMAND}, got ${JSON.stringify(flag)}.`);
      }
    } else {
      throw new InvalidArgumentError(`${what} has no capability ${JSON.stringify(name)} (known: ${[...FLAG_NAMES, 'updatesPerCommand'].join(', ')}).`);
    }
  }
}

/** What `PROCSTATE_CAPABILITIES` asks for: a named set to start from (instead of asking the server), then single flags. */
interface EnvironmentCapabilities {
  readonly preset: ServerCapabilities | undefined;
  readonly overrides: Partial<ServerCapabilities>;
}

/**
 * Reads `PROCSTATE_CAPABILITIES`: a comma-separated list of a preset name (`mongodb`,
 * `ferretdb`) and `flag=value` items, applied in order, e.g. `mongodb,updatesPerCommand=16`.
 * Unset or empty: nothing is forced.
 * @throws InvalidArgumentError naming the variable, for any item it does not know
 */
export function capabilitiesFromEnvironment(environment: Readonly<Record<string, string | undefined>> = process.env): EnvironmentCapabilities {
  const text = environment[CAPABILITIES_VARIABLE]?.trim() ?? '';
  if (text === '') return { preset: undefined, overrides: {} };
  let preset: ServerCapabilities | undefined;
  const overrides: Record<string, boolean | number> = {};
  for (const item of text.split(',').map((part) => part.trim())) {
    const equals = item.indexOf('=');
    if (equals === -1) {
      const named = Object.hasOwn(CAPABILITY_PRESETS, item) ? CAPABILITY_PRESETS[item] : undefined;
      if (named === undefined) throw new InvalidArgumentError(`${CAPABILITIES_VARIABLE}: unknown capability set ${JSON.stringify(item)} (known: ${Object.keys(CAPABILITY_PRESETS).join(', ')}).`);
      preset = named;
      for (const key of Object.keys(overrides)) delete overrides[key];
      continue;
    }
    const name = item.slice(0, equals).trim();
    const raw = item.slice(equals + 1).trim();
    overrides[name] = raw === 'true' ? true : raw === 'false' ? false : /^[1-9][0-9]*$/.test(raw) ? Number(raw) : (raw as unknown as number);
  }
  assertCapabilityOverrides(overrides, CAPABILITIES_VARIABLE);
  return { preset, overrides };
}

/**
 * Asks the server once what it is (`buildInfo`; FerretDB reports `ferretdbVersion`) and returns
 * its set. A server that is not FerretDB 1.x is taken for MongoDB.
 * @throws PersistenceError when the server does not answer
 */
export async function detectServerCapabilities(admin: CommandRunner): Promise<ServerCapabilities> {
  let info: Record<string, unknown>;
  try {
    info = await admin.command({ buildInfo: 1 });
  } catch (error) {
    throw new PersistenceError(`asking the server what it can do (buildInfo) failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const ferretdb = info['ferretdbVersion'];
  if (typeof ferretdb !== 'string') return MONGODB_CAPABILITIES;
  // FerretDB 2 runs on Microsoft's DocumentDB engine, whose updates are atomic; only 1.x lacks
  // these. A build that reports no version of its own (`unknown`, the embeddable package's) gets
  // the cautious set.
  const major = /^v?(\d+)\./.exec(ferretdb)?.[1];
  return major !== undefined && Number(major) >= 2 ? MONGODB_CAPABILITIES : FERRETDB_CAPABILITIES;
}

/**
 * The capabilities to use: the server's (asked once, and only when the environment names no set
 * and the options do not give every flag), then `PROCSTATE_CAPABILITIES`'s flags, then the
 * options' flags. Returns a function that resolves them on first use and keeps the answer; a
 * failed detection is asked again next time.
 * @throws InvalidArgumentError at once, for overrides or an environment it does not accept
 */
export function serverCapabilities(
  admin: CommandRunner,
  overrides: Partial<ServerCapabilities> | undefined,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): () => Promise<ServerCapabilities> {
  if (overrides !== undefined) assertCapabilityOverrides(overrides);
  const forced = capabilitiesFromEnvironment(environment);
  const given = { ...forced.overrides, ...overrides };
  const complete = [...FLAG_NAMES, 'updatesPerCommand'].every((name) => name in given);
  const base = forced.preset ?? (complete ? MONGODB_CAPABILITIES : undefined);
  let resolved: Promise<ServerCapabilities> | undefined = base === undefined ? undefined : Promise.resolve(Object.freeze({ ...base, ...given }));
  return () => {
    resolved ??= detectServerCapabilities(admin).then(
      (detected) => Object.freeze({ ...detected, ...given }),
      (error: unknown) => {
        resolved = undefined;
        throw error;
      },
    );
    return resolved;
  };
}
