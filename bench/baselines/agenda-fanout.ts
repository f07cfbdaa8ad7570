/**
 * Baseline: bare Agenda 6 fanning N empty jobs out over several Agenda instances on one
 * collection, with no procstate in the way. It gives the fan-out figures a same-run reference
 * for wall time and for database commands per job, and it counts the jobs Agenda runs more
 * than once (on FerretDB 1.24 findAndModify is not atomic, so two instances can lock the same
 * job).
 */
import { randomBytes } from 'node:crypto';
import { Agenda, InMemoryNotificationChannel, type JobWithId } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Db } from 'mongodb';

/** The collection every instance of the pass shares, as several worker processes would. */
const COLLECTION = 'bare_agenda_fanout';
/** How often each instance polls, as in bench/end-to-end.ts's bare Agenda pass. */
const PROCESS_EVERY_MS = 1_000;
/** Upper bound on the whole pass, so a lost job fails the benchmark instead of hanging it. */
const PASS_TIMEOUT_MS = 30 * 60_000;
/** How long to wait, after the last job's first completion, for duplicate runs still in flight. */
const IN_FLIGHT_TIMEOUT_MS = 10_000;
/**
 * How long the pass may go without a single job completing before it is declared stuck. Bare
 * Agenda can wedge: a job it locked but finds expired when it gets to it is dropped without
 * giving back its lock slot, and once an instance has leaked lockLimit slots it never locks
 * again; and a FerretDB deadlock leaves a command unanswered. Failing after two minutes without
 * progress beats waiting out {@link PASS_TIMEOUT_MS}.
 */
const STALL_MS = 120_000;

/** What {@link bareAgendaFanout} measured. */
export interface BareAgendaFanoutResult {
  /** Wall time from just before the first create to the first completion of the last job. */
  readonly seconds: number;
  /** Job runs started ('start' events), duplicates included. */
  readonly runs: number;
  /**
   * Runs beyond the first of each job: `runs` minus the number of distinct jobs started. A
   * second lock that loses the race outright (its save before the run finds the job already
   * removed, and Agenda reports an 'error' instead of starting it) is not a run and not counted.
   */
  readonly duplicateRuns: number;
  /**
   * Database commands the driver started from just before the first create until every
   * instance has stopped and no run is left in flight (so the duplicate runs' and the stops'
   * own commands count; index creation and start-up do not).
   */
  readonly commands: number;
}

/**
 * Runs `jobs` empty jobs on `options.workers` bare Agenda instances (one Agenda object each, on
 * the same `db` and collection, modelling that many worker processes) and measures how long
 * they take, how many runs they needed and how many database commands they sent.
 *
 * The jobs are created up front, as fast as the driver takes them, through the first instance,
 * as a single process fanning work out would; each instance has its own
 * {@link InMemoryNotificationChannel}, so only the first hears of the new jobs at once and the
 * others find them by polling every {@link PROCESS_EVERY_MS} ms, as separate processes with
 * in-process channels would. Every instance uses `options.concurrency` as its maxConcurrency,
 * defaultConcurrency, defaultLockLimit and lockLimit, and `removeOnComplete: true`.
 *
 * Agenda's default lock lifetime (10 minutes, procstate's AgendaScheduler's too) is kept, and
 * with it a timer the caller should know about: Agenda watches every run on a timer of half the
 * lock lifetime that it does not clear when the run ends, so after this pass the process cannot
 * exit by itself for up to 5 minutes; exit explicitly (bench/run.ts does). A short lock lifetime
 * would shorten that, but a locked job that waits longer than it for its turn leaks a lock slot
 * (see {@link STALL_MS}), and with 10 s that wedged the pass on a loaded machine.
 *
 * @param db - A database whose client was created with `monitorCommands: true` (the commands
 *   are counted from the client's `commandStarted` events) and, on FerretDB, `maxPoolSize: 4`
 *   (FerretDB deadlocks when too many update commands run at once).
 * @param jobs - How many jobs to run.
 * @param options - `concurrency` per instance and the number of instances, `workers`.
 * @returns The measurements; the caller builds the report rows.
 * @throws When the client does not monitor commands, a run fails, no job completes for
 *   {@link STALL_MS}, or the jobs do not finish in {@link PASS_TIMEOUT_MS}.
 */
