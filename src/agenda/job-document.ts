/**
 * Agenda's job document as its MongoDB backend stores it, and the job parameters its repository
 * hands Agenda. procstate's repository reads and writes some jobs itself (a lock won by a claim,
 * jobs inserted in bulk); it must give Agenda every field the stock repository would, or a later
 * `job.save()` writes the missing ones back as null (a repeating job's `endDate`, say). The
 * contract tests compare this mapping with the stock repository's `getJobById` field by field.
 */
import { toJobId, type JobParameters } from 'agenda';
import { ObjectId, type Document } from 'mongodb';

/** A job document as Agenda's MongoDB backend stores it. */
export type JobDocument = Document & { _id: ObjectId; name: string; nextRunAt: Date | null; lockedAt?: Date | null };

/** The fields of a stored job Agenda reads back as absent when they are null. */
const OPTIONAL_FIELDS = [
  'lockedAt',
  'lastFinishedAt',
  'failedAt',
  'failCount',
  'failReason',
  'repeatTimezone',
  'lastRunAt',
  'repeatInterval',
  'repeatAt',
  'disabled',
  'progress',
  'unique',
  'uniqueOpts',
  'lastModifiedBy',
  'fork',
  'debounceStartedAt',
  'startDate',
  'endDate',
  'skipDays',
] as const;

/** The job parameters for a stored job, as the stock repository builds them. */
export function toJobParameters(document: JobDocument): JobParameters {
  const parameters: Record<string, unknown> = {
    _id: toJobId(document._id.toHexString()),
    name: document.name,
    priority: document['priority'],
    nextRunAt: document.nextRunAt,
    type: document['type'],
    data: document['data'],
  };
  for (const field of OPTIONAL_FIELDS) parameters[field] = document[field] ?? undefined;
  return parameters as unknown as JobParameters;
}

/**
 * Fields a new job's document holds as null when the job has none (what Agenda's `saveJob`
 * inserts): every optional field but the unique constraint, which only shapes an upsert's query
 * and is never stored, and `lastModifiedBy`, which the save sets.
 */
const NULLED_ON_INSERT = OPTIONAL_FIELDS.filter((field) => field !== 'unique' && field !== 'uniqueOpts' && field !== 'lastModifiedBy');

/**
 * The document Agenda's `saveJob` inserts for a new job without `unique` (those are upserts, not
 * inserts), with its id chosen here.
 */
export function newJobDocument(job: JobParameters, lastModifiedBy: string | null): JobDocument {
  const { _id: _ignored, unique: _unique, uniqueOpts: _uniqueOpts, ...props } = job;
  const document: Record<string, unknown> = { ...props };
  for (const field of NULLED_ON_INSERT) document[field] = (props as Record<string, unknown>)[field] ?? null;
  document['lastModifiedBy'] = lastModifiedBy;
  document['_id'] = new ObjectId();
  return document as JobDocument;
}
