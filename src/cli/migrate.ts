/**
 * `procstate migrate`: the datafix for documents of NOMAD's tasks model.
 */
import { exitCodeOf, migrateLegacy, type MigrationReport, type UnitProblem } from '../../persistence/migrations/migrate-legacy.js';
import { connectClient, databaseFromUri } from './connect.js';
import { formatTable } from './format.js';
import { assertCollectionsExist } from './kind-store.js';
import { UsageError } from './options.js';

/** Options of the migrate command. */
export interface MigrateCommandOptions {
  readonly uri: string;
  /** @defaultValue the URI's database */
  readonly database?: string | undefined;
  readonly serverTimeoutMs: number;
  readonly parents: string;
  readonly children: string;
  readonly parentKey: string;
  readonly parentKind?: string | undefined;
  readonly childKind?: string | undefined;
  readonly dryRun: boolean;
  readonly lenient: boolean;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly json: boolean;
  readonly lockTtlMs?: number | undefined;
  /** Show a progress line on `progress`, cut to `columns`. */
  readonly showProgress: boolean;
  readonly columns?: number | undefined;
  readonly write: (text: string) => void;
  readonly progress: (text: string) => void;
}

/** The progress line, cut to the terminal's width so that it never wraps. */
function bar(done: number, total: number, report: MigrationReport, columns: number | undefined): string {
  const { migrated, alreadyMigrated, skipped, attention, failed } = report.units;
  const counts = ` ${done}/${total} units · ${migrated} migrated · ${alreadyMigrated} already · ${skipped} skipped · ${attention} need attention${failed > 0 ? ` · ${failed} failed` : ''}`;
  const room = (columns ?? 80) - 1;
  const width = Math.max(0, Math.min(30, room - counts.length - 2));
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const line = `${width > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]` : ''}${counts}`;
  return `\r\x1b[2K${line.length > room ? `${line.slice(0, Math.max(0, room - 1))}…` : line}`;
}

function listed(title: string, problems: readonly UnitProblem[]): string[] {
  if (problems.length === 0) return [];
  const shown = problems.slice(0, 20).map((problem) => `  ${problem.id}: ${problem.reasons.join('; ')}${problem.details.length > 0 ? ` (${problem.details[0]})` : ''}`);
  return [title, ...shown, ...(problems.length > 20 ? [`  … and ${problems.length - 20} more (--json lists them all)`] : []), ''];
}

/** The human-readable report. */
function formatMigrationReport(report: MigrationReport): string {
  const { units, documents } = report;
  const rows: string[][] = [
    ['migrated', String(units.migrated), String(documents.migrated)],
    ['already migrated', String(units.alreadyMigrated), String(documents.alreadyMigrated)],
    ['skipped (parent processing)', String(units.skipped), String(documents.skipped)],
    ['left untouched (need attention)', String(units.attention), String(documents.attention)],
    ['failed', String(units.failed), '-'],
  ];
  return [
    report.dryRun ? 'Dry run: nothing was written. A real run would do this:' : 'Migration finished:',
    '',
    formatTable(['outcome', 'units', 'documents'], rows),
    documents.notLegacy > 0 ? `\n${documents.notLegacy} documents had no legacy fields and no procstate fields; they were not touched.` : '',
    '',
    ...Object.entries(report.reasons).map(([reason, count]) => `${count} unit(s): ${reason}`),
    Object.keys(report.reasons).length > 0 ? '' : '',
    ...listed('Skipped:', report.skipped),
    ...listed('Left untouched:', report.attention),
    ...(report.lenient.length > 0 ? [`Migrated leniently (the ledger says so): ${report.lenient.length} document(s)`, ''] : []),
    ...report.failed.map((failure) => `failed: ${failure.id}: ${failure.error}`),
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}

/** Runs the datafix; resolves with the exit code (0 all migrated, 2 attention needed, 1 errors). */
export async function runMigrate(options: MigrateCommandOptions): Promise<number> {
  const database = options.database ?? databaseFromUri(options.uri);
  if (database === undefined) throw new UsageError('migrate needs the database: pass --db NAME or name it in the URI.');
  const client = await connectClient(options.uri, options.serverTimeoutMs);
  const { showProgress } = options;
  try {
    const db = client.db(database);
    await assertCollectionsExist(db, [options.parents, options.children], 'check --db, --parents and --children.');
    const report = await migrateLegacy({
      db,
      parents: options.parents,
      children: options.children,
      parentKey: options.parentKey,
      parentKind: options.parentKind,
      childKind: options.childKind,
      dryRun: options.dryRun,
      lenient: options.lenient,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      lockTtlMs: options.lockTtlMs,
      onProgress: showProgress ? (done, total, current) => options.progress(bar(done, total, current, options.columns)) : undefined,
      onWait: (owner, at) => options.progress(`procstate migrate: waiting for the run ${owner} (last seen ${at.toISOString()}) to finish or go silent\n`),
    });
    if (showProgress) options.progress('\n');
    options.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatMigrationReport(report)}\n`);
    return exitCodeOf(report);
  } finally {
    await client.close();
  }
}
