/**
 * The dashboard's overview on a large kind: `DashboardData.overview()` over 100,000 procs of one
 * kind (its counts by status and its processing procs) against the raw driver counting each of
 * the six statuses with `countDocuments` on the same collection, in the same run. Reports the
 * time per overview and per baseline round, the time of the overview's processing list alone,
 * and the database commands of each.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Document } from 'mongodb';
import { PROCESS_STATUSES, ProcessStatus, STATUSES_PROCESSING } from '../machines/index.js';
import { encodeProcFields } from '../persistence/index.js';
import { MongoProcStore } from '../persistence/mongodb/index.js';
import { DashboardData, PROCESSING_SHOWN, type Overview } from '../src/dashboard/dashboard-data.js';
import { representative } from '../test/helpers/builders.js';
import { median, type BenchResult } from './report.js';

const BATCH = 5_000;
const STUCK_AFTER_MS = 600_000;

/**
 * The status of the index-th proc, per thousand: 3 PENDING, 2 RUNNING, 10 READY, 50 FAILURE,
 * the rest SUCCESS. Scattered over the ids (7919 is prime to 1000), as a real kind's are, so
 * that the id-ordered page of processing procs cannot stop at the first ids.
 */
function statusOf(index: number): ProcessStatus {
  const slot = (index * 7919) % 1000;
  if (slot < 3) return ProcessStatus.PENDING;
  if (slot < 5) return ProcessStatus.RUNNING;
  if (slot < 15) return ProcessStatus.READY;
  if (slot < 65) return ProcessStatus.FAILURE;
  return ProcessStatus.SUCCESS;
}

/** Counts by status of the commands started while `run` ran. */
function commandCounter(client: MongoClient) {
  const byCommand = new Map<string, number>();
  let counting = false;
  client.on('commandStarted', (event) => {
    if (counting) byCommand.set(event.commandName, (byCommand.get(event.commandName) ?? 0) + 1);
  });
  return {
    byCommand,
    async count<T>(run: () => Promise<T>): Promise<T> {
      counting = true;
      try {
        return await run();
      } finally {
        counting = false;
      }
    },
  };
}

/** Sizes of {@link benchDashboard}. */
export interface DashboardBenchOptions {
  /** Documents of the one kind. */
  readonly procs: number;
  /** Overviews measured, and as many baseline rounds and processing lists. */
  readonly rounds: number;
}

/**
 * Fills a fresh database with `procs` documents of kind `entry` (the fill is setup, not
 * measured), then runs `rounds` rounds of an overview, a baseline round and the processing list
 * alone, in turn, on a client of its own whose commands it counts; drops the database at the end.
 */
