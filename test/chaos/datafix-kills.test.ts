/**
 * The datafix killed with SIGKILL again and again, then run to the end: the result equals an
 * uninterrupted run on the same corpus, field by field, ledger included.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { migrateLegacy, type MigrationReport } from '../../persistence/migrations/index.js';
import { bulkCorpus, legacyCorpus } from '../fixtures/legacy-corpus.js';
import { dumpCollections } from '../helpers/dump.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';
import { record, scale } from './scale.js';

const database = useTestDatabase();
const ROOT = new URL('../..', import.meta.url).pathname;
const PARENTS = scale(120, 600);
const KILLS = scale(3, 6);
const COLLECTIONS = ['upload', 'entry', 'upload_transitions', 'entry_transitions'];

async function load() {
  const db = database.another();
  const corpus = bulkCorpus(PARENTS, 20, 'chaos');
  // The table's every case rides along, so that skipped and untouched units are killed too.
  const cases = legacyCorpus('edge');
  await db.collection('upload').insertMany([...corpus.uploads, ...cases.map((corpusCase) => corpusCase.upload)] as Document[]);
  const entries = [...corpus.entries, ...cases.flatMap((corpusCase) => corpusCase.entries)];
  for (let index = 0; index < entries.length; index += 1000) await db.collection('entry').insertMany(entries.slice(index, index + 1000) as Document[]);
  return db;
}

describe('the datafix under SIGKILL', () => {
  it(`killed ${KILLS} times and run again: the same result as one uninterrupted run`, async () => {
    const reference = await load();
    await migrateLegacy({ db: reference, parents: 'upload', children: 'entry' });
    const db = await load();
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'migrate', '--uri', mongoUri(), '--db', db.databaseName, '--parents', 'upload', '--children', 'entry', '--batch-size', '10', '--lock-ttl-ms', '1000'];
    const killedAt: number[] = [];
    for (let kill = 0; kill < KILLS; kill += 1) {
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
      const target = Math.floor(((kill + 1) * PARENTS) / (KILLS + 1));
      for (;;) {
        const done = await db.collection('upload').countDocuments({ sync_counter: 1 });
        if (done >= target || child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      killedAt.push(await db.collection('upload').countDocuments({ sync_counter: 1 }));
    }
    const { stdout } = await promisify(execFile)(process.execPath, [...args, '--json'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const report = JSON.parse(stdout) as MigrationReport;
    expect(report.failed).toEqual([]);
    expect(await dumpCollections(db, COLLECTIONS)).toEqual(await dumpCollections(reference, COLLECTIONS));
    record('datafix-kills', { units: report.units.total, kills: KILLS, migratedUnitsWhenKilled: killedAt, differencesFromAnUninterruptedRun: 0 });
  }, 1_200_000);
});
