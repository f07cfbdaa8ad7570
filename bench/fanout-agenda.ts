/**
 * Fan-out on the server, the production setup: one upload with N no-op entries through
 * procstate with the Agenda scheduler. Either this process is the only worker (then every
 * database command of the run is counted with the driver's command monitoring, and every
 * delivery of every run), or it only produces and N worker processes take the jobs (for the
 * figure of two workers against one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { AgendaScheduler, RedisNotificationChannel } from '../src/agenda/index.js';
import { createProcRuntime, runKeysOf, type Scheduler } from '../src/index.js';
import { capabilitiesFromEnvironment, detectServerCapabilities, type ServerCapabilities } from '../persistence/server-capabilities.js';
import { otherCapabilities } from '../test/helpers/capability-legs.js';
import { fanOutKinds } from './fanout-kinds.js';
import type { BenchResult } from './report.js';
import { withServerCpu } from './server-cpu.js';

const ROOT = new URL('..', import.meta.url).pathname;
const quiet = { warn: () => undefined, error: (message: string, details?: Record<string, unknown>) => process.stderr.write(`  procstate: ${message} ${JSON.stringify(details ?? {})}\n`) };

/** What one fan-out measured. */
interface AgendaFanOutResult {
  readonly entries: number;
  readonly seconds: number;
  /** Commands sent from the call to the upload's completion (in-process worker only). */
  readonly commands?: number | undefined;
  /** The same, by `command:collection`. */
  readonly byCommand?: Readonly<Record<string, number>> | undefined;
  /** Jobs delivered, and deliveries of a run beyond its first (in-process worker only). */
  readonly jobs?: number | undefined;
  readonly duplicateDeliveries?: number | undefined;
}

/** Options of {@link agendaFanOut}. */
interface AgendaFanOutOptions {
  readonly entries: number;
  /** Runs per job (`dispatchBatchSize`). */
  readonly batch: number;
  readonly concurrency: number;
  /** `in-process`: this process is the worker; a number: that many worker processes. */
  readonly workers: 'in-process' | number;
  /** Capabilities forced on the store and the scheduler (in-process worker only); the server's otherwise. */
  readonly capabilities?: Partial<ServerCapabilities> | undefined;
}

function counting(inner: Scheduler, deliveries: Map<string, number>, jobs: { n: number }): Scheduler {
  return {
    name: inner.name,
    start: (handler) =>
      inner.start((job, delivery) => {
        jobs.n += 1;
        for (const key of runKeysOf(job)) deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
        return handler(job, delivery);
      }),
    dispatch: (batch) => inner.dispatch(batch),
    schedule: (job, at) => inner.schedule(job, at),
    queuedRuns: () => inner.queuedRuns(),
    drain: (timeoutMs) => inner.drain(timeoutMs),
  };
}

async function startWorkers(uri: string, database: string, options: AgendaFanOutOptions, channel: string, count: number): Promise<ChildProcess[]> {
  const workers = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import', 'tsx', 'bench/worker-process.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_URI: uri, BENCH_DB: database, BENCH_BATCH: String(options.batch), BENCH_CONCURRENCY: String(options.concurrency), BENCH_CHANNEL: channel },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('exit', (code) => reject(new Error(`a worker exited with ${String(code)} before it was ready`)));
          worker.stdout?.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('ready')) resolve();
          });
        }),
    ),
  );
  return workers;
}

