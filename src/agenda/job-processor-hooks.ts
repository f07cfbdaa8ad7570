/**
 * Two things Agenda 6's job processor does not offer, added where it starts a job
 * (`runOrRetry`, called once per job it locked):
 *
 * - **Knowing when a job is really done.** Agenda saves a job's state (its unlock) and removes a
 *   completed job *after* the job's function returned. A drain that waits for the functions
 *   only and then closes the client cuts those writes, leaving a finished job locked for a lock
 *   lifetime. `runOrRetry` resolves once all of it is done, so the scheduler waits for that.
 * - **Not holding the process open after a close.** Agenda races every job against a liveness
 *   check that sleeps `max(processEvery, lockLifetime) / 2` (five minutes with the default lock
 *   lifetime) on a plain, referenced `setTimeout`, and neither stops nor drains clear it: a
 *   process whose runtime was closed stays alive for up to half a lock lifetime after its last
 *   job. (Agenda fixed the same leak for its near-future job timers in agenda/agenda#1786, not
 *   for this one.) The check's first sleep is armed synchronously when the job starts, so for
 *   that synchronous stretch only, timers of exactly the check's length are unreferenced.
 *   Nothing is cleared: the check still runs while the process is alive for other reasons (the
 *   database connection, Agenda's poll interval). A job that runs longer than one sleep arms
 *   later sleeps in a continuation this cannot reach; such a timer can keep the process up to
 *   half a lock lifetime after a close (docs/operations.md).
 */

interface JobProcessorLike {
  runOrRetry(job: unknown): Promise<void>;
}

/** The part of an Agenda instance this reads: its processor exists once `start()` resolved. */
interface AgendaWithProcessor {
  readonly jobProcessor?: JobProcessorLike | undefined;
}

const HOOKED = Symbol('procstate.jobProcessorHooked');

/** What to do around each job Agenda's processor starts. */
export interface JobProcessorHooks {
  /** The liveness check's sleep, `max(processEvery / 2, lockLifetime / 2)`. */
  readonly livenessMs: number;
  /** Receives the promise of each job's whole run, bookkeeping included. */
  readonly onRun: (run: Promise<void>) => void;
}

/** Hooks Agenda's current processor. Call after every `agenda.start()` (each start makes a new processor). */
export function hookJobProcessor(agenda: object, hooks: JobProcessorHooks): void {
  const processor = (agenda as AgendaWithProcessor).jobProcessor as (JobProcessorLike & { [HOOKED]?: true }) | undefined;
  if (processor === undefined || processor[HOOKED] === true || typeof processor.runOrRetry !== 'function') return;
  const runOrRetry = processor.runOrRetry.bind(processor);
  processor.runOrRetry = (job: unknown) => {
    const setTimer = globalThis.setTimeout;
    globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const timer = setTimer(callback, ms, ...args);
      if (ms === hooks.livenessMs) timer.unref();
      return timer;
    }) as typeof setTimeout;
    let run: Promise<void>;
    try {
      run = runOrRetry(job);
    } finally {
      globalThis.setTimeout = setTimer;
    }
    hooks.onRun(run);
    return run;
  };
  processor[HOOKED] = true;
}
