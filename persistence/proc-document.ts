/**
 * Converts between a proc's machine state and the processing fields of its document, and
 * checks stored documents field by field: a hand-edited or foreign document gives a list of
 * problems, never a silently "fixed" state.
 */
import type {
  CurrentCall,
  CurrentRun,
  PersistedProcSnapshot,
  ProcContext,
  ProcessCall,
  ProcMachineState,
  ProcRef,
} from '../machines/proc-context.js';
import { PROC_MACHINE_ID, PROC_MACHINE_VERSION } from '../machines/machine-identity.js';
import { isProcessStatus } from '../machines/process-status.js';
import type { ProcDocumentFields, StoredDocument } from './records.js';

/** Fields of the tasks model that the datafix removes; their presence means "not migrated". */
export const LEGACY_FIELD_NAMES: readonly string[] = Object.freeze(['tasks', 'current_task', 'tasks_status']);

/**
 * The document fields for a machine state at a sequence number. Pure. The state's values are
 * shared, not copied: machine states are never changed in place (XState's `assign` makes new
 * ones), and a store serialises or freezes what it is given.
 */
export function encodeProcFields(state: ProcMachineState, seq: number): ProcDocumentFields {
  const { context } = state;
  return {
    process_status: state.status,
    current_process: context.current_process,
    current_process_step: context.current_process_step,
    last_status_message: context.last_status_message,
    errors: context.errors,
    warnings: context.warnings,
    complete_time: context.complete_time === null ? null : new Date(context.complete_time),
    worker_hostname: context.worker_hostname,
    job_id: context.job_id,
    queue: context.queue,
    sync_counter: seq,
    procstate: { machine: PROC_MACHINE_ID, machine_version: PROC_MACHINE_VERSION, call: context.call, run: context.run, parent: context.parent },
  };
}

/** Result of {@link decodeProcDocument}. */
export type DecodedDocument =
  /** A valid proc document. */
  | { readonly kind: 'proc'; readonly state: ProcMachineState; readonly seq: number; readonly machine: { id: string; version: number } }
  /** A document without any of procstate's fields: the user's own, not (yet) a proc. */
  | { readonly kind: 'plain' }
  /** A document procstate cannot explain; nothing may be written over it. */
  | { readonly kind: 'corrupt'; readonly problems: readonly string[] };

