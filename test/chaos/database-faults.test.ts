/**
 * Database faults: while worker processes process an upload, the MongoDB-protocol server
 * (FerretDB) is stopped and started again, and later PostgreSQL under it is restarted. Workers
 * must reconnect on their own; nothing may stay stuck and nothing may be lost.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProcSnapshot } from '../../src/index.js';
import { expectCleanFleetRun, startProducer, startWorker, until, type FleetWorker } from '../helpers/fleet.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';
import { record, scale } from './scale.js';

const database = useTestDatabase();
const ROOT = new URL('../..', import.meta.url).pathname;
const ENTRIES = scale(150, 600);
const workers: FleetWorker[] = [];
afterAll(() => {
  for (const worker of workers) worker.process.kill('SIGKILL');
});

/** The faults need the project's own FerretDB: a server given by MONGODB_URI is not ours to stop. */
function ownServer(): boolean {
  const ours = execFileSync(`${ROOT}scripts/db.sh`, ['uri'], { encoding: 'utf8' }).trim();
  return new URL(mongoUri()).host === new URL(ours).host;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('database faults', () => {
  it.skipIf(!ownServer())(`FerretDB stopped and PostgreSQL restarted while ${ENTRIES} entries are processed: workers reconnect, nothing stuck, nothing lost`, async () => {
    for (const name of ['d1', 'd2']) workers.push(startWorker(name, { database: database.name, concurrency: 4 }));
    await until('workers to start', () => workers.every((worker) => worker.log.includes('handling upload, entry')), 60_000, workers);
    const { runtime: producer, store, close: closeProducer } = await startProducer(database.db);
    const faults: string[] = [];
    const readUpload = async (): Promise<ProcSnapshot | undefined> => producer.get('upload', 'outage').catch(() => undefined);
    try {
      await producer.create('upload', 'outage');
      await producer.call('upload', 'outage', 'process_upload', { entries: ENTRIES });
      await until('the upload to wait for its entries', async () => (await readUpload())?.process_status === 'WAITING_FOR_RESULT', 600_000, workers);
      await until('some entries to complete', async () => ((await producer.childCounts('upload', 'outage').catch(() => undefined))?.processed ?? 0) >= ENTRIES / 5, 600_000, workers);

      execFileSync(`${ROOT}scripts/db.sh`, ['stop']);
      faults.push('FerretDB stopped for 3 s');
      await pause(3_000);
      execFileSync(`${ROOT}scripts/db.sh`, ['start']);
      await until('entries to complete after FerretDB came back', async () => ((await producer.childCounts('upload', 'outage').catch(() => undefined))?.processed ?? 0) >= (ENTRIES * 2) / 5, 600_000, workers);

      const version = readdirSync('/etc/postgresql')[0] as string;
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart']);
      faults.push('PostgreSQL restarted');

      await until('the upload to complete', async () => {
        const upload = await readUpload();
        return upload !== undefined && !upload.process_running;
      }, 900_000, workers);
      const upload = (await readUpload()) as ProcSnapshot;
      expect(upload.process_status).toBe('SUCCESS');
      const counts = await producer.childCounts('upload', 'outage');
      expect(counts).toMatchObject({ total: ENTRIES, processed: ENTRIES, processing: 0 });

      const { entries } = await expectCleanFleetRun(database.db, store, 'outage', ENTRIES);
      let failed = 0;
      const failures: Record<string, number> = {};
      for (const { history, document } of entries) {
        const last = history.at(-1);
        if (last?.to === 'FAILURE') {
          failed += 1;
          // Why it failed, as the operator sees it: the cause and the last error, without ids.
          const errors = (document?.['errors'] ?? []) as string[];
          const reason = `${last.cause}: ${(errors.at(-1) ?? '(no error)').replace(/[0-9a-f]{8,}|\d+/g, 'N').slice(0, 120)}`;
          failures[reason] = (failures[reason] ?? 0) + 1;
        }
      }
      record('database-faults', { entries: ENTRIES, faults, entriesFailed: failed, failures, uploadJoins: 1, duplicateRuns: 0, stuck: 0, documentsBehindTheirLedger: 0 });
    } finally {
      await closeProducer();
      for (const worker of workers) worker.process.kill('SIGTERM');
    }
  }, 1_800_000);
});
