/**
 * The datafix's executor: migrates parents and their children of NOMAD's tasks model, one unit
 * (a parent with all its children) at a time, in bulk, under a run lock.
 *
 * Safe to kill at any moment: a unit is planned from its legacy values, and for documents an
 * earlier, interrupted run already converted, those values come back from the ledger record
 * that run wrote. Planning again therefore gives the same plan, and the rerun finishes the unit
 * exactly as an uninterrupted run would have. A document is converted by inserting its first
 * ledger record (unique key: only one writer ever succeeds) and then updating the document.
 */
import { hostname } from 'node:os';
import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import { InvalidArgumentError, PersistenceError } from '../../machines/errors.js';
import { decodeProcDocument, encodeProcFields, LEGACY_FIELD_NAMES } from '../proc-document.js';
import { RecordCause, transitionRecord } from '../records.js';
import { assertFieldName, assertKindName } from '../validate.js';
import { DEFAULT_LEDGER_SUFFIX, ledgerRecordId, toLedgerDocument, type LedgerDocument } from '../mongodb/mongo-proc-store.js';
import { bulkWriteErrors, DUPLICATE_KEY } from '../mongodb/map-mongo-error.js';
import {
  AttentionReason,
  isLegacy,
  planUnit,
  restoreLegacy,
  type LegacyConversion,
  type LegacyDocument,
  type UnitPlan,
} from './legacy-tasks.js';
import { acquireMigrationLock, type MigrationLock } from './migration-lock.js';

/**
 * Update statements sent in one command. FerretDB 1.24 keeps one pooled connection per
 * statement until its command ends, across concurrent commands too, and its pool holds 50;
 * 5 statements × {@link MAX_CONCURRENCY} units stays well below.
 */
const UPDATE_STATEMENTS_PER_COMMAND = 5;
/** Most units migrated at once. */
const MAX_CONCURRENCY = 8;

/** Options of {@link migrateLegacy}. */
export interface MigrateLegacyOptions {
  readonly db: Db;
  /** The parents' collection, e.g. `upload`. */
  readonly parents: string;
  /** The children's collection, e.g. `entry`. */
  readonly children: string;
  /** The children's field holding their parent's id. @defaultValue `upload_id` */
  readonly parentKey?: string | undefined;
  /** The parents' kind in procstate. @defaultValue the parents' collection name */
  readonly parentKind?: string | undefined;
  /** The children's kind in procstate. @defaultValue the children's collection name */
  readonly childKind?: string | undefined;
  /** Report what a real run would do, and write nothing. */
  readonly dryRun?: boolean | undefined;
  /** Migrate documents that cannot be explained too, with generated messages, saying so in the ledger. */
  readonly lenient?: boolean | undefined;
  /** Parents read per round trip. @defaultValue 100 */
  readonly batchSize?: number | undefined;
  /** Units migrated at the same time (units never share a document), at most 8. @defaultValue 4 */
  readonly concurrency?: number | undefined;
  /** Recorded as the writer of every ledger record and as the lock's owner. */
  readonly worker?: string | undefined;
  /** A lock holder silent this long is taken over. @defaultValue 30000 */
  readonly lockTtlMs?: number | undefined;
  /** Called after every unit with the units done so far and the total. */
  readonly onProgress?: ((done: number, total: number, report: MigrationReport) => void) | undefined;
  /** Called when another run holds the lock and this one waits. */
  readonly onWait?: ((owner: string, heartbeatAt: Date) => void) | undefined;
}

/** A unit that was not migrated, and why. */
export interface UnitProblem {
  readonly id: string;
  readonly reasons: readonly string[];
  readonly details: readonly string[];
}

