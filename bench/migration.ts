/**
 * Migration throughput: the datafix against a raw pass that makes the same field changes with
 * bulk writes and nothing else (no ledger record, no lock, no checks), on the same server in
 * the same run.
 */
import type { Db, Document } from 'mongodb';
import { migrateLegacy, planUnit, type LegacyDocument } from '../persistence/migrations/index.js';
import { LEGACY_FIELD_NAMES } from '../persistence/index.js';
import { bulkCorpus } from '../test/fixtures/legacy-corpus.js';
import type { BenchResult } from './report.js';

async function load(db: Db, parents: number, children: number): Promise<void> {
  const corpus = bulkCorpus(parents, children, 'mig');
  await db.collection('upload').insertMany(corpus.uploads as Document[]);
  for (let index = 0; index < corpus.entries.length; index += 1000) {
    await db.collection('entry').insertMany(corpus.entries.slice(index, index + 1000) as Document[]);
  }
  await db.collection('entry').createIndex({ upload_id: 1 });
}

const CONCURRENCY = 4;

/** The baseline: read each unit, compute the same $set/$unset, write it with bulkWrite. */
async function rawPass(db: Db): Promise<number> {
  const uploads = db.collection<LegacyDocument>('upload');
  const entries = db.collection<LegacyDocument>('entry');
  const unset = Object.fromEntries(LEGACY_FIELD_NAMES.map((name) => [name, '']));
  let documents = 0;
  const migrate = async (upload: LegacyDocument) => {
    const children = await entries.find({ upload_id: upload._id } as never).toArray();
    const plan = planUnit(upload, children, { lenient: false, parentKind: 'upload' });
    if (plan.outcome !== 'migrate') return;
    const childOps = plan.conversions.slice(0, -1).map((conversion) => ({ updateOne: { filter: { _id: conversion.id } as never, update: { $set: conversion.fields as never, $unset: unset as never } } }));
    // The same batching as the datafix (FerretDB 1.24 holds a pooled connection per statement).
    for (let start = 0; start < childOps.length; start += 5) await entries.bulkWrite(childOps.slice(start, start + 5), { ordered: false });
    const last = plan.conversions.at(-1);
    if (last !== undefined) await uploads.updateOne({ _id: last.id } as never, { $set: last.fields as never, $unset: unset as never });
    documents += plan.conversions.length;
  };
  // The same concurrency as the datafix's default: units at a time.
  const running = new Set<Promise<void>>();
  for await (const upload of uploads.find({}).batchSize(100)) {
    const unit = migrate(upload);
    running.add(unit);
    void unit.finally(() => running.delete(unit));
    if (running.size >= CONCURRENCY) await Promise.race(running);
  }
  await Promise.all(running);
  return documents;
}

/** Runs both passes on fresh databases and reports documents per second and their ratio. */
export async function benchMigration(fresh: () => Promise<Db>, parents: number, children: number): Promise<BenchResult[]> {
  const rawDb = await fresh();
  await load(rawDb, parents, children);
  const rawStart = performance.now();
  const rawDocuments = await rawPass(rawDb);
  const rawSeconds = (performance.now() - rawStart) / 1000;

  const db = await fresh();
  await load(db, parents, children);
  const start = performance.now();
  const report = await migrateLegacy({ db, parents: 'upload', children: 'entry', worker: 'bench', concurrency: CONCURRENCY });
  const seconds = (performance.now() - start) / 1000;
  if (report.failed.length > 0 || report.documents.migrated !== rawDocuments) {
    throw new Error(`the migration did not convert what the raw pass did: ${JSON.stringify(report.units)}`);
  }
  const rate = report.documents.migrated / seconds;
  const rawRate = rawDocuments / rawSeconds;
  return [
    {
      group: 'migration',
      name: `datafix, ${parents} parents × ${children} children`,
      value: rate,
      unit: 'docs/s',
      baseline: rawRate,
      baselineName: 'raw bulkWrite pass, same field changes',
      ratio: rate / rawRate,
      notes: `${report.documents.migrated} documents in ${seconds.toFixed(1)} s (raw: ${rawSeconds.toFixed(1)} s); each document also gets its ledger record`,
    },
  ];
}
