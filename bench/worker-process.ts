/**
 * A worker process for the figures that need several (two workers against one): the fan-out
 * kinds on MongoDB with Agenda and Redis notifications. Configured by environment (BENCH_URI,
 * BENCH_DB, BENCH_BATCH, BENCH_CONCURRENCY, BENCH_CHANNEL); prints `ready` once it takes jobs and
 * drains on SIGTERM.
 */
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { AgendaScheduler, RedisNotificationChannel } from '../src/agenda/index.js';
import { createProcRuntime } from '../src/index.js';
import { fanOutKinds } from './fanout-kinds.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const client = await new MongoClient(env('BENCH_URI'), { monitorCommands: process.env['BENCH_COUNT'] === '1' }).connect();
const counts = new Map<string, number>();
client.on('commandStarted', (event) => {
  const key = `${event.commandName}:${String((event.command as Record<string, unknown>)[event.commandName])}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
});
const db = client.db(env('BENCH_DB'));
const redis = new Redis('redis://127.0.0.1:6379');
const store = new MongoProcStore({ db, kinds: { upload: 'uploads', entry: { documents: db.collection('entries'), parentKey: 'upload_id' } } });
const concurrency = Number(env('BENCH_CONCURRENCY'));
const runtime = createProcRuntime({
  kinds: fanOutKinds,
  store,
  scheduler: new AgendaScheduler({ db, concurrency, pollMs: 1_000, notificationChannel: new RedisNotificationChannel({ client: redis, channel: env('BENCH_CHANNEL') }) }),
  concurrency,
  dispatchBatchSize: Number(env('BENCH_BATCH')),
  sweepIntervalMs: 0,
  logger: { warn: () => undefined, error: (message, details) => process.stderr.write(`${message} ${JSON.stringify(details)}\n`) },
});
await runtime.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void (async () => {
    await runtime.close({ drainTimeoutMs: 2_000 });
    if (process.env['BENCH_COUNT'] === '1') process.stderr.write(`${JSON.stringify(Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 12)))}\n`);
    redis.disconnect();
    await client.close();
    process.exit(0);
  })();
});
