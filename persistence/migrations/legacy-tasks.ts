/**
 * The datafix's rules, pure: how a document of NOMAD's tasks model (`tasks_status`,
 * `current_task`, the old `process_status`) becomes a procstate document, and which parents and
 * children must not be migrated. Frozen in time: it writes machine version 1 documents and
 * imports no runtime code.
 *
 * Reference: nomad-proc.md §6 (NOMAD's own conversion) and the datafix issue, which closes
 * its gaps: the old values are kept in the first ledger record, a task-less process in flight
 * (old `process_status` CALLED or RUNNING) counts as processing, and `sync_counter` is written.
 */
import type { ProcContext, ProcMachineState, ProcRef } from '../../machines/proc-context.js';
import type { ProcessStatus } from '../../machines/process-status.js';
import { StatusMessages } from '../../machines/status-messages.js';
import { encodeProcFields, LEGACY_FIELD_NAMES } from '../proc-document.js';
import { PROC_FIELD_NAMES, type ProcDocumentFields } from '../records.js';

/** A stored document as the datafix reads it. */
export type LegacyDocument = Readonly<Record<string, unknown>> & { readonly _id: string };

/** `tasks_status` values the tasks model wrote. */
const LEGACY_TASK_STATUSES: readonly string[] = Object.freeze(['CREATED', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILURE']);
/** Values of the tasks model's own `process_status` (null: never called, or reset). */
const LEGACY_PROCESS_STATUSES: readonly (string | null)[] = Object.freeze([null, 'CALLED', 'RUNNING', 'COMPLETED']);

/** Why a document cannot be explained (each becomes a reason in the report). */
export const AttentionReason = Object.freeze({
  UNKNOWN_TASKS_STATUS: 'unknown tasks_status',
  UNKNOWN_PROCESS_STATUS: 'unknown legacy process_status',
  WRONG_TYPE: 'field of the wrong type',
  FAILURE_WITHOUT_ERRORS: 'FAILURE without errors',
  CREATED_WITHOUT_MESSAGE: 'CREATED without a message',
  SUCCESS_WITHOUT_PROCESS: 'SUCCESS without current_process',
  CHILD_PROCESSING: 'a child is processing inside a parent that is not',
  PARENT_PROCESSING: 'the parent is processing',
  ORPHAN_CHILD: 'a child whose parent does not exist',
  WRITTEN_ELSEWHERE: 'a procstate record exists that the datafix did not write',
} as const);

/** One of the reasons. */
export type AttentionReason = (typeof AttentionReason)[keyof typeof AttentionReason];

/** What the datafix found out about one legacy document. */
interface LegacyAssessment {
  readonly id: string;
  /** The status it would get. */
  readonly status: ProcessStatus;
  /** A process is in flight (tasks_status PENDING/RUNNING, or old process_status CALLED/RUNNING). */
  readonly processing: boolean;
  /** Reasons it cannot be explained; empty when it can. */
  readonly problems: readonly AttentionReason[];
  /** Details for humans, one per problem. */
  readonly details: readonly string[];
}

/** How a legacy document is changed, and what the ledger keeps. */
export interface LegacyConversion {
  readonly id: string;
  /** The machine state the document starts from; its ledger record keeps it as the snapshot. */
  readonly state: ProcMachineState;
  /** procstate's fields to set (status, NOMAD's fields, sync_counter 1, the machine's bookkeeping): `state` encoded. */
  readonly fields: ProcDocumentFields;
  /** Fields to remove. */
  readonly unset: readonly string[];
  /** Every value the conversion removed or replaced, and the fields it added, for the ledger. */
  readonly legacy: { readonly before: Readonly<Record<string, unknown>>; readonly absent: readonly string[] };
  /** What the ledger record says about the conversion. */
  readonly event: { readonly lenient: boolean; readonly generated: readonly string[]; readonly problems: readonly string[] };
}

const STRING_OR_NULL_FIELDS = ['current_process', 'current_task', 'last_status_message', 'worker_hostname', 'celery_task_id'] as const;

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** True when the document still has the tasks model's fields. Pure. */
export function isLegacy(doc: LegacyDocument): boolean {
  return LEGACY_FIELD_NAMES.some((name) => name in doc);
}

/** Assesses one legacy document. Pure. */
function assessLegacy(doc: LegacyDocument): LegacyAssessment {
  const problems: AttentionReason[] = [];
  const details: string[] = [];
  const add = (reason: AttentionReason, detail: string) => {
    problems.push(reason);
    details.push(detail);
  };
  const tasksStatus = doc['tasks_status'];
  const oldProcessStatus = doc['process_status'] ?? null;
  if (typeof tasksStatus !== 'string' || !LEGACY_TASK_STATUSES.includes(tasksStatus)) {
    add(AttentionReason.UNKNOWN_TASKS_STATUS, `tasks_status is ${JSON.stringify(tasksStatus) ?? 'missing'}`);
  }
  if (!LEGACY_PROCESS_STATUSES.includes(oldProcessStatus as string | null)) {
    add(AttentionReason.UNKNOWN_PROCESS_STATUS, `process_status is ${JSON.stringify(oldProcessStatus)}`);
  }
  for (const field of STRING_OR_NULL_FIELDS) {
    const value = doc[field];
    if (value !== undefined && value !== null && typeof value !== 'string') add(AttentionReason.WRONG_TYPE, `${field} is ${JSON.stringify(value)}`);
  }
  for (const field of ['errors', 'warnings'] as const) {
    const value = doc[field];
    if (value !== undefined && value !== null && !isStringList(value)) add(AttentionReason.WRONG_TYPE, `${field} is ${JSON.stringify(value)}`);
  }
  const completeTime = doc['complete_time'];
  if (completeTime !== undefined && completeTime !== null && !isDate(completeTime)) add(AttentionReason.WRONG_TYPE, `complete_time is ${JSON.stringify(completeTime)}`);

  const status = mapStatus(tasksStatus);
  const errors = isStringList(doc['errors']) ? doc['errors'] : [];
  const message = typeof doc['last_status_message'] === 'string' && doc['last_status_message'] !== '' ? doc['last_status_message'] : null;
  const currentProcess = typeof doc['current_process'] === 'string' ? doc['current_process'] : null;
  if (tasksStatus === 'FAILURE' && errors.length === 0) add(AttentionReason.FAILURE_WITHOUT_ERRORS, 'tasks_status FAILURE with no errors');
  if (tasksStatus === 'CREATED' && message === null && errors.length === 0) add(AttentionReason.CREATED_WITHOUT_MESSAGE, 'tasks_status CREATED with no message and no errors');
  if (tasksStatus === 'SUCCESS' && currentProcess === null && message === null && errors.length === 0) {
    add(AttentionReason.SUCCESS_WITHOUT_PROCESS, 'tasks_status SUCCESS with no current_process to name in a message');
  }
  const processing = tasksStatus === 'PENDING' || tasksStatus === 'RUNNING' || oldProcessStatus === 'CALLED' || oldProcessStatus === 'RUNNING';
  return { id: doc._id, status, processing, problems, details };
}

function mapStatus(tasksStatus: unknown): ProcessStatus {
  switch (tasksStatus) {
    case 'CREATED':
      return 'READY';
    case 'PENDING':
    case 'RUNNING':
    case 'SUCCESS':
    case 'FAILURE':
      return tasksStatus;
    default:
      // Only reached with --lenient: an unknown status becomes a failure that says so.
      return 'FAILURE';
  }
}

function asStringOrNull(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function asStringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (isStringList(value)) return value;
  return Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))) : [asStringOrNull(value) as string];
}

