/**
 * Baseline: pg-boss 10 (the last major that runs on Node 20) moving N empty jobs through one
 * queue on the local PostgreSQL. It is the same-run reference for a job queue that lives in a
 * SQL database, and it reports how much of the time pg-boss spends fetching jobs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';

/** Upper bound on one pass, so a lost job fails the benchmark instead of hanging it. */
const PASS_TIMEOUT_MS = 30 * 60_000;
/** pg-boss 10's shortest polling interval (its POLICY.MIN_POLLING_INTERVAL_MS is 500). */
const POLLING_INTERVAL_SECONDS = 0.5;
/** Jobs per `boss.insert` call: one statement each, small enough to keep the JSON parameter modest. */
const INSERT_CHUNK = 1_000;

/** The parts of `pg` (a dependency of pg-boss) this module uses; the project has no @types/pg. */
interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}
interface PgPool extends PgQueryable {
  connect(): Promise<{ release(): void }>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  end(): Promise<void>;
}
interface PgClient extends PgQueryable {
  connect(): Promise<void>;
  end(): Promise<void>;
}
interface PgModule {
  Pool: new (config: { connectionString: string; max: number; idleTimeoutMillis: number; application_name: string }) => PgPool;
  Client: new (config: { connectionString: string }) => PgClient;
  escapeIdentifier(name: string): string;
}
// Through require: `pg` is CommonJS without types here, and a typed wrapper beats an ambient
// `declare module 'pg'` that would leak into the whole project's type checking.
const pg = createRequire(import.meta.url)('pg') as PgModule;

/** What {@link pgBossJobs} measured. */
export interface PgBossJobsResult {
  /** Wall time from the first insert to the commit of the last job's completion. */
  readonly seconds: number;
  /**
   * Time spent in pg-boss's fetch statement (the `FOR UPDATE SKIP LOCKED` query behind every
   * poll, from the call into the pool to its result), summed over every poll of every worker
   * loop that started within the measured window, empty polls included. With
   * `concurrency` > 1 the loops fetch at the same time, so the sum can exceed `seconds`.
   */
  readonly fetchSeconds: number;
}

/**
 * Sends `jobs` empty jobs to a fresh pg-boss queue and works them off, measuring the time from
 * the first insert until the last job is recorded completed.
 *
 * The jobs go in with `boss.insert` ({@link INSERT_CHUNK} per statement, ids made here). They
 * are then worked by `options.concurrency` calls of
 * `boss.work(queue, { batchSize, pollingIntervalSeconds: 0.5 }, handler)`: pg-boss 10 has no
 * per-worker concurrency option (v10 dropped teamSize), each `work` call is one polling
 * loop that fetches up to `batchSize` jobs, hands them to the handler as one array and then
 * completes them in one statement. A loop waits out the rest of its polling interval after
 * every fetch, even a full one, so pg-boss 10's throughput is bounded by
 * concurrency × batchSize per 0.5 s; that is the library's design, not the benchmark's.
 *
 * pg-boss is given a `db` of our own (its documented `db` option) on a `pg` pool, so that the
 * fetch statements can be timed and the completions counted as they commit: pg-boss does not
 * await its `complete` after a handler returns, so the handler's return is not the end. Both
 * are recognised by their SQL (pg-boss 10.4's `fetchNextJob` and `completeJobs`); the pass
 * throws if it sees no fetch, rather than report a time it did not measure. Maintenance
 * (`supervise`) and cron (`schedule`) are off: their queries are not part of moving jobs.
 *
 * The pool has `concurrency + 1` connections, opened before the clock starts, unless the server
 * has fewer free: it then leaves {@link SPARE_CONNECTIONS} for other clients (the FerretDB
 * servers on the same PostgreSQL keep dozens open), emits a process warning, and fetchSeconds
 * then includes waiting for a connection. It throws when fewer than 2 would be left.
 *
 * The database named in `connectionString` is created if it does not exist (through the
 * `postgres` database on the same server). The jobs (`boss.deleteJob`) and the queue
 * (`boss.deleteQueue`) are deleted and the pool closed at the end.
 *
 * @param connectionString - e.g. `postgres://root@127.0.0.1:5432/procstate_bench_pgboss`.
 * @param jobs - How many jobs to send and work.
 * @param options - `batchSize` (jobs per fetch) and `concurrency` (worker loops).
 * @returns The measurements; the caller builds the report rows.
 * @throws When pg-boss reports an error, PostgreSQL has too few free connections, the jobs do
 *   not complete in {@link PASS_TIMEOUT_MS}, or the queue cannot be removed afterwards.
 */