/** What a run did (or, dry, would do). */
export interface MigrationReport {
  readonly dryRun: boolean;
  readonly units: { total: number; migrated: number; alreadyMigrated: number; skipped: number; attention: number; failed: number };
  readonly documents: { migrated: number; alreadyMigrated: number; notLegacy: number; skipped: number; attention: number };
  /** Units per reason, for the skipped and untouched ones. */
  readonly reasons: Record<string, number>;
  readonly skipped: UnitProblem[];
  readonly attention: UnitProblem[];
  /** Documents migrated although they could not be explained (`--lenient`). */
  readonly lenient: string[];
  readonly failed: Array<{ readonly id: string; readonly error: string }>;
}

/** Exit code a report maps to: 0 all migrated, 2 something needs attention, 1 errors. */
export function exitCodeOf(report: MigrationReport): 0 | 1 | 2 {
  if (report.failed.length > 0) return 1;
  return report.units.skipped > 0 || report.units.attention > 0 ? 2 : 0;
}

/** What a datafix record keeps of the legacy document (see `legacy-tasks.ts`). */
interface KeptLegacy {
  readonly before: Readonly<Record<string, unknown>>;
  readonly absent: readonly string[];
}

type DocumentState = 'legacy' | 'procstate' | 'plain';

function classify(doc: LegacyDocument): DocumentState {
  if (isLegacy(doc)) return 'legacy';
  const decoded = decodeProcDocument(doc);
  if (decoded.kind === 'plain') return 'plain';
  return 'procstate';
}

function emptyReport(dryRun: boolean): MigrationReport {
  return {
    dryRun,
    units: { total: 0, migrated: 0, alreadyMigrated: 0, skipped: 0, attention: 0, failed: 0 },
    documents: { migrated: 0, alreadyMigrated: 0, notLegacy: 0, skipped: 0, attention: 0 },
    reasons: {},
    skipped: [],
    attention: [],
    lenient: [],
    failed: [],
  };
}

/**
 * Migrates every unit of the two collections. Never throws for a unit that cannot be migrated:
 * the report says what happened to each; throws only when the run itself cannot go on (the
 * server is gone, another run holds the lock).
 */
