/**
 * Server capabilities: what detection makes of a server's `buildInfo`, what
 * `PROCSTATE_CAPABILITIES` and the options may say (and what they may not), and in which order
 * they apply. The server is a double here: a function that answers `buildInfo`.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PersistenceError } from '../../../machines/errors.js';
import {
  assertCapabilityOverrides,
  capabilitiesFromEnvironment,
  detectServerCapabilities,
  FERRETDB_CAPABILITIES,
  MONGODB_CAPABILITIES,
  serverCapabilities,
} from '../../../persistence/server-capabilities.js';

/** A server that answers `buildInfo` with `info`, counting the questions. */
function server(info: Record<string, unknown> | Error) {
  const asked = { count: 0 };
  return {
    asked,
    async command(command: Record<string, unknown>) {
      asked.count += 1;
      expect(command).toEqual({ buildInfo: 1 });
      if (info instanceof Error) throw info;
      return info;
    },
  };
}

const env = (value: string | undefined) => ({ PROCSTATE_CAPABILITIES: value });

describe('detecting a server', () => {
  it("takes FerretDB 1.x (or a FerretDB of unknown version) for FerretDB's set and anything else for MongoDB's", async () => {
    expect(await detectServerCapabilities(server({ version: '7.0.77', ferretdbVersion: 'v1.24.2' }))).toEqual(FERRETDB_CAPABILITIES);
    expect(await detectServerCapabilities(server({ version: '7.0.77', ferretdbVersion: '1.24.0' }))).toEqual(FERRETDB_CAPABILITIES);
    // The embeddable package (the project's test server) reports no version of its own.
    expect(await detectServerCapabilities(server({ version: '7.0.42', ferretdbVersion: 'unknown' }))).toEqual(FERRETDB_CAPABILITIES);
    expect(await detectServerCapabilities(server({ version: '7.0.12' }))).toEqual(MONGODB_CAPABILITIES);
    // FerretDB 2 runs on the DocumentDB engine, whose updates are atomic.
    expect(await detectServerCapabilities(server({ version: '7.0.77', ferretdbVersion: 'v2.1.0' }))).toEqual(MONGODB_CAPABILITIES);
  });

  it('reports a server that does not answer as a PersistenceError', async () => {
    await expect(detectServerCapabilities(server(new Error('connection refused')))).rejects.toThrow(PersistenceError);
    const refusing = { command: async () => Promise.reject('not authorized') };
    await expect(detectServerCapabilities(refusing)).rejects.toThrow('asking the server what it can do (buildInfo) failed: not authorized');
  });

  it("MongoDB's set and FerretDB's differ in every flag", () => {
    for (const name of Object.keys(MONGODB_CAPABILITIES) as Array<keyof typeof MONGODB_CAPABILITIES>) {
      expect(MONGODB_CAPABILITIES[name]).not.toEqual(FERRETDB_CAPABILITIES[name]);
    }
  });
});

describe('PROCSTATE_CAPABILITIES', () => {
  it('names a set, then flags applied in order', () => {
    expect(capabilitiesFromEnvironment(env(undefined))).toEqual({ preset: undefined, overrides: {} });
    expect(capabilitiesFromEnvironment(env('  '))).toEqual({ preset: undefined, overrides: {} });
    expect(capabilitiesFromEnvironment(env('mongodb'))).toEqual({ preset: MONGODB_CAPABILITIES, overrides: {} });
    expect(capabilitiesFromEnvironment(env('mongodb, updatesPerCommand=16'))).toEqual({ preset: MONGODB_CAPABILITIES, overrides: { updatesPerCommand: 16 } });
    expect(capabilitiesFromEnvironment(env('indexedIn=true,atomicFindAndModify=false'))).toEqual({ preset: undefined, overrides: { indexedIn: true, atomicFindAndModify: false } });
    // A set named later replaces what came before it.
    expect(capabilitiesFromEnvironment(env('indexedIn=true,ferretdb'))).toEqual({ preset: FERRETDB_CAPABILITIES, overrides: {} });
  });

  it.each(['mongo', 'MongoDB', 'updatesPerCommand=0', 'updatesPerCommand=1e3', 'updatesPerCommand=016', 'updatesPerCommand=', 'updatesPerCommand=true', 'indexedIn=yes', 'indexedIn=1', 'sortedIndexes=true', 'mongodb,', '__proto__'])(
    'refuses %j with an error naming the variable',
    (value) => {
      expect(() => capabilitiesFromEnvironment(env(value))).toThrow(InvalidArgumentError);
      expect(() => capabilitiesFromEnvironment(env(value))).toThrow(/PROCSTATE_CAPABILITIES/);
    },
  );
});

describe('capability options', () => {
  it.each([null, [], 'mongodb', { indexedIn: 'true' }, { updatesPerCommand: 0 }, { updatesPerCommand: 1.5 }, { updatesPerCommand: 100_001 }, { atomic: true }])('refuses %j', (value) => {
    expect(() => assertCapabilityOverrides(value)).toThrow(InvalidArgumentError);
  });

  it('accepts any subset of the flags', () => {
    expect(() => assertCapabilityOverrides({})).not.toThrow();
    expect(() => assertCapabilityOverrides({ atomicFindAndModify: true, updatesPerCommand: 100_000 })).not.toThrow();
  });
});

describe('resolving the capabilities in use', () => {
  it('asks the server once, then applies the environment and the options over its answer (the options last)', async () => {
    const ferret = server({ ferretdbVersion: 'v1.24.2' });
    const resolve = serverCapabilities(ferret, { updatesPerCommand: 7 }, env('indexedIn=true,updatesPerCommand=9'));
    expect(ferret.asked.count).toBe(0);
    const expected = { ...FERRETDB_CAPABILITIES, indexedIn: true, updatesPerCommand: 7 };
    expect(await resolve()).toEqual(expected);
    expect(await resolve()).toEqual(expected);
    expect(ferret.asked.count).toBe(1);
  });

  it('does not ask the server when the environment names a set or the options give every flag', async () => {
    const never = server(new Error('must not be asked'));
    expect(await serverCapabilities(never, undefined, env('mongodb'))()).toEqual(MONGODB_CAPABILITIES);
    expect(await serverCapabilities(never, { indexedIn: false }, env('mongodb,updatesPerCommand=16'))()).toEqual({ ...MONGODB_CAPABILITIES, indexedIn: false, updatesPerCommand: 16 });
    expect(await serverCapabilities(never, FERRETDB_CAPABILITIES, env(undefined))()).toEqual(FERRETDB_CAPABILITIES);
    expect(never.asked.count).toBe(0);
  });

  it('asks again after a failed detection', async () => {
    let fail = true;
    const flaky = {
      calls: 0,
      async command() {
        flaky.calls += 1;
        if (fail) throw new Error('not yet');
        return {};
      },
    };
    const resolve = serverCapabilities(flaky, undefined, env(undefined));
    await expect(resolve()).rejects.toThrow(PersistenceError);
    fail = false;
    expect(await resolve()).toEqual(MONGODB_CAPABILITIES);
    expect(flaky.calls).toBe(2);
  });

  it('refuses bad overrides and a bad environment when built, before any I/O', () => {
    const never = server(new Error('must not be asked'));
    expect(() => serverCapabilities(never, { updatesPerCommand: -1 }, env(undefined))).toThrow(InvalidArgumentError);
    expect(() => serverCapabilities(never, undefined, env('sqlite'))).toThrow(InvalidArgumentError);
    expect(never.asked.count).toBe(0);
  });
});
