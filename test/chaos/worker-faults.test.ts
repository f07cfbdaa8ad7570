/**
 * Worker faults: while an upload's entries are processed by worker processes, a random worker is
 * killed with SIGKILL again and again and a fresh one takes its place. Every proc must end
 * completed, the upload must join exactly once, and no function may run twice for one start.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { alive, expectCleanFleetRun, startProducer, startWorker, until, type FleetWorker } from '../helpers/fleet.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';
import { watched } from '../helpers/watchdog.js';
import { record, scale } from './scale.js';

const database = useTestDatabase();
const ENTRIES = scale(200, 1_000);
// A lease must outlast the slowest renewal. At full size two cores run FerretDB, PostgreSQL, three
// workers and a 1,000-child spawn, and a renewal then takes over the reduced run's 2 s.
const LEASE_MS = scale(2_000, 10_000);
// Kills happen at milestones of progress, not of wall time, so they always land while entries
// are still being processed, however fast the fleet is: the first four fifths of the entries
// are cut into KILLS + 1 equal parts and kill k comes once k parts are processed; none comes in
// the last fifth. (Milestones of k / (KILLS + 2) of all entries put the last kills of the full
// run, 11 / 14 and 12 / 14, past the four fifths, where the killer stops: it never made them.)
const KILL_SPAN = 0.8;
const KILLS = scale(3, 12);
const workers: FleetWorker[] = [];
afterAll(() => {
  for (const worker of workers) worker.process.kill('SIGKILL');
});

describe('worker faults', () => {
  it(`workers killed at random while an upload of ${ENTRIES} entries is processed: everything completes, the upload joins once`, async () => {
    let counter = 0;
    const launch = () => {
      counter += 1;
      const worker = startWorker(`w${counter}`, { database: database.name, concurrency: 4, leaseMs: LEASE_MS });
      workers.push(worker);
      return worker;
    };
    for (let index = 0; index < 3; index += 1) launch();
    await until('workers to start', () => workers.every((worker) => worker.log.includes('handling upload, entry')), 60_000, workers);
    const { runtime: producer, store, close: closeProducer } = await startProducer(database.db);
    let kills = 0;
    let stop = false;
    let killer: Promise<void> = Promise.resolve();
    // Entries run while the upload still spawns them, so kills start at once. The worker that
    // runs the upload itself (its spawn, later its join) is spared: losing it fails the upload,
    // rightly, and leaves this test nothing to check. Hence also no kill in the last fifth.
    const startKilling = () => (async () => {
      while (!stop && kills < KILLS) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const { processed } = await producer.childCounts('upload', 'storm');
        const upload = await producer.get('upload', 'storm');
        if (processed > KILL_SPAN * ENTRIES || !upload.process_running) break;
        if (processed < ((kills + 1) * KILL_SPAN * ENTRIES) / (KILLS + 1)) continue;
        const spared = upload.process_status === 'RUNNING' ? upload.worker_hostname : null;
        const living = workers.filter((worker) => alive(worker) && worker.name !== spared);
        const victim = living[Math.floor(Math.random() * living.length)];
        if (victim === undefined) continue;
        victim.process.kill('SIGKILL');
        kills += 1;
        launch();
      }
    })();
    try {
      await producer.create('upload', 'storm');
      await producer.call('upload', 'storm', 'process_upload', { entries: ENTRIES });
      killer = startKilling();
      // Polled with the workers' logs at hand: a failure then shows why the upload did not get there.
      await until('the upload to wait for its entries', async () => {
        const upload = await producer.get('upload', 'storm');
        if (upload.process_status === 'WAITING_FOR_RESULT') return true;
        if (upload.process_running) return false;
        throw new Error(`the upload ended ${upload.process_status} (${upload.last_status_message ?? ''}) before it waited\n${workers.map((worker) => `--- ${worker.name}\n${worker.log.slice(-3000)}`).join('\n')}`);
      }, 1_200_000, workers);
      const upload = await watched('the upload to complete', mongoUri(), 1_200_000, producer.waitForCompletion('upload', 'storm', { timeoutMs: 1_210_000, pollMs: 1_000 }));
      stop = true;
      await killer;
      expect(upload.process_status).toBe('SUCCESS');
      const counts = await producer.childCounts('upload', 'storm');
      expect(counts).toMatchObject({ total: ENTRIES, processed: ENTRIES, processing: 0 });
      expect(kills).toBe(KILLS);

      const { uploadHistory, entries } = await expectCleanFleetRun(database.db, store, 'storm', ENTRIES);
      const lost = entries.filter((entry) => entry.history.some((record) => record.cause === 'worker.lost')).length;
      const transitions = uploadHistory.length + entries.reduce((sum, entry) => sum + entry.history.length, 0);
      record('worker-faults', { entries: ENTRIES, leaseMs: LEASE_MS, killsPlanned: KILLS, workersKilled: kills, entriesFailedWorkerLost: lost, uploadJoins: 1, duplicateRuns: 0, transitions, stuck: 0 });
    } finally {
      stop = true;
      await closeProducer();
    }
  }, 2_700_000);
});