/** One upload with `options.entries` no-op entries, on a fresh database that is dropped afterwards. */
async function agendaFanOut(uri: string, options: AgendaFanOutOptions): Promise<AgendaFanOutResult> {
  const database = `procstate_bench_fanout_${randomBytes(4).toString('hex')}`;
  const client = await new MongoClient(uri, { monitorCommands: true }).connect();
  const db = client.db(database);
  const byCommand = new Map<string, number>();
  let counted = false;
  client.on('commandStarted', (event) => {
    if (!counted) return;
    const key = `${event.commandName}:${String((event.command as Record<string, unknown>)[event.commandName])}`;
    byCommand.set(key, (byCommand.get(key) ?? 0) + 1);
  });
  const redis = new Redis('redis://127.0.0.1:6379');
  const channel = `procstate:bench:${database}`;
  const deliveries = new Map<string, number>();
  const jobs = { n: 0 };
  const inProcess = options.workers === 'in-process';
  let workers: ChildProcess[] = [];
  const store = new MongoProcStore({ db, kinds: { upload: 'uploads', entry: { documents: db.collection('entries'), parentKey: 'upload_id' } }, capabilities: options.capabilities });
  await store.ensureIndexes();
  const agenda = new AgendaScheduler({
    db,
    capabilities: options.capabilities,
    concurrency: options.concurrency,
    pollMs: 1_000,
    work: inProcess,
    ...(inProcess ? {} : { notificationChannel: new RedisNotificationChannel({ client: redis, channel }) }),
  });
  const runtime = createProcRuntime({
    kinds: fanOutKinds,
    store,
    scheduler: inProcess ? counting(agenda, deliveries, jobs) : agenda,
    concurrency: options.concurrency,
    dispatchBatchSize: options.batch,
    sweepIntervalMs: 0,
    logger: quiet,
  });
  try {
    await runtime.start();
    if (!inProcess) workers = await startWorkers(uri, database, options, channel, options.workers as number);
    await runtime.create('upload', 'u');
    counted = true;
    const started = performance.now();
    await runtime.call('upload', 'u', 'process_upload', { entries: options.entries });
    const done = await runtime.waitForCompletion('upload', 'u', { timeoutMs: 3_600_000, pollMs: 250 });
    const seconds = (performance.now() - started) / 1000;
    counted = false;
    if (done.process_status !== 'SUCCESS') throw new Error(`the upload ended ${done.process_status}: ${done.last_status_message ?? ''}`);
    if (!inProcess) return { entries: options.entries, seconds };
    const commands = [...byCommand.values()].reduce((total, n) => total + n, 0);
    const duplicateDeliveries = [...deliveries.values()].reduce((total, n) => total + n - 1, 0);
    return { entries: options.entries, seconds, commands, byCommand: Object.fromEntries(byCommand), jobs: jobs.n, duplicateDeliveries };
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(workers.map((worker) => new Promise((resolve) => (worker.exitCode === null ? worker.once('exit', resolve) : resolve(undefined)))));
    await runtime.close({ drainTimeoutMs: 2_000 });
    redis.disconnect();
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

/** The largest few entries of a command breakdown, per entry, for a figure's notes. */
function breakdown(result: AgendaFanOutResult, top = 6): string {
  return Object.entries(result.byCommand ?? {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([command, n]) => `${command} ${(n / result.entries).toFixed(2)}`)
    .join(', ');
}

/** The sizes of the server fan-out figures. */
export interface AgendaFanOutSizes {
  /** Entries of the command-count figures. */
  readonly commands: number;
  /** Entries of the throughput figures, against bare Agenda and pg-boss with as many jobs. */
  readonly throughput: number;
  /** Entries of the growth figure (against `throughput`), or none. */
  readonly large: number | undefined;
  /** Runs per job of the batched figures. */
  readonly batch: number;
  readonly concurrency: number;
}

/**
 * Every fan-out figure on the server: commands per entry and duplicate deliveries (batch size 1
 * and batched), entries per second against bare Agenda and pg-boss, cost per entry from the
 * throughput size to the large one, and two worker processes against one.
 */
export async function benchAgendaFanOut(
  uri: string,
  baselines: {
    readonly bareAgenda: (jobs: number) => Promise<{ seconds: number; commands: number; runs: number; duplicateRuns: number }>;
    readonly pgBoss: (jobs: number) => Promise<{ seconds: number; fetchSeconds: number }>;
  },
  sizes: AgendaFanOutSizes,
  progress: (label: string) => void,
): Promise<BenchResult[]> {
  const { concurrency } = sizes;
  const busy = (cores: number | undefined) => (cores === undefined ? 'not measured' : `${cores.toFixed(2)} of ${availableParallelism()} cores`);
  const results: BenchResult[] = [];
  const group = 'fan-out on Agenda';

  progress(`bare Agenda, ${sizes.commands} jobs`);
  const bareSmall = await baselines.bareAgenda(sizes.commands);
  const small: Record<number, AgendaFanOutResult> = {};
  for (const batch of [1, sizes.batch]) {
    progress(`procstate, ${sizes.commands} entries, ${batch} per job`);
    const run = await agendaFanOut(uri, { entries: sizes.commands, batch, concurrency, workers: 'in-process' });
    small[batch] = run;
    results.push({
      group,
      name: `database commands per entry, ${sizes.commands} no-op entries, ${batch === 1 ? 'a job per entry' : `${batch} entries per job`}`,
      value: (run.commands as number) / run.entries,
      unit: 'commands',
      baseline: bareSmall.commands / sizes.commands,
      baselineName: `bare Agenda, per job (${sizes.commands} empty jobs)`,
      ratio: (run.commands as number) / run.entries / (bareSmall.commands / sizes.commands),
      notes: `${breakdown(run)}; ${run.jobs} jobs`,
    });
    results.push({
      group,
      name: `duplicate deliveries per job, ${batch === 1 ? 'a job per entry' : `${batch} entries per job`}`,
      value: (run.duplicateDeliveries as number) / (run.jobs as number),
      unit: 'per job',
      baseline: bareSmall.duplicateRuns / sizes.commands,
      baselineName: 'bare Agenda, runs beyond the first per job',
      notes: `${run.duplicateDeliveries} deliveries beyond the first over ${run.jobs} jobs (runs started and refused); bare Agenda ran ${bareSmall.runs} times for ${sizes.commands} jobs`,
    });
  }

  progress(`bare Agenda, ${sizes.throughput} jobs`);
  const bare = await baselines.bareAgenda(sizes.throughput);
  progress(`pg-boss, ${sizes.throughput} jobs`);
  const pgBoss = await baselines.pgBoss(sizes.throughput);
  const medium: Record<number, AgendaFanOutResult> = {};
  for (const batch of [1, sizes.batch]) {
    progress(`procstate, ${sizes.throughput} entries, ${batch} per job`);
    const { result: run, cores } = await withServerCpu(() => agendaFanOut(uri, { entries: sizes.throughput, batch, concurrency, workers: 'in-process' }));
    medium[batch] = run;
    const rate = run.entries / run.seconds;
    results.push({
      group,
      name: `${sizes.throughput} no-op entries, ${batch === 1 ? 'a job per entry' : `${batch} entries per job`}`,
      value: rate,
      unit: 'entries/s',
      baseline: sizes.throughput / bare.seconds,
      baselineName: `bare Agenda, ${sizes.throughput} empty jobs on the same server`,
      ratio: rate / (sizes.throughput / bare.seconds),
      notes: `procstate ${run.seconds.toFixed(1)} s, bare Agenda ${bare.seconds.toFixed(1)} s (${bare.duplicateRuns} runs beyond the first); ${((run.commands as number) / run.entries).toFixed(2)} commands per entry; the server kept ${busy(cores)} busy`,
    });
    if (batch !== 1) {
      results.push({
        group,
        name: `${sizes.throughput} no-op entries, ${batch} entries per job, against pg-boss`,
        value: rate,
        unit: 'entries/s',
        baseline: sizes.throughput / pgBoss.seconds,
        baselineName: `pg-boss 10, ${sizes.throughput} empty jobs on PostgreSQL, fetched 100 at a time`,
        ratio: rate / (sizes.throughput / pgBoss.seconds),
        notes: `pg-boss ${pgBoss.seconds.toFixed(1)} s, of which fetching ${pgBoss.fetchSeconds.toFixed(1)} s`,
      });
    }
  }

  if (sizes.large !== undefined) {
    progress(`procstate, ${sizes.large} entries, ${sizes.batch} per job`);
    const large = await agendaFanOut(uri, { entries: sizes.large, batch: sizes.batch, concurrency, workers: 'in-process' });
    const perEntry = (run: AgendaFanOutResult) => (run.seconds * 1000) / run.entries;
    const base = medium[sizes.batch] as AgendaFanOutResult;
    results.push({
      group,
      name: `growth: time per entry at ${sizes.large} ÷ at ${sizes.throughput}, ${sizes.batch} entries per job`,
      value: perEntry(large),
      unit: 'ms/entry',
      baseline: perEntry(base),
      baselineName: `${sizes.throughput} entries`,
      ratio: perEntry(large) / perEntry(base),
      notes: `${large.seconds.toFixed(0)} s for ${large.entries}; commands per entry ${((base.commands as number) / base.entries).toFixed(2)} → ${((large.commands as number) / large.entries).toFixed(2)}`,
    });
  }

  // The same figures on the other capability set than the server's, forced: MongoDB's code paths
  // on FerretDB (within what it survives, test/helpers/capability-legs.ts), or FerretDB's on MongoDB.
  const probe = new MongoClient(uri);
  const own = await detectServerCapabilities(probe.db('admin')).finally(() => probe.close());
  const otherText = otherCapabilities(own);
  const forced = capabilitiesFromEnvironment({ PROCSTATE_CAPABILITIES: otherText });
  const other = { ...forced.preset, ...forced.overrides } as ServerCapabilities;
  const setName = (set: ServerCapabilities) => (set.atomicFindAndModify ? "MongoDB's capabilities" : "FerretDB's capabilities");
  const ownRuns: Record<string, AgendaFanOutResult> = { commands: small[sizes.batch] as AgendaFanOutResult, throughput: medium[sizes.batch] as AgendaFanOutResult };
  for (const [figure, entries] of [['commands', sizes.commands], ['throughput', sizes.throughput]] as const) {
    progress(`procstate, ${entries} entries, ${sizes.batch} per job, ${otherText} forced`);
    const run = await agendaFanOut(uri, { entries, batch: sizes.batch, concurrency, workers: 'in-process', capabilities: other });
    const base = ownRuns[figure] as AgendaFanOutResult;
    const perEntry = (result: AgendaFanOutResult) => (result.commands as number) / result.entries;
    results.push(
      figure === 'commands'
        ? {
            group,
            name: `database commands per entry, ${entries} no-op entries, ${sizes.batch} per job, ${setName(other)} forced`,
            value: perEntry(run),
            unit: 'commands',
            baseline: perEntry(base),
            baselineName: `the server's own set (${setName(own)})`,
            ratio: perEntry(run) / perEntry(base),
            notes: `PROCSTATE_CAPABILITIES=${otherText}; ${breakdown(run)}; ${run.duplicateDeliveries} deliveries beyond the first over ${run.jobs} jobs`,
          }
        : {
            group,
            name: `${entries} no-op entries, ${sizes.batch} per job, ${setName(other)} forced`,
            value: entries / run.seconds,
            unit: 'entries/s',
            baseline: entries / base.seconds,
            baselineName: `the server's own set (${setName(own)})`,
            ratio: base.seconds / run.seconds,
            notes: `PROCSTATE_CAPABILITIES=${otherText}; ${run.seconds.toFixed(1)} s against ${base.seconds.toFixed(1)} s; ${perEntry(run).toFixed(2)} commands per entry against ${perEntry(base).toFixed(2)}; ${run.duplicateDeliveries} deliveries beyond the first`,
          },
    );
  }

  const workers: Record<number, number> = {};
  const serverCores: Record<number, number | undefined> = {};
  for (const count of [1, 2]) {
    progress(`procstate, ${sizes.throughput} entries, a job per entry, ${count} worker process${count === 1 ? '' : 'es'}`);
    const { result, cores } = await withServerCpu(() => agendaFanOut(uri, { entries: sizes.throughput, batch: 1, concurrency, workers: count }));
    workers[count] = result.seconds;
    serverCores[count] = cores;
  }

  results.push({
    group,
    name: `two worker processes against one, ${sizes.throughput} entries, a job per entry`,
    value: sizes.throughput / (workers[2] as number),
    unit: 'entries/s',
    baseline: sizes.throughput / (workers[1] as number),
    baselineName: 'one worker process',
    ratio: (workers[1] as number) / (workers[2] as number),
    notes: `one ${(workers[1] as number).toFixed(1)} s, two ${(workers[2] as number).toFixed(1)} s; the producer is a third process; the server (FerretDB and PostgreSQL) kept ${busy(serverCores[1])} busy with one worker, ${busy(serverCores[2])} with two`,
  });
  return results;
}
