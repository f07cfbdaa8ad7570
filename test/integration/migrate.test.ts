import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Db, Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { migrateLegacy, restoreLegacy, type LegacyDocument, type MigrationReport } from '../../persistence/migrations/index.js';
import { createProcRuntime, defineKind } from '../../src/index.js';
import { bulkCorpus, legacyCorpus, orphanEntry, type CorpusCase } from '../fixtures/legacy-corpus.js';
import { dumpCollections } from '../helpers/dump.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const ROOT = new URL('../..', import.meta.url).pathname;
const COLLECTIONS = ['upload', 'entry', 'upload_transitions', 'entry_transitions'] as const;

/** A database of its own, filled with a corpus in NOMAD's collections `upload` and `entry`. */
async function seeded(cases: readonly CorpusCase[], extraEntries: Document[] = []): Promise<Db> {
  const db = database.another();
  if (cases.length > 0) await db.collection('upload').insertMany(cases.map((corpusCase) => corpusCase.upload) as Document[]);
  const entries = [...cases.flatMap((corpusCase) => corpusCase.entries), ...extraEntries];
  if (entries.length > 0) await db.collection('entry').insertMany(entries as Document[]);
  return db;
}

/** Every document of the four collections, without the fields that differ between runs. */
const dump = (db: Db) => dumpCollections(db, COLLECTIONS);

const quiet = { warn: () => undefined, error: () => undefined };