type Problems = string[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function stringOrNull(source: Record<string, unknown>, key: string, path: string, problems: Problems): string | null {
  if (!(key in source)) {
    problems.push(`missing field ${path}`);
    return null;
  }
  const value = source[key];
  if (value === null || typeof value === 'string') return value;
  problems.push(`${path} must be a string or null, got ${JSON.stringify(value)}`);
  return null;
}

function requiredString(source: Record<string, unknown>, key: string, path: string, problems: Problems): string {
  const value = source[key];
  if (typeof value === 'string') return value;
  problems.push(`${path} must be a string, got ${JSON.stringify(value)}`);
  return '';
}

function requiredBoolean(source: Record<string, unknown>, key: string, path: string, problems: Problems): boolean {
  const value = source[key];
  if (typeof value === 'boolean') return value;
  problems.push(`${path} must be a boolean, got ${JSON.stringify(value)}`);
  return false;
}

function stringList(source: Record<string, unknown>, key: string, problems: Problems): string[] {
  const value = source[key];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  problems.push(`${key} must be a list of strings, got ${JSON.stringify(value)}`);
  return [];
}

function decodeCall(value: unknown, path: string, problems: Problems): ProcessCall | null {
  if (!isRecord(value)) {
    problems.push(`${path} must be an object, got ${JSON.stringify(value)}`);
    return null;
  }
  return {
    id: requiredString(value, 'id', `${path}.id`, problems),
    process: requiredString(value, 'process', `${path}.process`, problems),
    args: requiredString(value, 'args', `${path}.args`, problems),
    blocking: requiredBoolean(value, 'blocking', `${path}.blocking`, problems),
    clear_queue_on_failure: requiredBoolean(value, 'clear_queue_on_failure', `${path}.clear_queue_on_failure`, problems),
    child: requiredBoolean(value, 'child', `${path}.child`, problems),
    called_at: requiredString(value, 'called_at', `${path}.called_at`, problems),
  };
}

function decodeCurrentCall(value: unknown, problems: Problems): CurrentCall | null {
  if (value === null) return null;
  const call = decodeCall(value, 'procstate.call', problems);
  if (call === null) return null;
  const source = value as Record<string, unknown>;
  return {
    ...call,
    local: requiredBoolean(source, 'local', 'procstate.call.local', problems),
    pending_since: requiredString(source, 'pending_since', 'procstate.call.pending_since', problems),
  };
}

function decodeRun(value: unknown, problems: Problems): CurrentRun | null {
  if (value === null) return null;
  if (!isRecord(value)) {
    problems.push(`procstate.run must be an object or null, got ${JSON.stringify(value)}`);
    return null;
  }
  const leaseMs = value['lease_ms'];
  if (typeof leaseMs !== 'number' || !Number.isSafeInteger(leaseMs) || leaseMs <= 0) {
    problems.push(`procstate.run.lease_ms must be a positive integer, got ${JSON.stringify(leaseMs)}`);
  }
  const softTimeout = value['soft_timeout_at'];
  if (softTimeout !== null && typeof softTimeout !== 'string') {
    problems.push(`procstate.run.soft_timeout_at must be a string or null, got ${JSON.stringify(softTimeout)}`);
  }
  return {
    id: requiredString(value, 'id', 'procstate.run.id', problems),
    started_at: requiredString(value, 'started_at', 'procstate.run.started_at', problems),
    lease_ms: typeof leaseMs === 'number' ? leaseMs : 0,
    join: requiredBoolean(value, 'join', 'procstate.run.join', problems),
    soft_timeout_at: typeof softTimeout === 'string' ? softTimeout : null,
  };
}

function decodeParent(value: unknown, problems: Problems): ProcRef | null {
  if (value === null) return null;
  if (!isRecord(value)) {
    problems.push(`procstate.parent must be an object or null, got ${JSON.stringify(value)}`);
    return null;
  }
  return {
    kind: requiredString(value, 'kind', 'procstate.parent.kind', problems),
    id: requiredString(value, 'id', 'procstate.parent.id', problems),
  };
}

/**
 * Reads the processing fields of a stored document, checking every one. Pure; never throws.
 */
export function decodeProcDocument(doc: StoredDocument): DecodedDocument {
  const legacy = LEGACY_FIELD_NAMES.filter((name) => name in doc);
  if (legacy.length > 0) {
    return {
      kind: 'corrupt',
      problems: [`legacy tasks-model fields (${legacy.join(', ')}): migrate it with \`procstate migrate\``],
    };
  }
  if (!('process_status' in doc) && !('sync_counter' in doc) && !('procstate' in doc)) return { kind: 'plain' };

  const problems: Problems = [];
  const status = doc['process_status'];
  if (!isProcessStatus(status)) problems.push(`process_status ${JSON.stringify(status)} is not one of the six statuses`);

  const seq = doc['sync_counter'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    problems.push(`sync_counter must be a positive integer, got ${JSON.stringify(seq)}`);
  }

  const bookkeeping = doc['procstate'];
  let machine = { id: '', version: 0 };
  let call: CurrentCall | null = null;
  let run: CurrentRun | null = null;
  let parent: ProcRef | null = null;
  if (!isRecord(bookkeeping)) {
    problems.push('missing procstate bookkeeping (was this document written by another program?)');
  } else {
    const machineId = bookkeeping['machine'];
    const machineVersion = bookkeeping['machine_version'];
    if (typeof machineId !== 'string' || typeof machineVersion !== 'number' || !Number.isSafeInteger(machineVersion)) {
      problems.push(`procstate.machine/machine_version are malformed: ${JSON.stringify([machineId, machineVersion])}`);
    } else {
      machine = { id: machineId, version: machineVersion };
    }
    call = decodeCurrentCall(bookkeeping['call'] ?? null, problems);
    run = decodeRun(bookkeeping['run'] ?? null, problems);
    parent = decodeParent(bookkeeping['parent'] ?? null, problems);
  }

  const completeTime = doc['complete_time'];
  if (!('complete_time' in doc)) problems.push('missing field complete_time');
  else if (completeTime !== null && !(completeTime instanceof Date && !Number.isNaN(completeTime.getTime()))) {
    problems.push(`complete_time must be a date or null, got ${JSON.stringify(completeTime)}`);
  }

  const queueValue = doc['queue'];
  const queue: ProcessCall[] = [];
  if (!Array.isArray(queueValue)) problems.push(`queue must be a list, got ${JSON.stringify(queueValue)}`);
  else queueValue.forEach((item, index) => {
    const call = decodeCall(item, `queue[${index}]`, problems);
    if (call !== null) queue.push(call);
  });

  const context: ProcContext = {
    current_process: stringOrNull(doc, 'current_process', 'current_process', problems),
    current_process_step: stringOrNull(doc, 'current_process_step', 'current_process_step', problems),
    last_status_message: stringOrNull(doc, 'last_status_message', 'last_status_message', problems),
    errors: stringList(doc, 'errors', problems),
    warnings: stringList(doc, 'warnings', problems),
    complete_time: completeTime instanceof Date && !Number.isNaN(completeTime.getTime()) ? completeTime.toISOString() : null,
    worker_hostname: stringOrNull(doc, 'worker_hostname', 'worker_hostname', problems),
    job_id: stringOrNull(doc, 'job_id', 'job_id', problems),
    queue,
    call,
    run,
    parent,
  };

  if (problems.length > 0 || !isProcessStatus(status) || typeof seq !== 'number') return { kind: 'corrupt', problems };
  return { kind: 'proc', state: { status, context }, seq, machine };
}

/** Stable JSON text with sorted keys, so equal states compare equal. Pure. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (isRecord(item)) {
      return Object.fromEntries(Object.keys(item).sort().map((key) => [key, item[key]]));
    }
    return item;
  });
}

/** The names of the fields in which two states differ (`process_status` or context keys). Pure. */
export function differingFields(a: ProcMachineState, b: ProcMachineState): string[] {
  const fields: string[] = [];
  if (a.status !== b.status) fields.push('process_status');
  const keys = new Set([...Object.keys(a.context), ...Object.keys(b.context)]);
  for (const key of keys) {
    const left = (a.context as unknown as Record<string, unknown>)[key];
    const right = (b.context as unknown as Record<string, unknown>)[key];
    if (canonicalJson(left) !== canonicalJson(right)) fields.push(key);
  }
  return fields;
}