export async function benchDashboard(uri: string, { procs, rounds }: DashboardBenchOptions, log: (line: string) => void): Promise<BenchResult[]> {
  const client = await new MongoClient(uri, { monitorCommands: true }).connect();
  const db = client.db(`procstate_bench_dashboard_${randomBytes(4).toString('hex')}`);
  try {
    const collection = db.collection('entries');
    const fields = Object.fromEntries(PROCESS_STATUSES.map((status) => [status, encodeProcFields(representative(status), 1)]));
    const expected = Object.fromEntries(PROCESS_STATUSES.map((status) => [status, 0])) as Record<ProcessStatus, number>;
    const fillStarted = performance.now();
    for (let start = 0; start < procs; start += BATCH) {
      const batch: Document[] = [];
      for (let index = start; index < Math.min(procs, start + BATCH); index += 1) {
        const status = statusOf(index);
        expected[status] += 1;
        batch.push({ ...fields[status], _id: `e${String(index).padStart(6, '0')}` });
      }
      await collection.insertMany(batch, { ordered: false });
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const store = new MongoProcStore({ db, kinds: { entry: 'entries' } });
    const indexStarted = performance.now();
    await store.ensureIndexes();
    const indexSeconds = (performance.now() - indexStarted) / 1000;
    log(`filled ${procs} documents in ${fillSeconds.toFixed(1)} s, indexes in ${indexSeconds.toFixed(1)} s`);

    const data = new DashboardData(store, [{ name: 'entry' }], STUCK_AFTER_MS);
    const statusTimes = new Map<ProcessStatus, number[]>(PROCESS_STATUSES.map((status) => [status, []]));
    const baseline = async () => {
      const counts: Partial<Record<ProcessStatus, number>> = {};
      for (const status of PROCESS_STATUSES) {
        const started = performance.now();
        counts[status] = await collection.countDocuments({ process_status: status });
        statusTimes.get(status)?.push(performance.now() - started);
      }
      return counts;
    };
    // Unmeasured: the store asks the server its capabilities once, and one raw round reads every row
    // once, so that neither side pays for the first read after the fill (on FerretDB,
    // PostgreSQL sets its hint bits then).
    await store.capabilities();
    const raw = await baseline();
    for (const status of PROCESS_STATUSES) {
      if (raw[status] !== expected[status]) throw new Error(`the raw counts are not what was filled: ${JSON.stringify({ expected, raw })}`);
      statusTimes.set(status, []);
    }

    const measured = {
      overview: { counter: commandCounter(client), times: [] as number[] },
      baseline: { counter: commandCounter(client), times: [] as number[] },
      processing: { counter: commandCounter(client), times: [] as number[] },
    };
    let overview: Overview | undefined;
    const runs: Record<keyof typeof measured, () => Promise<unknown>> = {
      overview: async () => (overview = await data.overview()),
      baseline,
      // The overview's list of processing procs alone, to tell its share from the counts'.
      processing: () => store.findByStatus('entry', STATUSES_PROCESSING, { limit: PROCESSING_SHOWN }),
    };
    const order = Object.keys(measured) as Array<keyof typeof measured>;
    // Each goes first in turn, so drift in the server (its vacuum loop, other clients) falls on all.
    for (let round = 0; round < rounds; round += 1) {
      for (const name of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
        const { counter, times } = measured[name];
        const started = performance.now();
        await counter.count(runs[name]);
        times.push(performance.now() - started);
      }
    }
    const counts = overview?.kinds[0]?.counts;
    const processing = overview?.processing.length;
    const processingFilled = expected.PENDING + expected.RUNNING + expected.WAITING_FOR_RESULT;
    if (PROCESS_STATUSES.some((status) => counts?.[status] !== expected[status]) || processing !== Math.min(PROCESSING_SHOWN, processingFilled)) {
      throw new Error(`the overview is not what was filled: ${JSON.stringify({ expected, counts, processing })}`);
    }

    const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0) / rounds;
    const perRound = (counts: Map<string, number>) =>
      [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => `${name} ${(n / rounds).toFixed(1)}`)
        .join(', ');
    const list = (times: readonly number[]) => times.map((ms) => ms.toFixed(0)).join(', ');
    const overviewMs = median(measured.overview.times);
    const baselineMs = median(measured.baseline.times);
    const processingMs = median(measured.processing.times);
    const shape = `${procs} procs of one kind (${PROCESS_STATUSES.map((status) => `${status} ${expected[status]}`).join(', ')})`;
    const baselineName = 'raw countDocuments per status, six in a row';
    return [
      {
        group: 'dashboard',
        name: `overview, median of ${rounds}, ${procs} procs`,
        value: overviewMs,
        unit: 'ms',
        baseline: baselineMs,
        baselineName,
        ratio: overviewMs / baselineMs,
        notes: `${shape}; fill ${fillSeconds.toFixed(1)} s with insertMany of ${BATCH}, indexes ${indexSeconds.toFixed(1)} s; overview ${list(measured.overview.times)} ms; baseline ${list(measured.baseline.times)} ms, median per status: ${PROCESS_STATUSES.map((status) => `${status} ${median(statusTimes.get(status) ?? []).toFixed(0)}`).join(', ')} ms`,
      },
      {
        group: 'dashboard',
        name: `its processing list alone: findByStatus of ${STATUSES_PROCESSING.length} statuses, limit ${PROCESSING_SHOWN}`,
        value: processingMs,
        unit: 'ms',
        baseline: baselineMs,
        baselineName,
        ratio: processingMs / baselineMs,
        notes: `${list(measured.processing.times)} ms; ${perRound(measured.processing.counter.byCommand)} per list`,
      },
      {
        group: 'dashboard',
        name: `database commands per overview, ${procs} procs`,
        value: total(measured.overview.counter.byCommand),
        unit: 'commands',
        baseline: total(measured.baseline.counter.byCommand),
        baselineName: 'per round of six raw countDocuments',
        ratio: total(measured.overview.counter.byCommand) / total(measured.baseline.counter.byCommand),
        notes: `overview: ${perRound(measured.overview.counter.byCommand)}; baseline: ${perRound(measured.baseline.counter.byCommand)}`,
      },
    ];
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