describe('the datafix on a real server', () => {
  const cases = legacyCorpus();

  it('dry run: reports exactly what a real run does, and writes nothing', async () => {
    const db = await seeded(cases, [orphanEntry()]);
    const before = await dump(db);
    const dry = await migrateLegacy({ db, parents: 'upload', children: 'entry', dryRun: true });
    expect(await dump(db)).toEqual(before);
    const real = await migrateLegacy({ db, parents: 'upload', children: 'entry' });
    expect({ ...dry, dryRun: false }).toEqual(real);
  });

  it('migrates each unit as the reference table says, field by field, and keeps every old value in the ledger', async () => {
    const db = await seeded(cases, [orphanEntry()]);
    const report = await migrateLegacy({ db, parents: 'upload', children: 'entry' });
    const migrateCount = cases.filter((corpusCase) => corpusCase.expected === 'migrate').length;
    expect(report.units).toEqual({
      total: cases.length + 1,
      migrated: migrateCount,
      alreadyMigrated: 0,
      skipped: cases.filter((corpusCase) => corpusCase.expected === 'skipped').length,
      attention: cases.filter((corpusCase) => corpusCase.expected === 'attention').length + 1,
      failed: 0,
    });
    expect(report.attention.map((problem) => problem.id)).toContain(orphanEntry()._id);
    for (const corpusCase of cases) {
      const docs = [corpusCase.upload, ...corpusCase.entries];
      for (const original of docs) {
        const isUpload = original === corpusCase.upload;
        const after = (await db.collection(isUpload ? 'upload' : 'entry').findOne({ _id: original._id as never })) as unknown as LegacyDocument;
        const record = await db.collection(isUpload ? 'upload_transitions' : 'entry_transitions').findOne({ _id: `${original._id}/1` as never });
        if (corpusCase.expected !== 'migrate') {
          expect(after, corpusCase.name).toEqual(original);
          expect(record, corpusCase.name).toBeNull();
          continue;
        }
        expect(after['tasks_status'], corpusCase.name).toBeUndefined();
        expect(after['current_task']).toBeUndefined();
        expect(after['tasks']).toBeUndefined();
        expect(after['sync_counter']).toBe(1);
        expect(after['current_process_step']).toBe(original['current_task'] ?? null);
        for (const key of ['upload_name', 'main_author', 'metadata', 'create_time', 'published', 'celery_task_id', 'mainfile', 'parser', 'upload_id']) {
          if (key in original) expect(after[key], `${corpusCase.name}.${key}`).toEqual(original[key]);
        }
        expect(after['errors']).toEqual(original['errors'] ?? []);
        expect(after['warnings']).toEqual(original['warnings'] ?? []);
        expect(after['worker_hostname']).toEqual(original['worker_hostname'] ?? null);
        expect(record).toMatchObject({ seq: 1, from: null, to: after['process_status'], cause: 'migrated' });
        expect(restoreLegacy(after, record?.['legacy'])).toEqual(original);
        if (isUpload) {
          expect(after['process_status']).toBe(corpusCase.status);
          expect(after['last_status_message']).toBe(corpusCase.message);
        }
      }
    }

    // The runtime takes the migrated documents over as they are: it loads and processes them.
    const kinds = [
      defineKind({ name: 'upload', processes: { process_upload: { run: async (ctx) => ctx.setStep('Reprocessing') } } }),
      defineKind({ name: 'entry', parent: { kind: 'upload', key: 'upload_id' }, processes: { process_entry: { child: true, run: async () => undefined } } }),
    ];
    const runtime = createProcRuntime({ kinds, store: new MongoProcStore({ db, kinds: { upload: 'upload', entry: { documents: db.collection('entry'), parentKey: 'upload_id' } } }), sweepIntervalMs: 0, logger: quiet });
    await runtime.start();
    try {
      const success = await runtime.get('upload', 'u-success');
      expect(success).toMatchObject({ process_status: 'SUCCESS', seq: 1, current_process_step: 'cleanup' });
      expect((await runtime.get('entry', 'u-success-calc-0')).parent).toEqual({ kind: 'upload', id: 'u-success' });
      await runtime.call('upload', 'u-success', 'process_upload');
      const again = await runtime.waitForCompletion('upload', 'u-success');
      expect(again).toMatchObject({ process_status: 'SUCCESS', current_process_step: 'Reprocessing' });
      expect((await runtime.history('upload', 'u-success')).map((record) => record.cause)).toEqual(['migrated', 'process.called', 'worker.started', 'run.progressed', 'run.succeeded']);
      expect(await db.collection('upload').findOne({ _id: 'u-success' as never })).toMatchObject({ upload_name: 'Upload u-success', celery_task_id: 'task-u-success' });
    } finally {
      await runtime.close();
    }
  });

  it('is idempotent: a second run changes nothing and reports everything as already migrated', async () => {
    const db = await seeded(cases);
    const first = await migrateLegacy({ db, parents: 'upload', children: 'entry' });
    const after = await dump(db);
    const second = await migrateLegacy({ db, parents: 'upload', children: 'entry' });
    expect(await dump(db)).toEqual(after);
    expect(second.units).toMatchObject({ migrated: 0, alreadyMigrated: first.units.migrated, skipped: first.units.skipped, attention: first.units.attention });
    expect(second.documents.migrated).toBe(0);
  });

  it('with --lenient, migrates what cannot be explained and says so in the ledger; processing units still wait', async () => {
    const db = await seeded(cases);
    const report = await migrateLegacy({ db, parents: 'upload', children: 'entry', lenient: true });
    for (const corpusCase of cases) {
      const expected = corpusCase.expectedLenient ?? corpusCase.expected;
      const upload = await db.collection('upload').findOne({ _id: corpusCase.upload._id as never });
      if (expected !== 'migrate') {
        expect(upload, corpusCase.name).toEqual(corpusCase.upload);
        continue;
      }
      expect(upload?.['process_status'], corpusCase.name).toBe(corpusCase.status);
      expect(upload?.['last_status_message'], corpusCase.name).toBe(corpusCase.message);
    }
    expect(report.lenient.length).toBeGreaterThan(0);
    for (const id of report.lenient) {
      const collection = id.includes('-calc-') ? 'entry_transitions' : 'upload_transitions';
      const record = await db.collection(collection).findOne({ _id: `${id}/1` as never });
      expect(record?.['event']).toMatchObject({ lenient: true });
      expect((record?.['event'] as { problems: string[] }).problems.length).toBeGreaterThan(0);
    }
  });

  it('with --lenient, an orphan child is migrated, its record says lenient with the reason, and the report counts it', async () => {
    const orphan = orphanEntry('lenient');
    const db = await seeded([], [orphan]);
    const report = await migrateLegacy({ db, parents: 'upload', children: 'entry', lenient: true });
    expect(report.units.migrated).toBe(1);
    expect(report.lenient).toEqual([orphan._id]);
    const record = await db.collection('entry_transitions').findOne({ _id: `${orphan._id}/1` as never });
    expect(record?.['event']).toMatchObject({ lenient: true, problems: [`its parent ${String(orphan['upload_id'])} does not exist`] });
    // A second run migrates nothing again, so it reports no lenient migration of its own.
    const again = await migrateLegacy({ db, parents: 'upload', children: 'entry', lenient: true });
    expect(again.lenient).toEqual([]);
  });

  it('with --lenient, a failed document that names no process gets a message without "null"', async () => {
    const db = await seeded([{ name: 'no-process', upload: { _id: 'np', tasks_status: 'FAILURE', errors: ['IOError: disk gone'] }, entries: [], expected: 'attention', status: 'FAILURE', message: '' }]);
    await migrateLegacy({ db, parents: 'upload', children: 'entry', lenient: true });
    const upload = await db.collection('upload').findOne({ _id: 'np' as never });
    expect(upload?.['process_status']).toBe('FAILURE');
    expect(upload?.['last_status_message']).toBe('Processing failed: IOError: disk gone');
  });

  it('two runs at once never both migrate a unit, and end as one run would', async () => {
    const reference = await seeded(cases);
    await migrateLegacy({ db: reference, parents: 'upload', children: 'entry' });
    const db = await seeded(cases);
    const [a, b] = await Promise.all([
      migrateLegacy({ db, parents: 'upload', children: 'entry', worker: 'a', lockTtlMs: 2_000 }),
      migrateLegacy({ db, parents: 'upload', children: 'entry', worker: 'b', lockTtlMs: 2_000 }),
    ]);
    expect(a.units.migrated + b.units.migrated).toBe(cases.filter((corpusCase) => corpusCase.expected === 'migrate').length);
    expect(Math.min(a.units.migrated, b.units.migrated)).toBe(0);
    expect(await dump(db)).toEqual(await dump(reference));
  });

  it('the CLI prints JSON, exits 2 when units need attention and 0 once nothing does, and never shows a password', async () => {
    // Units that --lenient can take: the first run leaves some untouched, the lenient one none.
    const db = await seeded(cases.filter((corpusCase) => (corpusCase.expectedLenient ?? corpusCase.expected) === 'migrate'));
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'migrate', ...args], { cwd: ROOT }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    const base = ['--uri', mongoUri(), '--db', db.databaseName, '--parents', 'upload', '--children', 'entry'];
    const first = await cli([...base, '--json']);
    expect(first.code).toBe(2);
    const report = JSON.parse(first.stdout) as MigrationReport;
    expect(report.units.attention).toBeGreaterThan(0);
    expect(report.attention[0]).toMatchObject({ reasons: expect.any(Array) });
    const lenient = await cli([...base, '--lenient']);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toContain('Migration finished');
    const secret = mongoUri().replace('mongodb://', 'mongodb://admin:hunter2@').replace(/:\d+\//, ':1/');
    const failed = await cli(['--uri', secret, '--db', 'x', '--parents', 'upload', '--children', 'entry']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/cannot connect/);
    expect(failed.stderr + failed.stdout).not.toContain('hunter2');
  }, 120_000);

  it('killed with SIGKILL mid-run and run again, ends exactly as an uninterrupted run', async () => {
    const corpus = bulkCorpus(150, 20, 'kill');
    const load = async () => {
      const db = database.another();
      await db.collection('upload').insertMany(corpus.uploads as Document[]);
      for (let index = 0; index < corpus.entries.length; index += 1000) {
        await db.collection('entry').insertMany(corpus.entries.slice(index, index + 1000) as Document[]);
      }
      return db;
    };
    const reference = await load();
    await migrateLegacy({ db: reference, parents: 'upload', children: 'entry' });

    const db = await load();
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'migrate', '--uri', mongoUri(), '--db', db.databaseName, '--parents', 'upload', '--children', 'entry', '--batch-size', '10', '--lock-ttl-ms', '1000'];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    // Kill it once a part of the units is done.
    for (;;) {
      const done = await db.collection('upload').countDocuments({ sync_counter: 1 });
      if (done >= 30) break;
      if (child.exitCode !== null) throw new Error('the migration ended before it could be killed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const partial = await db.collection('upload').countDocuments({ sync_counter: 1 });
    expect(partial).toBeLessThan(corpus.uploads.length);

    const rerun = await promisify(execFile)(process.execPath, [...args, '--json'], { cwd: ROOT });
    const report = JSON.parse(rerun.stdout) as MigrationReport;
    expect(report.failed).toEqual([]);
    expect(await dump(db)).toEqual(await dump(reference));
  }, 300_000);
});
