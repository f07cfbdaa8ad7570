/**
 * `npm run bench`: every benchmark, each as a ratio against a baseline measured in the same
 * run on the same server. Prints a table and writes bench/results.json. Starts the project's
 * FerretDB unless MONGODB_URI names a server. BENCH_ONLY=<group,...> runs some groups.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { benchMigration } from './migration.js';
import { table, writeResults, type BenchResult } from './report.js';

const root = new URL('..', import.meta.url).pathname;
const uri = process.env['MONGODB_URI'] ?? execFileSync(`${root}scripts/db.sh`, ['start'], { encoding: 'utf8' }).trim();
const only = process.env['BENCH_ONLY']?.split(',');
const wanted = (group: string) => only === undefined || only.includes(group);

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
try {
  if (wanted('migration')) {
    const parents = Number(process.env['BENCH_MIGRATION_PARENTS'] ?? 1000);
    const children = Number(process.env['BENCH_MIGRATION_CHILDREN'] ?? 100);
    process.stderr.write(`migration: ${parents} parents × ${children} children on ${server}…\n`);
    results.push(...(await benchMigration(fresh, parents, children)).map((result) => ({ ...result, store: server })));
  }
} finally {
  for (const db of databases) await db.dropDatabase().catch(() => undefined);
  await client.close();
}
process.stdout.write(`${table(results)}\n\nwhole run: ${((performance.now() - started) / 1000).toFixed(0)} s on ${server}\n`);
writeResults(`${root}bench/results.json`, results, server);
