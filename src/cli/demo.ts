/**
 * `procstate demo`: processes one upload with a few hundred entries, shows a live progress
 * line, and ends with a summary (upload status, entries by status, the upload's history).
 */
import { performance } from 'node:perf_hooks';
import type { ProcessStatus } from '../../machines/process-status.js';
import { PROCESS_STATUSES } from '../../machines/process-status.js';
import type { TransitionRecord } from '../../persistence/records.js';
import { kinds, planEntries, type DemoUploadArgs } from '../demo/demo-kinds.js';
import type { ProcSnapshot } from '../proc-snapshot.js';
import { createProcRuntime } from '../runtime/create-proc-runtime.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';
import { formatDuration, formatTable } from './format.js';

/** Options of the demo. */
export interface DemoOptions {
  readonly entries: number;
  readonly seed: number;
  /** Upper bound of one simulated work step, in milliseconds. */
  readonly stepMs: number;
  readonly json: boolean;
  /** Runs on a runtime the caller built (e.g. MongoDB with Agenda workers); embedded otherwise. */
  readonly runtime?: ProcRuntime | undefined;
  /** Describes the store in the output. */
  readonly storeLabel?: string | undefined;
  /** The upload's id. @defaultValue `demo-upload-<seed>` */
  readonly uploadId?: string | undefined;
  /** How long to wait for the upload. @defaultValue 10 minutes */
  readonly timeoutMs?: number | undefined;
  /** Stops waiting for the upload (SIGINT): the demo rejects with {@link DemoInterrupted}. */
  readonly signal?: AbortSignal | undefined;
}

/** The demo stopped waiting because its signal was aborted; the upload is where it was. */
export class DemoInterrupted extends Error {
  override readonly name = 'DemoInterrupted';
  constructor(readonly uploadId: string) {
    super(`stopped waiting for upload ${uploadId}`);
  }
}

/** Rejects with {@link DemoInterrupted} once `signal` aborts; never settles otherwise. */
function interrupted(signal: AbortSignal | undefined, uploadId: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (signal === undefined) return;
    if (signal.aborted) reject(new DemoInterrupted(uploadId));
    signal.addEventListener('abort', () => reject(new DemoInterrupted(uploadId)), { once: true });
  });
}

/** Where the demo writes. */
export interface DemoOutput {
  write(text: string): void;
  readonly isTTY: boolean;
  /** The terminal's width: a progress line longer than this would wrap and flood it. */
  readonly columns?: number | undefined;
}

/** `text` cut to `columns - 1` characters (the cursor needs the last column), with an ellipsis. */
function fit(text: string, columns: number | undefined): string {
  if (columns === undefined || columns < 2 || text.length < columns) return text;
  return `${text.slice(0, Math.max(0, columns - 2))}…`;
}

/** One line of the upload's history in the summary. */
interface DemoHistoryLine {
  readonly seq: number;
  readonly at: string;
  readonly from: ProcessStatus | null;
  readonly to: ProcessStatus | null;
  readonly cause: string;
  readonly step: string | null;
  readonly worker: string | null;
}

/** The machine-readable summary (`--json`). */
export interface DemoSummary {
  readonly upload: {
    readonly id: string;
    readonly process_status: ProcessStatus;
    readonly last_status_message: string | null;
    readonly errors: readonly string[];
  };
  readonly entries: { readonly total: number; readonly withWarnings: number; readonly byStatus: Record<ProcessStatus, number> };
  readonly expected: { readonly failures: number; readonly warnings: number };
  readonly history: readonly DemoHistoryLine[];
  readonly elapsedMs: number;
  readonly store: string;
}

function historyLine(record: TransitionRecord): DemoHistoryLine {
  return {
    seq: record.seq,
    at: record.at.toISOString(),
    from: record.from,
    to: record.to,
    cause: record.cause,
    step: record.snapshot?.context.current_process_step ?? null,
    worker: record.worker,
  };
}