export async function migrateLegacy(options: MigrateLegacyOptions): Promise<MigrationReport> {
  const parentKey = options.parentKey ?? 'upload_id';
  assertFieldName(parentKey);
  const parentKind = options.parentKind ?? options.parents;
  const childKind = options.childKind ?? options.children;
  assertKindName(parentKind);
  assertKindName(childKind);
  const dryRun = options.dryRun ?? false;
  const lenient = options.lenient ?? false;
  const batchSize = options.batchSize ?? 100;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new InvalidArgumentError(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${String(concurrency)}.`);
  }
  const worker = options.worker ?? `${hostname()}:${process.pid}`;
  const db = options.db;
  const parents = db.collection<LegacyDocument>(options.parents);
  const children = db.collection<LegacyDocument>(options.children);
  const ledgers = {
    parent: db.collection<LedgerDocument>(`${options.parents}${DEFAULT_LEDGER_SUFFIX}`),
    child: db.collection<LedgerDocument>(`${options.children}${DEFAULT_LEDGER_SUFFIX}`),
  };
  const report = emptyReport(dryRun);

  let lock: MigrationLock | undefined;
  if (!dryRun) {
    lock = await acquireMigrationLock({
      db,
      scope: `legacy-tasks/${options.parents}/${options.children}`,
      owner: worker,
      ttlMs: options.lockTtlMs ?? 30_000,
      waitMs: 2 * (options.lockTtlMs ?? 30_000),
      onWait: options.onWait,
    });
  }
  try {
    const total = await parents.countDocuments({});
    report.units.total = total;
    let done = 0;
    const seenParents = new Set<string>();
    const running = new Set<Promise<void>>();
    for await (const parent of parents.find({}).batchSize(batchSize)) {
      seenParents.add(parent._id);
      const unit = (async () => {
        const unitChildren = await children.find({ [parentKey]: parent._id } as never).toArray();
        await migrateUnit(parent, unitChildren, null);
        done += 1;
        options.onProgress?.(done, total, report);
      })();
      running.add(unit);
      void unit.finally(() => running.delete(unit));
      if (running.size >= concurrency) await Promise.race(running);
    }
    await Promise.all(running);
    // Legacy children whose parent does not exist form units of their own. Only the two fields
    // that tell are fetched for the scan; the few orphans are read whole afterwards.
    const legacyFilter = { $or: LEGACY_FIELD_NAMES.map((name) => ({ [name]: { $exists: true } })) } as never;
    for await (const candidate of children.find(legacyFilter, { projection: { _id: 1, [parentKey]: 1 } }).batchSize(1000)) {
      const parentId = candidate[parentKey];
      if (typeof parentId === 'string' && seenParents.has(parentId)) continue;
      const child = await children.findOne({ _id: candidate._id } as never);
      if (child === null || !isLegacy(child)) continue;
      report.units.total += 1;
      await migrateUnit(child, [], typeof parentId === 'string' ? parentId : null);
      done += 1;
      options.onProgress?.(done, report.units.total, report);
    }
    // Units finish in any order when several run at once; the report lists them by id.
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    report.skipped.sort(byId);
    report.attention.sort(byId);
    report.failed.sort(byId);
    report.lenient.sort();
    return report;
  } finally {
    await lock?.release();
  }

  /** Migrates one unit; `orphanOf` is set when the unit is a child whose parent is missing. */
  async function migrateUnit(head: LegacyDocument, members: readonly LegacyDocument[], orphanOf: string | null): Promise<void> {
    try {
      const headLedger = orphanOf === null ? ledgers.parent : ledgers.child;
      const all = [{ doc: head, ledger: headLedger }, ...members.map((doc) => ({ doc, ledger: ledgers.child }))];
      const states = all.map(({ doc }) => classify(doc));
      const notLegacy = states.filter((state) => state === 'plain').length;
      if (!states.includes('legacy')) {
        report.units.alreadyMigrated += 1;
        report.documents.alreadyMigrated += states.filter((state) => state === 'procstate').length;
        report.documents.notLegacy += notLegacy;
        return;
      }
      // Documents an interrupted run converted come back to their legacy values from the ledger.
      const originals = new Map<string, LegacyDocument>();
      const converted = new Set<string>();
      for (const [index, { doc, ledger }] of all.entries()) {
        if (states[index] !== 'procstate') continue;
        const record = await ledger.findOne({ _id: ledgerRecordId(doc._id, 1) });
        if (record?.cause === RecordCause.MIGRATED && record.legacy !== undefined) {
          originals.set(doc._id, restoreLegacy(doc, record.legacy as unknown as KeptLegacy));
          converted.add(doc._id);
        }
      }
      const legacyOf = (doc: LegacyDocument) => originals.get(doc._id) ?? doc;
      const participating = (doc: LegacyDocument, index: number) => states[index] === 'legacy' || converted.has(doc._id);
      const plannedMembers = members.filter((doc, index) => participating(doc, index + 1)).map(legacyOf);

      let plan: UnitPlan;
      if (orphanOf !== null && !lenient) {
        plan = { outcome: 'attention', reasons: [AttentionReason.ORPHAN_CHILD], details: [`${head._id}: its parent ${orphanOf} does not exist`] };
      } else {
        plan = planUnit(legacyOf(head), plannedMembers, { lenient, parentKind });
      }
      if (plan.outcome !== 'migrate') {
        const bucket = plan.outcome === 'skipped' ? report.skipped : report.attention;
        bucket.push({ id: head._id, reasons: plan.reasons, details: plan.details });
        if (plan.outcome === 'skipped') report.units.skipped += 1;
        else report.units.attention += 1;
        for (const reason of plan.reasons) report.reasons[reason] = (report.reasons[reason] ?? 0) + 1;
        const count = 1 + members.length;
        if (plan.outcome === 'skipped') report.documents.skipped += count;
        else report.documents.attention += count;
        return;
      }
      const conversions = orphanOf === null ? plan.conversions : plan.conversions.map((conversion) => orphanConversion(conversion, orphanOf));
      // What this run converts leniently: the troubled documents, and an orphan child (only reached with --lenient).
      const leniently = new Set([...plan.lenient, ...(orphanOf === null ? [] : [head._id])]);
      report.lenient.push(...[...leniently].filter((id) => !converted.has(id)));
      if (!dryRun) {
        await lock?.assertHeld();
        const headConversion = conversions.find((conversion) => conversion.id === head._id) as LegacyConversion;
        const memberConversions = conversions.filter((conversion) => conversion.id !== head._id);
        // Children first: a parent whose conversion landed says its unit is complete.
        await applyConversions(memberConversions, childKind, ledgers.child, children, converted);
        await applyConversions([headConversion], orphanOf === null ? parentKind : childKind, headLedger, orphanOf === null ? parents : children, converted);
      }
      report.units.migrated += 1;
      report.documents.migrated += conversions.filter((conversion) => !converted.has(conversion.id)).length;
      report.documents.alreadyMigrated += converted.size;
      report.documents.notLegacy += notLegacy;
    } catch (error) {
      report.units.failed += 1;
      report.failed.push({ id: head._id, error: error instanceof Error ? error.message : String(error) });
    }
  }

  function orphanConversion(conversion: LegacyConversion, parentId: string): LegacyConversion {
    const state = { ...conversion.state, context: { ...conversion.state.context, parent: { kind: parentKind, id: parentId } } };
    const event = { ...conversion.event, lenient: true, problems: [...conversion.event.problems, `its parent ${parentId} does not exist`] };
    return { ...conversion, state, fields: encodeProcFields(state, 1), event };
  }

  async function applyConversions(
    conversions: readonly LegacyConversion[],
    kind: string,
    ledger: Collection<LedgerDocument>,
    documents: Collection<LegacyDocument>,
    alreadyConverted: ReadonlySet<string>,
  ): Promise<void> {
    const pending = conversions.filter((conversion) => !alreadyConverted.has(conversion.id));
    if (pending.length === 0) return;
    const at = new Date();
    const records = pending.map((conversion) =>
      toLedgerDocument(
        transitionRecord({
          ref: { kind, id: conversion.id },
          seq: 1,
          from: null,
          state: conversion.state,
          meta: { cause: RecordCause.MIGRATED, event: conversion.event, at, worker, runId: null },
          legacy: { before: conversion.legacy.before, absent: [...conversion.legacy.absent] },
        }),
      ),
    );
    try {
      await ledger.insertMany(records, { ordered: false });
    } catch (error) {
      // A record that exists already was written by an interrupted run of the datafix (fine),
      // or by something else (then the document is not ours to convert).
      const failures = bulkWriteErrors(error);
      if (failures === undefined) throw error;
      for (const failure of failures) {
        if (failure.code !== DUPLICATE_KEY) throw error;
        const record = records[failure.index] as LedgerDocument;
        const existing = await ledger.findOne({ _id: record._id });
        if (existing?.cause !== RecordCause.MIGRATED) {
          throw new PersistenceError(`${record.proc}: ${AttentionReason.WRITTEN_ELSEWHERE} (${String(existing?.cause)})`, { kind, id: record.proc });
        }
      }
    }
    const unset = Object.fromEntries(LEGACY_FIELD_NAMES.map((name) => [name, '']));
    const operations: AnyBulkWriteOperation<LegacyDocument>[] = pending.map((conversion) => ({
      updateOne: {
        filter: { _id: conversion.id, tasks_status: { $exists: true } } as never,
        update: { $set: conversion.fields as never, $unset: unset as never },
      },
    }));
    // Small commands: see UPDATE_STATEMENTS_PER_COMMAND.
    for (let start = 0; start < operations.length; start += UPDATE_STATEMENTS_PER_COMMAND) {
      await documents.bulkWrite(operations.slice(start, start + UPDATE_STATEMENTS_PER_COMMAND), { ordered: false });
    }
  }
}
