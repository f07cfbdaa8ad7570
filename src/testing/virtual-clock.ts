/**
 * Time under the test's control, for leases, sweeps and timeouts: pass `clock.now` as the
 * runtime's `clock` and the {@link ControlledScheduler}'s `clock`, then move it with `advance`.
 * A lease expires, a PENDING call goes stale, a timeout falls due exactly when the test says.
 */
import { InvalidArgumentError } from '../../machines/errors.js';

/** A clock that stands still until it is advanced. */
export class VirtualClock {
  #now: number;

  /** @param start the time it shows first. @defaultValue 2026-01-01T00:00:00Z */
  constructor(start: Date = new Date('2026-01-01T00:00:00.000Z')) {
    if (!(start instanceof Date) || Number.isNaN(start.getTime())) throw new InvalidArgumentError('VirtualClock needs a valid start Date.');
    this.#now = start.getTime();
  }

  /** The current time; bound, so it can be passed as a runtime's `clock`. */
  readonly now = (): Date => new Date(this.#now);

  /** Moves the clock forward by `ms` (0 or more). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`advance takes a finite number of milliseconds, 0 or more; got ${String(ms)}.`);
    this.#now += ms;
  }
}