function asDateOrNull(value: unknown): Date | null {
  if (isDate(value)) return value;
  if (typeof value === 'string' || typeof value === 'number') {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? null : parsed;
  }
  return null;
}

/**
 * Converts one legacy document (assessed as migratable, or with `lenient`) into procstate's
 * fields. Pure.
 */
function convertLegacy(doc: LegacyDocument, assessment: LegacyAssessment, options: { readonly lenient: boolean; readonly parent: ProcRef | null }): LegacyConversion {
  const generated: string[] = [];
  const currentProcess = asStringOrNull(doc['current_process']);
  const errors = asStringList(doc['errors']);
  const storedMessage = typeof doc['last_status_message'] === 'string' && doc['last_status_message'] !== '' ? doc['last_status_message'] : null;
  let message = storedMessage;
  if (message === null) {
    if (errors.length > 0) message = StatusMessages.failed(currentProcess, errors[errors.length - 1] as string);
    else if (assessment.status === 'SUCCESS' && currentProcess !== null) message = StatusMessages.completedSuccessfully(currentProcess);
    else if (options.lenient && assessment.problems.includes(AttentionReason.UNKNOWN_TASKS_STATUS)) {
      message = StatusMessages.failed(currentProcess, `the legacy tasks_status ${JSON.stringify(doc['tasks_status'])} could not be interpreted`);
    } else if (options.lenient && assessment.status === 'FAILURE') message = StatusMessages.failed(currentProcess, 'no error was recorded');
    else if (options.lenient && assessment.status === 'SUCCESS') message = StatusMessages.completedSuccessfully(currentProcess ?? '(unknown)');
    else if (options.lenient && assessment.status === 'READY') message = 'Ready (migrated from CREATED)';
    if (message !== null) generated.push('last_status_message');
  }
  const context: ProcContext = {
    current_process: currentProcess,
    current_process_step: asStringOrNull(doc['current_task']),
    last_status_message: message,
    errors,
    warnings: asStringList(doc['warnings']),
    complete_time: asDateOrNull(doc['complete_time'])?.toISOString() ?? null,
    worker_hostname: asStringOrNull(doc['worker_hostname']),
    job_id: null,
    queue: [],
    call: null,
    run: null,
    parent: options.parent,
  };
  const state: ProcMachineState = { status: assessment.status, context };
  const fields = encodeProcFields(state, 1);

  // Everything the conversion removes or replaces goes to the ledger; fields it adds are listed.
  const before: Record<string, unknown> = {};
  const absent: string[] = [];
  const unset = LEGACY_FIELD_NAMES.filter((name) => name in doc);
  for (const name of unset) before[name] = doc[name];
  for (const name of PROC_FIELD_NAMES) {
    if (!(name in doc)) {
      absent.push(name);
      continue;
    }
    const value = doc[name];
    const next = (fields as unknown as Record<string, unknown>)[name];
    if (!sameValue(value, next)) before[name] = value;
  }
  return {
    id: doc._id,
    state,
    fields,
    unset,
    legacy: { before, absent },
    event: { lenient: options.lenient && assessment.problems.length > 0, generated, problems: [...assessment.details] },
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (isDate(a) && isDate(b)) return a.getTime() === b.getTime();
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Rebuilds the document as it was before a conversion, from the document now and what the
 * ledger kept: used to re-plan a unit that an interrupted run half migrated. Pure.
 */
export function restoreLegacy(doc: LegacyDocument, legacy: { readonly before: Readonly<Record<string, unknown>>; readonly absent: readonly string[] }): LegacyDocument {
  const restored: Record<string, unknown> = { ...doc, ...legacy.before };
  for (const name of legacy.absent) delete restored[name];
  return restored as LegacyDocument;
}

/** The outcome of planning one unit (a parent and its children). */
export type UnitPlan =
  | { readonly outcome: 'migrate'; readonly conversions: readonly LegacyConversion[]; readonly lenient: readonly string[] }
  | { readonly outcome: 'skipped'; readonly reasons: readonly AttentionReason[]; readonly details: readonly string[] }
  | { readonly outcome: 'attention'; readonly reasons: readonly AttentionReason[]; readonly details: readonly string[] };

/**
 * Decides a unit: a processing parent is skipped; a processing child in a parent that is not,
 * or any document that cannot be explained, leaves the unit untouched (unless `lenient`, for
 * the latter); otherwise every legacy document of the unit is converted. All from the legacy
 * values, so planning again after an interruption gives the same plan. Pure.
 */
export function planUnit(
  parent: LegacyDocument,
  children: readonly LegacyDocument[],
  options: { readonly lenient: boolean; readonly parentKind: string },
): UnitPlan {
  const parentAssessment = assessLegacy(parent);
  if (parentAssessment.processing) {
    return { outcome: 'skipped', reasons: [AttentionReason.PARENT_PROCESSING], details: [`${parent._id}: ${String(parent['tasks_status'])} / ${String(parent['process_status'] ?? null)}`] };
  }
  const childAssessments = children.map(assessLegacy);
  const processingChild = childAssessments.find((assessment) => assessment.processing);
  if (processingChild !== undefined) {
    return { outcome: 'attention', reasons: [AttentionReason.CHILD_PROCESSING], details: [`the child ${processingChild.id} has status processing, but the parent ${parent._id} is not processing`] };
  }
  const all = [parentAssessment, ...childAssessments];
  const troubled = all.filter((assessment) => assessment.problems.length > 0);
  if (troubled.length > 0 && !options.lenient) {
    const reasons = [...new Set(troubled.flatMap((assessment) => assessment.problems))];
    return { outcome: 'attention', reasons, details: troubled.flatMap((assessment) => assessment.details.map((detail) => `${assessment.id}: ${detail}`)) };
  }
  const parentRef: ProcRef = { kind: options.parentKind, id: parent._id };
  return {
    outcome: 'migrate',
    conversions: [
      ...children.map((child, index) => convertLegacy(child, childAssessments[index] as LegacyAssessment, { lenient: options.lenient, parent: parentRef })),
      convertLegacy(parent, parentAssessment, { lenient: options.lenient, parent: null }),
    ],
    lenient: troubled.map((assessment) => assessment.id),
  };
}