export async function pgBossJobs(
  connectionString: string,
  jobs: number,
  options: { batchSize: number; concurrency: number },
): Promise<PgBossJobsResult> {
  const { batchSize, concurrency } = options;
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`pgBossJobs: jobs must be a positive integer, got ${jobs}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`pgBossJobs: concurrency must be a positive integer, got ${concurrency}`);
  const free = await prepareDatabase(connectionString);

  // One connection per loop and one for the completions, so that waiting for a connection does
  // not stand in for pg-boss's own cost; but never the server's last free connections, which
  // other clients (on this machine, the FerretDB servers, which keep dozens open) may need.
  const wanted = concurrency + 1;
  const size = Math.min(wanted, free - SPARE_CONNECTIONS);
  if (size < 2) {
    throw new Error(`pgBossJobs: PostgreSQL has ${free} free connections; it needs at least ${2 + SPARE_CONNECTIONS} (2, and ${SPARE_CONNECTIONS} left for other clients)`);
  }
  if (size < wanted) {
    process.emitWarning(`pgBossJobs: PostgreSQL has ${free} free connections, so the pool has ${size} instead of ${wanted}; fetchSeconds includes waiting for a connection`);
  }
  // idleTimeoutMillis 0: the warmed-up connections stay open for the whole pass.
  const pool = new pg.Pool({ connectionString, max: size, idleTimeoutMillis: 0, application_name: 'procstate-bench-pgboss' });
  const errors: Error[] = [];
  const cleanupErrors: Error[] = [];
  pool.on('error', (error) => errors.push(error));

  const queue = `bench_${randomBytes(4).toString('hex')}`;
  let measuring = false;
  let fetches = 0;
  let fetchMs = 0;
  let completed = 0;
  let inFlight = 0;
  let finishedAt = 0;
  let handled = 0;
  let onAllCompleted: (error?: Error) => void = () => undefined;
  let unrecognised: NodeJS.Timeout | undefined;
  let onIdle: () => void = () => undefined;

  const db: PgBoss.Db = {
    executeSql: async (text, values) => {
      const isOurs = values?.[0] === queue;
      const isFetch = isOurs && FETCH_SQL.test(text);
      const isComplete = isOurs && COMPLETE_SQL.test(text);
      const timed = isFetch && measuring;
      const begun = performance.now();
      inFlight += 1;
      try {
        const result = await pool.query(text, values);
        if (timed) {
          fetches += 1;
          fetchMs += performance.now() - begun;
        }
        if (isComplete) {
          // completeJobs returns the number of rows it moved to 'completed'.
          completed += Number(result.rows[0]?.['count'] ?? 0);
          if (completed >= jobs && finishedAt === 0) {
            finishedAt = performance.now();
            measuring = false;
            onAllCompleted();
          }
        }
        return result;
      } finally {
        inFlight -= 1;
        if (inFlight === 0) onIdle();
      }
    },
  };

  const ids = Array.from({ length: jobs }, () => randomUUID());
  const boss = new PgBoss({ db, supervise: false, schedule: false });
  boss.on('error', (error) => errors.push(error));
  let startedAt = 0;
  try {
    await boss.start();
    await boss.createQueue(queue);
    const allCompleted = new Promise<void>((resolve, reject) => {
      onAllCompleted = (error) => (error === undefined ? resolve() : reject(error));
    });
    const handler = async (batch: PgBoss.Job[]) => {
      handled += batch.length;
      // Every job has reached a handler; if their completions are still not seen a minute
      // later, the completion statement is not the one this module recognises.
      if (handled >= jobs && unrecognised === undefined) {
        unrecognised = setTimeout(() => onAllCompleted(new Error("pgBossJobs: every job was handled but no completion was seen; pg-boss's SQL is not what this module recognises (it was written for 10.4)")), 60_000);
      }
    };

    // Ids chosen here rather than by PostgreSQL, so the jobs can be deleted whatever state they
    // end in (pg-boss 10.4's deleteQueue fails on the partition's foreign key while any job of
    // the queue is left, and completed jobs stay until maintenance archives them).
    const rows = ids.map((id) => ({ id, name: queue, data: {} }));
    // A long-running pg-boss has its connections open; without this the first poll of every
    // loop would also pay for a new PostgreSQL connection, and that would count as fetching.
    const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
    for (const client of clients) client.release();
    measuring = true;
    startedAt = performance.now();
    for (let offset = 0; offset < jobs; offset += INSERT_CHUNK) await boss.insert(rows.slice(offset, offset + INSERT_CHUNK));
    for (let loop = 0; loop < concurrency; loop += 1) {
      await boss.work(queue, { batchSize, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS }, handler);
    }
    await withTimeout(allCompleted, PASS_TIMEOUT_MS, () => new Error(`pgBossJobs: ${jobs - completed} of ${jobs} jobs did not complete in ${PASS_TIMEOUT_MS / 1000} s`));
    if (fetches === 0) throw new Error("pgBossJobs: saw no fetch statement; pg-boss's SQL is not what this module recognises (it was written for 10.4)");
    if (errors.length > 0) throw errors[0];
  } finally {
    measuring = false;
    clearTimeout(unrecognised);
    // Stops every loop and waits for handlers still running (none by now); `close` only closes
    // pg-boss's own pool, and this one is ours.
    await boss.stop({ graceful: true, wait: true }).catch((error: unknown) => cleanupErrors.push(error as Error));
    // A stopped loop still finishes the fetch it is in; let it, before its partition goes.
    if (inFlight > 0) {
      await withTimeout(
        new Promise<void>((resolve) => {
          onIdle = resolve;
        }),
        10_000,
        () => undefined,
      ).catch(() => undefined);
    }
    try {
      for (let offset = 0; offset < jobs; offset += INSERT_CHUNK) await boss.deleteJob(queue, ids.slice(offset, offset + INSERT_CHUNK));
      await boss.deleteQueue(queue);
    } catch (error) {
      cleanupErrors.push(error as Error);
    }
    await pool.end();
  }
  // Reached only when the pass itself succeeded; a failed pass's own error is the one to see.
  if (cleanupErrors.length > 0) throw new Error(`pgBossJobs: the queue ${queue} was not removed: ${String(cleanupErrors[0])}`);
  return { seconds: (finishedAt - startedAt) / 1000, fetchSeconds: fetchMs / 1000 };
}

/** pg-boss 10's `fetchNextJob`: the only statement with SKIP LOCKED, `$1` the queue name. */
const FETCH_SQL = /FOR UPDATE SKIP LOCKED/;
/** pg-boss 10's `completeJobs`, `$1` the queue name. */
const COMPLETE_SQL = /SET completed_on = now\(\),\s+state = 'completed'/;

/** Connections {@link pgBossJobs} leaves free on the server for everyone else. */
const SPARE_CONNECTIONS = 3;

/**
 * Creates the database `connectionString` names unless it exists, through `postgres` on the
 * same server, and returns how many more connections the server accepts from this user.
 */
async function prepareDatabase(connectionString: string): Promise<number> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '') throw new Error(`pgBossJobs: ${connectionString} names no database`);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rows.length === 0) {
      try {
        await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } catch (error) {
        // 42P04 duplicate_database: another run created it in between, which is just as good.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
    // Client connections count against max_connections; the superuser-reserved ones are
    // usable only by superusers. This connection is about to close, hence the + 1.
    const { rows: capacity } = await admin.query(`
      SELECT current_setting('max_connections')::int
        - CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN 0 ELSE current_setting('superuser_reserved_connections')::int END
        - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int
        + 1 AS free`);
    return Number(capacity[0]?.['free'] ?? 0);
  } finally {
    await admin.end();
  }
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
