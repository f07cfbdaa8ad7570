/**
 * Runs the same-run baselines on their own and prints what they measured as JSON:
 *
 *   npx tsx bench/baselines/run-baselines.ts
 *
 * Starts the project's FerretDB (scripts/db.sh start) unless MONGODB_URI names a server, and
 * runs bare Agenda in a fresh database that it drops at the end. Environment:
 * BASELINE_ONLY (some of agenda,bullmq,pgboss; default all), BASELINE_SIZE (jobs, children;
 * default 300), BASELINE_CONCURRENCY (default 8), BASELINE_WORKERS (Agenda instances, default
 * 2), BASELINE_BATCH (pg-boss batch size, default 10), REDIS_URL (default
 * redis://127.0.0.1:6379), PGBOSS_URL (default
 * postgres://root@127.0.0.1:5432/procstate_bench_pgboss).
 *
 * A baseline that fails gets `{ error }` in the JSON and the exit status 1; the others still run.
 * At the end it prints what still holds the event loop. Without Agenda it then lets the process
 * end by itself, which shows that the BullMQ and pg-boss baselines leave nothing behind. With
 * Agenda it exits explicitly, as bench/run.ts does: Agenda leaves a 5-minute timer per run (see
 * bareAgendaFanout) that nothing outside Agenda can clear.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { bareAgendaFanout } from './agenda-fanout.js';
import { bullmqFlow } from './bullmq-flow.js';
import { pgBossJobs } from './pg-boss.js';

const root = new URL('../..', import.meta.url).pathname;
const only = process.env['BASELINE_ONLY']?.split(',');
const wanted = (name: 'agenda' | 'bullmq' | 'pgboss') => only === undefined || only.includes(name);
const number = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const size = number('BASELINE_SIZE', 300);
const concurrency = number('BASELINE_CONCURRENCY', 8);
const workers = number('BASELINE_WORKERS', 2);
const batchSize = number('BASELINE_BATCH', 10);
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const pgBossUrl = process.env['PGBOSS_URL'] ?? 'postgres://root@127.0.0.1:5432/procstate_bench_pgboss';

const log = (line: string) => process.stderr.write(`${line}\n`);
const results: Record<string, unknown> = { size, concurrency };

// One failing baseline does not hide the others' figures: its entry says what went wrong.
let failed = false;
const measure = async (key: string, label: string, run: () => Promise<object>) => {
  log(label);
  try {
    results[key] = await run();
  } catch (error) {
    failed = true;
    results[key] = { error: error instanceof Error ? error.message : String(error) };
    log(`  failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
};

if (wanted('agenda')) {
  const uri = process.env['MONGODB_URI'] ?? execFileSync(`${root}scripts/db.sh`, ['start'], { encoding: 'utf8' }).trim();
  // maxPoolSize 4: FerretDB deadlocks when too many update commands run at once.
  // monitorCommands: bareAgendaFanout counts the commands from the client's events.
  const client = await new MongoClient(uri, { maxPoolSize: 4, monitorCommands: true }).connect();
  const db = client.db(`procstate_bench_baselines_${randomBytes(4).toString('hex')}`);
  try {
    await measure('bareAgendaFanout', `bare Agenda: ${size} jobs on ${workers} instances…`, async () => ({ workers, ...(await bareAgendaFanout(db, size, { concurrency, workers })) }));
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
if (wanted('bullmq')) {
  await measure('bullmqFlow', `BullMQ: a flow of 1 parent and ${size} children…`, () => bullmqFlow(redisUrl, size, { concurrency }));
}
if (wanted('pgboss')) {
  await measure('pgBossJobs', `pg-boss: ${size} jobs, batches of ${batchSize}…`, async () => ({ batchSize, ...(await pgBossJobs(pgBossUrl, size, { batchSize, concurrency })) }));
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);

const holding: Record<string, number> = {};
for (const resource of process.getActiveResourcesInfo()) holding[resource] = (holding[resource] ?? 0) + 1;
log(`done at ${new Date().toISOString()}; still holding the event loop: ${JSON.stringify(holding)}`);
if (failed) process.exitCode = 1;
if (wanted('agenda')) process.exit();
