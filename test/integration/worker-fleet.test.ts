/**
 * Three `procstate worker` processes on one database, an upload of 500 entries, and one worker
 * killed with SIGKILL while it runs entries. Nothing may be lost, run twice, or left waiting.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { alive, expectCleanFleetRun, startProducer, startWorker as startFleetWorker, until as untilWith, type FleetWorker } from '../helpers/fleet.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';
import { watched } from '../helpers/watchdog.js';

const database = useTestDatabase();
const ENTRIES = 500;

const workers: FleetWorker[] = [];
afterAll(() => {
  for (const worker of workers) worker.process.kill('SIGKILL');
});

function startWorker(name: string): FleetWorker {
  const worker = startFleetWorker(name, { database: database.name });
  workers.push(worker);
  return worker;
}

const until = (what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number) => untilWith(what, condition, timeoutMs, workers);

describe('a fleet of worker processes', () => {
  it('survives SIGKILL of one worker mid-run: every entry completes, the upload joins once, no function runs twice per start', async () => {
    const fleet = ['w1', 'w2', 'w3'].map(startWorker);
    await until('workers to start', () => fleet.every((worker) => worker.log.includes('handling upload, entry')), 60_000);

    const { runtime: producer, store, close: closeProducer } = await startProducer(database.db);
    try {
      await producer.create('upload', 'big');
      await producer.call('upload', 'big', 'process_upload', { entries: ENTRIES });
      await until('the upload to wait for its entries', async () => {
        const upload = await producer.get('upload', 'big');
        if (upload.process_status === 'WAITING_FOR_RESULT') return true;
        if (upload.process_running) return false;
        // A failed upload fails the test at once, with its reason, rather than at the wait's end.
        throw new Error(`the upload ended ${upload.process_status} (${upload.last_status_message ?? ''}) before it waited\n${workers.map((worker) => `--- ${worker.name}\n${worker.log.slice(-3000)}`).join('\n')}`);
      }, 180_000);

      // Kill a worker while it is running entries.
      const entries = database.db.collection('entries');
      let victim: FleetWorker | undefined;
      await until('a worker running entries', async () => {
        for (const worker of fleet) {
          if ((await entries.countDocuments({ process_status: 'RUNNING', worker_hostname: worker.name })) >= 2) {
            victim = worker;
            return true;
          }
        }
        return false;
      }, 60_000);
      victim?.process.kill('SIGKILL');
      const killedAt = (await producer.childCounts('upload', 'big')).processed;

      const upload = await watched('the upload to complete', mongoUri(), 240_000, producer.waitForCompletion('upload', 'big', { timeoutMs: 250_000, pollMs: 500 }));
      expect(upload.process_status).toBe('SUCCESS');
      expect(killedAt).toBeLessThan(ENTRIES);

      const counts = await producer.childCounts('upload', 'big');
      expect(counts).toMatchObject({ total: ENTRIES, processed: ENTRIES, processing: 0 });
      const lost = await entries.countDocuments({ errors: { $regex: '^process failed due to worker lost' } });
      expect(lost).toBeGreaterThanOrEqual(1);

      const { entries: checked } = await expectCleanFleetRun(database.db, store, 'big', ENTRIES);

      // Each function ran at most once per start, and once for every start that was not lost.
      const invocations = database.db.collection('invocations');
      for (const { id, history } of checked) {
        const starts = history.filter((record) => record.cause === 'worker.started').map((record) => record.seq);
        const ran = (await invocations.find({ proc: id, kind: 'entry' }).toArray()).map((document) => document['start'] as number);
        expect(ran.every((start) => starts.includes(start))).toBe(true);
        if (history.at(-1)?.cause !== 'worker.lost') expect(ran.length).toBe(starts.length);
      }
      expect(await invocations.countDocuments({ kind: 'join' })).toBe(1);
    } finally {
      await closeProducer();
    }

    // The survivors drain and exit cleanly on SIGTERM.
    for (const worker of fleet.filter(alive)) {
      worker.process.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.log).toContain('stopped');
    }
  }, 400_000);
});
