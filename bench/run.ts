/**
 * `npm run bench`: every benchmark, each figure a ratio against a baseline measured in the same
 * run on the same server. Prints a table and writes bench/results.json. Starts the project's
 * FerretDB unless MONGODB_URI names a server.
 *
 * BENCH_ONLY=group,... runs some groups (embedded, transition, end-to-end, dispatch, fan-out,
 * migration). The default sizes keep the whole run near ten minutes on two cores with FerretDB;
 * BENCH_FULL=1 uses the full sizes (migration 1,000 × 100, fan-out on the server 1,000 and 10,000).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { benchDispatch } from './dispatch.js';
import { benchEmbedded } from './embedded.js';
import { benchEndToEnd } from './end-to-end.js';
import { benchFanout } from './fanout.js';
import { benchMigration } from './migration.js';
import { table, writeResults, type BenchResult } from './report.js';
import { benchTransition } from './transition.js';

const root = new URL('..', import.meta.url).pathname;
const full = process.env['BENCH_FULL'] === '1';
const only = process.env['BENCH_ONLY']?.split(',');
const wanted = (group: string) => only === undefined || only.includes(group);
const size = (name: string, quick: number, complete: number) => Number(process.env[name] ?? (full ? complete : quick));

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
  results.push(...(await run()).map((result) => ({ ...result, store })));
  process.stderr.write(`  ${((performance.now() - begun) / 1000).toFixed(0)} s\n`);
};

try {
  const rounds = size('BENCH_EMBEDDED_ROUNDS', 5_000, 5_000);
  await step('embedded', 'memory', `${rounds * 6} transitions`, () => benchEmbedded(rounds));
  await step('fan-out', 'memory', '1,000 and 10,000 entries', () => benchFanout([1_000, 10_000], undefined));
  const iterations = size('BENCH_TRANSITION_ROUNDS', 300, 1_000);
  await step('transition', server, `${iterations} rounds`, async () => benchTransition(await fresh(), iterations));
  const processes = size('BENCH_END_TO_END', 200, 1_000);
  await step('end-to-end', server, `${processes} processes`, () => benchEndToEnd(fresh, processes));
  const samples = size('BENCH_DISPATCH_SAMPLES', 40, 100);
  await step('dispatch', server, `${samples} calls per channel`, () => benchDispatch(fresh, samples, 1_000));
  const small = size('BENCH_FANOUT_SMALL', 300, 1_000);
  const large = size('BENCH_FANOUT_LARGE', 1_500, 10_000);
  await step('fan-out', server, `${small} and ${large} entries`, () => benchFanout([small, large], { uri, fresh }));
  const parents = size('BENCH_MIGRATION_PARENTS', 150, 1_000);
  const children = size('BENCH_MIGRATION_CHILDREN', 100, 100);
  await step('migration', server, `${parents} parents × ${children} children`, () => benchMigration(fresh, parents, children));
} finally {
  for (const db of databases) await db.dropDatabase().catch(() => undefined);
  await client.close();
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${table(results)}\n\nwhole run: ${seconds.toFixed(0)} s on ${server}${full ? ' (full sizes)' : ''}\n`);
writeResults(`${root}bench/results.json`, results, `${server}${full ? ', full sizes' : ''}`);
process.exit(0);