export async function bareAgendaFanout(
  db: Db,
  jobs: number,
  options: { concurrency: number; workers: number },
): Promise<BareAgendaFanoutResult> {
  const { concurrency, workers } = options;
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`bareAgendaFanout: jobs must be a positive integer, got ${jobs}`);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`bareAgendaFanout: workers must be a positive integer, got ${workers}`);
  const client = db.client;
  // Without monitoring the driver emits no command events and the count would silently be 0.
  if (client.options.monitorCommands !== true) {
    throw new Error('bareAgendaFanout counts database commands: pass a Db from a MongoClient created with monitorCommands: true');
  }

  // A job name of its own per pass: instances only run the names they define, so jobs left in
  // the shared collection by an earlier, interrupted pass are never picked up or counted.
  const jobName = `bare-fanout-${randomBytes(4).toString('hex')}`;

  let counting = false;
  let commands = 0;
  const onCommand = () => {
    if (counting) commands += 1;
  };
  client.on('commandStarted', onCommand);

  const runsPerJob = new Map<string, number>();
  const completedJobs = new Set<string>();
  let runs = 0;
  // Runs started and not yet completed, so the stop can wait for duplicates still running.
  let inFlight = 0;
  let started = 0;
  let finished = 0;

  let settleAll: (error?: Error) => void = () => undefined;
  const allCompleted = new Promise<void>((resolve, reject) => {
    settleAll = (error) => (error === undefined ? resolve() : reject(error));
  });
  // It may reject while the creates are still being awaited; it is awaited (and rethrows) below.
  allCompleted.catch(() => undefined);
  let lastProgress = 0;
  let watchdog: NodeJS.Timeout | undefined;
  let onIdle: () => void = () => undefined;

  const agendas: Agenda[] = [];
  try {
    for (let index = 0; index < workers; index += 1) {
      const agenda = new Agenda({
        backend: new MongoBackend({ mongo: db, collection: COLLECTION }),
        // Distinct names, as distinct processes would have (Agenda records it as lastModifiedBy).
        name: `bare-fanout-worker-${index}`,
        processEvery: PROCESS_EVERY_MS,
        maxConcurrency: concurrency,
        defaultConcurrency: concurrency,
        defaultLockLimit: concurrency,
        lockLimit: concurrency,
        removeOnComplete: true,
        notificationChannel: new InMemoryNotificationChannel(),
      });
      agendas.push(agenda);
      // Not fatal: on FerretDB the second instance to lock a job often finds it already removed
      // by the first run (its save before the run fails, so it never starts); Agenda reports
      // that here and carries on.
      agenda.on('error', () => undefined);
      agenda.define(jobName, async () => undefined, { concurrency, lockLimit: concurrency });
      // Every listener sees local runs only: each instance has a channel of its own, and Agenda
      // drops the state notifications of its own source, so nothing arrives with remote = true.
      agenda.on(`start:${jobName}`, (job: JobWithId) => {
        const id = String(job.attrs._id);
        runs += 1;
        inFlight += 1;
        runsPerJob.set(id, (runsPerJob.get(id) ?? 0) + 1);
      });
      agenda.on(`complete:${jobName}`, (job: JobWithId) => {
        inFlight -= 1;
        completedJobs.add(String(job.attrs._id));
        lastProgress = performance.now();
        if (completedJobs.size === jobs && finished === 0) {
          finished = performance.now();
          settleAll();
        }
        if (inFlight === 0) onIdle();
      });
      // 'fail' precedes 'complete' for a failed run; an empty job only fails when Agenda itself
      // does, which makes the baseline worthless, so fail the pass.
      agenda.on(`fail:${jobName}`, (error: Error, job: JobWithId) => {
        settleAll(new Error(`bareAgendaFanout: job ${String(job.attrs._id)} failed: ${error.message}`));
      });
    }
    // Start-up (backend connection, index creation, the first scan of an empty queue) is not
    // part of the measurement: a worker fleet is up before work arrives.
    await Promise.all(agendas.map((agenda) => agenda.ready));
    await Promise.all(agendas.map((agenda) => agenda.start()));

    const producer = agendas[0] as Agenda;
    counting = true;
    started = performance.now();
    lastProgress = started;
    watchdog = setInterval(() => {
      if (performance.now() - lastProgress < STALL_MS) return;
      settleAll(new Error(`bareAgendaFanout: stuck, ${completedJobs.size} of ${jobs} jobs completed and none for ${STALL_MS / 1000} s`));
    }, 5_000);
    // All at once: the driver's pool (maxPoolSize 4 on FerretDB) is what paces the inserts.
    await Promise.all(Array.from({ length: jobs }, () => producer.now(jobName, {})));
    await withTimeout(allCompleted, PASS_TIMEOUT_MS, () => {
      const stuck = jobs - completedJobs.size;
      return new Error(`bareAgendaFanout: ${stuck} of ${jobs} jobs did not complete in ${PASS_TIMEOUT_MS / 1000} s`);
    });
  } finally {
    clearInterval(watchdog);
    // stop() clears each instance's poll interval and unlocks jobs it locked but had not started
    // (false: the caller owns the client). Runs already under way keep going, so wait for them
    // afterwards: a duplicate run of the last job can still be in flight here.
    await Promise.all(agendas.map((agenda) => agenda.stop(false)));
    if (inFlight > 0) {
      await withTimeout(
        new Promise<void>((resolve) => {
          onIdle = resolve;
        }),
        IN_FLIGHT_TIMEOUT_MS,
        () => undefined,
      ).catch(() => undefined);
    }
    counting = false;
    client.off('commandStarted', onCommand);
    // Anything a stopped run or an interrupted pass left of this pass's jobs.
    await db.collection(COLLECTION).deleteMany({ name: jobName }).catch(() => undefined);
  }

  const duplicateRuns = runs - runsPerJob.size;
  return { seconds: (finished - started) / 1000, runs, duplicateRuns, commands };
}

/** `promise`, or `onTimeout()`'s error after `ms`; the timer never outlives the race. */
async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout() ?? new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
