/**
 * When Agenda is done with a job it ran: its bookkeeping comes after the job's function returned
 * (the final state save, which unlocks it, then the removal of a completed one-time job), and a
 * drain that closes the client before those writes leaves a finished job locked for a lock
 * lifetime. Agenda exposes no promise for that; the repository procstate owns sees both writes,
 * and reports them here.
 *
 * A watch lives from the start of the job's function to its last write, and is freed then: the
 * state kept is bounded by the jobs running at once.
 */

interface Watch {
  /** Whether the function returned; until then the bookkeeping has not begun. */
  finished: boolean;
  /** Whether Agenda will remove the job once saved (a completed one-time job). */
  removal: boolean;
  saved: boolean;
  removed: boolean;
  settle: () => void;
  readonly settled: Promise<void>;
}

/** Jobs whose bookkeeping someone waits for, by id. */
export class JobSettlements {
  readonly #watches = new Map<string, Watch>();

  /** Jobs watched now (for tests and the benchmark's memory figures). */
  get size(): number {
    return this.#watches.size;
  }

  /** Starts watching a job; call when its function starts. */
  watch(id: string): void {
    let settle = () => {};
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.#watches.set(id, { finished: false, removal: false, saved: false, removed: false, settle, settled });
  }

  /**
   * The function of a watched job returned; resolves once Agenda's final save (and, when
   * `removal`, its removal of the job) was answered, whether it succeeded or not.
   */
  finished(id: string, removal: boolean): Promise<void> {
    const watch = this.#watches.get(id);
    if (watch === undefined) return Promise.resolve();
    watch.finished = true;
    watch.removal = removal;
    this.#check(id, watch);
    return watch.settled;
  }

  /**
   * Agenda's save of a job's state with no lock (its final save) was answered. A job saved with
   * a next run time (a repeating job, a retry) stays: Agenda removes only jobs that will not run again.
   */
  unlocked(id: string, runsAgain: boolean): void {
    const watch = this.#watches.get(id);
    if (watch === undefined || !watch.finished) return;
    watch.saved = true;
    if (runsAgain) watch.removal = false;
    this.#check(id, watch);
  }

  /** A removal of these jobs was answered. */
  removed(ids: Iterable<string>): void {
    for (const id of ids) {
      const watch = this.#watches.get(id);
      if (watch === undefined || !watch.finished) continue;
      watch.removed = true;
      this.#check(id, watch);
    }
  }

  #check(id: string, watch: Watch): void {
    if (!watch.finished || !watch.saved || (watch.removal && !watch.removed)) return;
    this.#watches.delete(id);
    watch.settle();
  }
}
