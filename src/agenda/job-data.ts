/**
 * The payload procstate stores in an Agenda job, and its check on the way back: job documents
 * live in a collection anyone with access can edit, so they are untrusted input.
 */
import { InvalidArgumentError } from '../../machines/errors.js';
import { assertKindName, assertProcId, assertProcRef, assertSeq } from '../../persistence/validate.js';
import type { BatchedRun, ProcJob } from '../scheduler.js';

/** Most runs one batch job may carry (a larger batch in the jobs collection is refused). */
const MAX_RUNS_PER_JOB = 1_000;

/** What an Agenda job's `data` holds: a procstate job, flat. */
export interface ProcJobData {
  readonly type: ProcJob['type'];
  readonly kind: string;
  readonly id?: string;
  readonly callId?: string;
  readonly seq?: number;
  readonly runs?: readonly BatchedRun[];
  readonly parent?: { readonly kind: string; readonly id: string };
  readonly runId?: string;
  readonly limit?: 'soft' | 'hard';
}

/** The job's data for Agenda. */
export function toJobData(job: ProcJob): ProcJobData {
  switch (job.type) {
    case 'run':
      return { type: job.type, kind: job.kind, id: job.id, callId: job.callId, ...(job.seq === undefined ? {} : { seq: job.seq }) };
    case 'runs':
      return {
        type: job.type,
        kind: job.kind,
        runs: job.runs.map((run) => ({ id: run.id, callId: run.callId, ...(run.seq === undefined ? {} : { seq: run.seq }) })),
        ...(job.parent === undefined ? {} : { parent: { kind: job.parent.kind, id: job.parent.id } }),
      };
    case 'join':
      return { type: job.type, kind: job.kind, id: job.id };
    case 'timeout':
      return { type: job.type, kind: job.kind, id: job.id, runId: job.runId, limit: job.limit };
  }
}

function parseRun(value: unknown): BatchedRun {
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError('A run of a batch job must be an object.');
  const { id, callId, seq } = value as Record<string, unknown>;
  assertProcId(id);
  assertProcId(callId);
  if (seq !== undefined) assertSeq(seq);
  return seq === undefined ? { id, callId } : { id, callId, seq };
}

/** Reads a job back from Agenda's data, checking every field. @throws InvalidArgumentError */
export function parseJobData(data: unknown): ProcJob {
  if (typeof data !== 'object' || data === null) throw new InvalidArgumentError('An Agenda job without procstate data.');
  const { type, kind, id, callId, seq, runs, runId, limit, parent } = data as Record<string, unknown>;
  assertKindName(kind);
  switch (type) {
    case 'run': {
      const run = parseRun({ id, callId, seq });
      return { type, kind, ...run };
    }
    case 'runs':
      if (!Array.isArray(runs) || runs.length === 0 || runs.length > MAX_RUNS_PER_JOB) {
        throw new InvalidArgumentError(`A batch job needs 1 to ${MAX_RUNS_PER_JOB} runs.`);
      }
      if (parent !== undefined) assertProcRef(parent);
      return { type, kind, runs: runs.map(parseRun), ...(parent === undefined ? {} : { parent: { kind: parent.kind, id: parent.id } }) };
    case 'join':
      assertProcId(id);
      return { type, kind, id };
    case 'timeout':
      assertProcId(id);
      assertProcId(runId);
      if (limit !== 'soft' && limit !== 'hard') throw new InvalidArgumentError(`A timeout job's limit must be soft or hard, got ${String(limit)}.`);
      return { type, kind, id, runId, limit };
    default:
      throw new InvalidArgumentError(`Unknown procstate job type ${JSON.stringify(type)}.`);
  }
}
