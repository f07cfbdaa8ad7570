/**
 * The database server's clock, as seen from this process: one clock for every worker's leases,
 * ledger times and "lost worker" decisions, whatever the workers' own clocks say.
 *
 * Each sample asks the server for its time (`hello`'s `localTime`, which MongoDB and FerretDB
 * both report) and takes the offset from the local clock at the middle of the round trip; of a
 * few samples the one with the shortest round trip wins, since its error is at most half of
 * that round trip. The offset is sampled again now and then, so a local clock that drifts or is
 * stepped is corrected within one refresh. `now()` is then the local clock plus the offset:
 * no round trip per reading. The local clock is used as is only for durations (timers).
 */
import type { Db } from 'mongodb';
import { InvalidArgumentError, PersistenceError } from '../../machines/errors.js';

/** Options of {@link ServerClock.start}. */
export interface ServerClockOptions {
  /** How often the offset is sampled again, in milliseconds. @defaultValue 30000 */
  readonly refreshMs?: number | undefined;
  /** Samples per refresh (the shortest round trip wins). @defaultValue 3 */
  readonly samples?: number | undefined;
  /** The local clock (for tests). @defaultValue Date.now */
  readonly localClock?: (() => number) | undefined;
  /** Where a failed refresh is reported; the last offset stays in use. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** One estimate of the server's clock. */
export interface ClockSample {
  /** Server time minus local time, in milliseconds. */
  readonly offsetMs: number;
  /** Half the round trip it was measured over: the most the offset can be off by. */
  readonly uncertaintyMs: number;
}

/** The server's clock, estimated from this process. Start it with {@link ServerClock.start}. */
export class ServerClock {
  readonly #localClock: () => number;
  #sample: ClockSample;
  #timer: NodeJS.Timeout | undefined;

  private constructor(sample: ClockSample, localClock: () => number) {
    this.#sample = sample;
    this.#localClock = localClock;
  }

  /**
   * Samples the server's clock and keeps sampling it every `refreshMs` (the timer does not keep
   * the process alive).
   * @throws PersistenceError when the server does not tell its time
   */
  static async start(db: Db, options: ServerClockOptions = {}): Promise<ServerClock> {
    const refreshMs = options.refreshMs ?? 30_000;
    const samples = options.samples ?? 3;
    if (!Number.isSafeInteger(refreshMs) || refreshMs < 1_000) throw new InvalidArgumentError(`refreshMs must be a whole number of at least 1000, got ${String(refreshMs)}.`);
    if (!Number.isSafeInteger(samples) || samples < 1 || samples > 20) throw new InvalidArgumentError(`samples must be a whole number from 1 to 20, got ${String(samples)}.`);
    const localClock = options.localClock ?? Date.now;
    const clock = new ServerClock(await sampleClock(db, localClock, samples), localClock);
    clock.#timer = setInterval(() => {
      sampleClock(db, localClock, samples).then(
        (sample) => {
          clock.#sample = sample;
        },
        (error: unknown) => options.onError?.(error),
      );
    }, refreshMs);
    clock.#timer.unref();
    return clock;
  }

  /** The server's time now, as estimated (local clock plus the last offset). */
  readonly now = (): Date => new Date(this.#localClock() + this.#sample.offsetMs);

  /** The last estimate: the offset and how far off it may be. */
  get sample(): ClockSample {
    return this.#sample;
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

async function sampleClock(db: Db, localClock: () => number, samples: number): Promise<ClockSample> {
  let best: ClockSample | undefined;
  for (let index = 0; index < samples; index += 1) {
    const sent = localClock();
    let reply: { localTime?: unknown };
    try {
      reply = await db.admin().command({ hello: 1 });
    } catch (error) {
      throw new PersistenceError('asking the server for its time (hello) failed', { cause: error });
    }
    const received = localClock();
    if (!(reply.localTime instanceof Date)) throw new PersistenceError('the server does not report its time (hello has no localTime)');
    const sample = { offsetMs: reply.localTime.getTime() - (sent + received) / 2, uncertaintyMs: (received - sent) / 2 };
    if (best === undefined || sample.uncertaintyMs < best.uncertaintyMs) best = sample;
  }
  return best as ClockSample;
}
