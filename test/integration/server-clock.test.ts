/**
 * The server's clock seen from a process whose own clock is wrong: the offset it estimates is the
 * skew, within half a round trip, and `now()` follows the server, not the local clock.
 */
import { describe, expect, it } from 'vitest';
import { ServerClock } from '../../persistence/mongodb/index.js';
import { InvalidArgumentError, PersistenceError } from '../../src/index.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();

describe('the server clock', () => {
  it.each([120_000, -120_000, 0])('corrects a local clock that is off by %i ms', async (skewMs) => {
    const clock = await ServerClock.start(database.db, { localClock: () => Date.now() + skewMs });
    try {
      // The server runs on this machine, on this machine's clock: the true offset is -skew.
      // FerretDB reports its time in whole milliseconds, hence the 1 ms.
      expect(Math.abs(clock.sample.offsetMs + skewMs)).toBeLessThanOrEqual(clock.sample.uncertaintyMs + 1);
      const before = Date.now();
      const now = clock.now().getTime();
      const after = Date.now();
      expect(now).toBeGreaterThanOrEqual(before - clock.sample.uncertaintyMs - 1);
      expect(now).toBeLessThanOrEqual(after + clock.sample.uncertaintyMs + 1);
    } finally {
      clock.stop();
    }
  });

  it('refuses a refresh interval or sample count out of range', async () => {
    await expect(ServerClock.start(database.db, { refreshMs: 10 })).rejects.toThrow(InvalidArgumentError);
    await expect(ServerClock.start(database.db, { samples: 0 })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('the server clock on this machine', () => {
  it("defaults to this machine's clock, and a server that does not report its time is a PersistenceError", async () => {
    const clock = await ServerClock.start(database.db);
    try {
      // The server runs on this machine: no skew beyond the round trip.
      expect(Math.abs(clock.sample.offsetMs)).toBeLessThanOrEqual(clock.sample.uncertaintyMs + 1);
    } finally {
      clock.stop();
    }
    const silent = { admin: () => ({ command: async () => ({ ok: 1 }) }) } as unknown as typeof database.db;
    await expect(ServerClock.start(silent)).rejects.toThrow(PersistenceError);
  });
});
