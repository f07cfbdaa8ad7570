/**
 * `npm run bench`: every benchmark, each figure a ratio against a baseline measured in the same
 * run on the same machine (XState, BullMQ, bare Agenda, pg-boss, raw driver calls). Prints a
 * table and writes bench/results.json. Starts the project's FerretDB unless MONGODB_URI names a
 * server; Redis and PostgreSQL run on the machine.
 *
 * BENCH_ONLY=group,... runs some groups (embedded, fan-out, transition, group-commit, end-to-end,
 * dispatch, agenda, memory, migration, dashboard). The default sizes keep the whole run within 15 minutes
 * on two cores with FerretDB; BENCH_FULL=1 uses the full sizes. Every step has a watchdog that fails
 * with the server's state rather than hanging.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { watched } from '../test/helpers/watchdog.js';
import { bareAgendaFanout } from './baselines/agenda-fanout.js';
import { pgBossJobs } from './baselines/pg-boss.js';
import { benchDashboard } from './dashboard.js';
import { benchDispatch } from './dispatch.js';
import { benchEmbedded } from './embedded.js';
import { benchEndToEnd } from './end-to-end.js';
import { benchAgendaFanOut } from './fanout-agenda.js';
import { benchEmbeddedFanOut } from './fanout.js';
import { benchGroupCommit } from './group-commit.js';
import { benchMigration } from './migration.js';
import { table, writeResults, type BenchResult } from './report.js';
import { benchTransition } from './transition.js';
import { benchWorkerMemory } from './worker-memory.js';

const root = new URL('..', import.meta.url).pathname;
const full = process.env['BENCH_FULL'] === '1';
const only = process.env['BENCH_ONLY']?.split(',');
const wanted = (group: string) => only === undefined || only.includes(group);
const size = (name: string, quick: number, complete: number) => Number(process.env[name] ?? (full ? complete : quick));
const STEP_TIMEOUT_MS = 40 * 60_000;
const REDIS = 'redis://127.0.0.1:6379';
const PG_BOSS = process.env['PGBOSS_URL'] ?? 'postgres://root@127.0.0.1:5432/procstate_bench_pgboss';

const uri = process.env['MONGODB_URI'] ?? execFileSync(`${root}scripts/db.sh`, ['start'], { encoding: 'utf8' }).trim();
const client = await new MongoClient(uri).connect();
const build = await client.db('admin').command({ buildInfo: 1 });
// The project's FerretDB is built from its embeddable package, which reports no version of its own.
const server = typeof build['ferretdbVersion'] === 'string' ? 'FerretDB 1.24.2' : `MongoDB ${String(build['version'])}`;
const databases: Db[] = [];
const fresh = async () => {
  const db = client.db(`procstate_bench_${randomBytes(4).toString('hex')}`);
  databases.push(db);
  return db;
};

const results: BenchResult[] = [];
const started = performance.now();
const step = async (group: string, store: string, label: string, run: () => Promise<BenchResult[]>) => {
  if (!wanted(group)) return;
  process.stderr.write(`${group} (${store}): ${label}…\n`);
  const begun = performance.now();
  results.push(...(await watched(`${group}: ${label}`, uri, STEP_TIMEOUT_MS, run())).map((result) => ({ ...result, store })));
  process.stderr.write(`  ${((performance.now() - begun) / 1000).toFixed(0)} s\n`);
};

try {
  const rounds = size('BENCH_EMBEDDED_ROUNDS', 5_000, 5_000);
  await step('embedded', 'memory', `${rounds * 6} transitions`, () => benchEmbedded(rounds));
  const fanSizes = [size('BENCH_FANOUT_SMALL', 1_000, 1_000), size('BENCH_FANOUT_LARGE', 5_000, 10_000)];
  await step('fan-out', 'memory', `${fanSizes.join(' and ')} entries against BullMQ`, () => benchEmbeddedFanOut(fanSizes, REDIS));
  const iterations = size('BENCH_TRANSITION_ROUNDS', 300, 1_000);
  await step('transition', server, `${iterations} rounds`, async () => benchTransition(await fresh(), iterations));
  await step('group-commit', server, '64 calls at once and one after the other', async () => benchGroupCommit(await fresh()));
  const processes = size('BENCH_END_TO_END', 200, 1_000);
  await step('end-to-end', server, `${processes} processes`, () => benchEndToEnd(fresh, processes));
  const samples = size('BENCH_DISPATCH_SAMPLES', 40, 100);
  await step('dispatch', server, `${samples} calls per setup`, () => benchDispatch(fresh, samples));
  const agendaSizes = {
    commands: size('BENCH_AGENDA_COMMANDS', 300, 300),
    throughput: size('BENCH_AGENDA_THROUGHPUT', 1_000, 1_000),
    large: size('BENCH_AGENDA_LARGE', 10_000, 10_000) || undefined,
    batch: size('BENCH_AGENDA_BATCH', 50, 50),
    concurrency: 8,
  };
  // Bare Agenda gets a client of its own: its figure counts that client's commands.
  const bareClient = await new MongoClient(uri, { monitorCommands: true }).connect();
  try {
    await step('agenda', server, `fan-out: ${agendaSizes.commands}, ${agendaSizes.throughput} and ${agendaSizes.large ?? 'no'} entries`, () =>
      benchAgendaFanOut(
        uri,
        {
          bareAgenda: async (jobs) => {
            const db = bareClient.db(`procstate_bench_bare_${randomBytes(4).toString('hex')}`);
            try {
              return await bareAgendaFanout(db, jobs, { concurrency: agendaSizes.concurrency, workers: 1 });
            } finally {
              await db.dropDatabase().catch(() => undefined);
            }
          },
          pgBoss: (jobs) => pgBossJobs(PG_BOSS, jobs, { batchSize: 100, concurrency: agendaSizes.concurrency }),
        },
        agendaSizes,
        (label) => process.stderr.write(`  ${label}\n`),
      ),
    );
  } finally {
    await bareClient.close();
  }
  const memoryCheckpoints = [size('BENCH_MEMORY_FIRST', 5_000, 10_000), size('BENCH_MEMORY_LAST', 10_000, 100_000)];
  await step('memory', server, `a worker's memory after ${memoryCheckpoints.join(' and ')} jobs`, () =>
    benchWorkerMemory(uri, memoryCheckpoints, (line) => process.stderr.write(`  ${line}\n`)),
  );
  const parents = size('BENCH_MIGRATION_PARENTS', 150, 1_000);
  const children = size('BENCH_MIGRATION_CHILDREN', 100, 100);
  await step('migration', server, `${parents} parents × ${children} children`, () => benchMigration(fresh, parents, children));
  const dashboardProcs = size('BENCH_DASHBOARD_PROCS', 100_000, 100_000);
  const dashboardRounds = size('BENCH_DASHBOARD_ROUNDS', 3, 10);
  // A client of its own, with command monitoring: the figure counts that client's commands.
  await step('dashboard', server, `overview of ${dashboardProcs} procs, ${dashboardRounds} rounds`, () =>
    benchDashboard(uri, { procs: dashboardProcs, rounds: dashboardRounds }, (line) => process.stderr.write(`  ${line}\n`)),
  );
} finally {
  for (const db of databases) await db.dropDatabase().catch(() => undefined);
  await client.close();
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${table(results)}\n\nwhole run: ${seconds.toFixed(0)} s on ${server}${full ? ' (full sizes)' : ''}\n`);
writeResults(`${root}bench/results.json`, results, `${server}${full ? ', full sizes' : ''}`);
// Bare Agenda leaves a timer per job it ran for half its lock lifetime, which nothing outside
// Agenda can clear (bench/baselines/agenda-fanout.ts); the run is over, so exit.
process.exit(0);