/** Runs the demo and returns its summary; writes progress and the summary to `output`. */
export async function runDemo(options: DemoOptions, output: DemoOutput): Promise<DemoSummary> {
  const runtime: ProcRuntime = options.runtime ?? createProcRuntime({ kinds, sweepIntervalMs: 0 });
  const ownsRuntime = options.runtime === undefined;
  const uploadId = options.uploadId ?? `demo-upload-${options.seed}`;
  const args: DemoUploadArgs = { entries: options.entries, seed: options.seed, stepMs: options.stepMs };
  const plan = planEntries(uploadId, args);
  const entryStatus = new Map<string, ProcessStatus>();
  let upload: ProcSnapshot | undefined;
  const started = performance.now();

  const render = () => {
    const counts = Object.fromEntries(PROCESS_STATUSES.map((status) => [status, 0])) as Record<ProcessStatus, number>;
    for (const status of entryStatus.values()) counts[status] += 1;
    const done = counts.SUCCESS + counts.FAILURE;
    const processing = counts.PENDING + counts.RUNNING + counts.WAITING_FOR_RESULT;
    const step = upload?.current_process_step ?? '';
    return `upload ${upload?.process_status ?? 'READY'} ${step ? `(${step}) ` : ''}| entries ${done}/${options.entries} done, ${counts.FAILURE} failed, ${processing} processing | ${formatDuration(performance.now() - started)}`;
  };
  let lastDraw = 0;
  const draw = (force = false) => {
    if (options.json) return;
    const now = performance.now();
    if (!force && now - lastDraw < (output.isTTY ? 80 : 1000)) return;
    lastDraw = now;
    output.write(output.isTTY ? `\r\x1b[2K${fit(render(), output.columns)}` : `${render()}\n`);
  };
  const unsubscribe = runtime.subscribe((notice) => {
    if (notice.kind === 'entry' && notice.to !== null) entryStatus.set(notice.id, notice.to);
    if (notice.kind === 'upload' && notice.id === uploadId && notice.proc !== undefined) upload = notice.proc;
    draw();
  });

  try {
    if (ownsRuntime) await runtime.start();
    if (!options.json) {
      output.write(`procstate demo: upload ${uploadId} with ${options.entries} entries, seed ${options.seed}, on the ${options.storeLabel ?? 'embedded in-memory store'}\n`);
    }
    await runtime.create('upload', uploadId, { fields: { upload_name: `Demo upload (seed ${options.seed})` } });
    await runtime.call('upload', uploadId, 'process_upload', { ...args });
    const final = await Promise.race([
      runtime.waitForCompletion('upload', uploadId, { timeoutMs: options.timeoutMs ?? 600_000, pollMs: 250 }),
      interrupted(options.signal, uploadId),
    ]);
    const elapsedMs = performance.now() - started;
    draw(true);
    if (!options.json && output.isTTY) output.write('\n');

    const counts = await runtime.childCounts('upload', uploadId, 'entry');
    let withWarnings = 0;
    for (const entry of plan) {
      const proc = await runtime.get('entry', entry.id);
      if (proc.warnings.length > 0) withWarnings += 1;
    }
    const summary: DemoSummary = {
      upload: {
        id: uploadId,
        process_status: final.process_status,
        last_status_message: final.last_status_message,
        errors: final.errors,
      },
      entries: { total: counts.total, withWarnings, byStatus: counts.byStatus as Record<ProcessStatus, number> },
      expected: { failures: plan.filter((entry) => entry.fails).length, warnings: plan.filter((entry) => entry.warns).length },
      history: (await runtime.history('upload', uploadId)).map(historyLine),
      elapsedMs: Math.round(elapsedMs),
      store: options.storeLabel ?? 'embedded in-memory store',
    };
    output.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    return summary;
  } finally {
    unsubscribe();
    if (ownsRuntime) await runtime.close({ drainTimeoutMs: 5_000 });
  }
}

/** The human-readable summary. */
function formatSummary(summary: DemoSummary): string {
  const start = summary.history.length > 0 ? Date.parse(summary.history[0]?.at ?? '') : 0;
  const byStatus = PROCESS_STATUSES.filter((status) => summary.entries.byStatus[status] > 0)
    .map((status) => `${summary.entries.byStatus[status]} ${status}`)
    .join(', ');
  const rows = summary.history.map((line) => [
    String(line.seq),
    `+${formatDuration(Date.parse(line.at) - start)}`,
    `${line.from ?? '-'} -> ${line.to ?? '(deleted)'}`,
    line.cause,
    line.step ?? '',
  ]);
  return [
    '',
    `upload ${summary.upload.id}: ${summary.upload.process_status} (${summary.upload.last_status_message ?? ''}) in ${formatDuration(summary.elapsedMs)}`,
    `entries: ${summary.entries.total} (${byStatus || 'none'}); ${summary.entries.withWarnings} with warnings`,
    '',
    `transition history of upload ${summary.upload.id}:`,
    formatTable(['seq', 'time', 'transition', 'cause', 'step'], rows),
    '',
  ].join('\n');
}
