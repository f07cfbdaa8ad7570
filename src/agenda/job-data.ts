/**
 * The payload procstate stores in an Agenda job, and its check on the way back: job documents
 * live in a collection anyone with access can edit, so they are untrusted input.
 */
import { InvalidArgumentError } from '../errors.js';
import { assertKindName, assertProcId } from '../../persistence/validate.js';
import type { ProcJob } from '../scheduler.js';

/** What an Agenda job's `data` holds: a procstate job, flat. */
export interface ProcJobData {
  readonly type: ProcJob['type'];
  readonly kind: string;
  readonly id: string;
  readonly callId?: string;
  readonly runId?: string;
  readonly limit?: 'soft' | 'hard';
}

/** The job's data for Agenda. */
export function toJobData(job: ProcJob): ProcJobData {
  switch (job.type) {
    case 'run':
      return { type: job.type, kind: job.kind, id: job.id, callId: job.callId };
    case 'join':
      return { type: job.type, kind: job.kind, id: job.id };
    case 'timeout':
      return { type: job.type, kind: job.kind, id: job.id, runId: job.runId, limit: job.limit };
  }
}

/** Reads a job back from Agenda's data, checking every field. @throws InvalidArgumentError */
export function parseJobData(data: unknown): ProcJob {
  if (typeof data !== 'object' || data === null) throw new InvalidArgumentError('An Agenda job without procstate data.');
  const { type, kind, id, callId, runId, limit } = data as Record<string, unknown>;
  assertKindName(kind);
  assertProcId(id);
  switch (type) {
    case 'run':
      assertProcId(callId);
      return { type, kind, id, callId };
    case 'join':
      return { type, kind, id };
    case 'timeout':
      assertProcId(runId);
      if (limit !== 'soft' && limit !== 'hard') throw new InvalidArgumentError(`A timeout job's limit must be soft or hard, got ${String(limit)}.`);
      return { type, kind, id, runId, limit };
    default:
      throw new InvalidArgumentError(`Unknown procstate job type ${JSON.stringify(type)}.`);
  }
}
