/**
 * The persisted shapes: the transition record (the ledger), the processing fields of a Proc
 * document (NOMAD's names), and lease records. Types only.
 */
import { randomUUID } from 'node:crypto';
import { persistedSnapshotOf } from '../machines/persisted-snapshot.js';
import { PROC_MACHINE_ID, PROC_MACHINE_VERSION } from '../machines/machine-identity.js';
import type {
  CurrentCall,
  CurrentRun,
  PersistedProcSnapshot,
  ProcessCall,
  ProcMachineState,
  ProcRef,
} from '../machines/proc-context.js';
import { PROCESS_STATUSES, type ProcessStatus } from '../machines/process-status.js';

/** Machine id and version stored with every snapshot. */
export interface MachineStamp {
  readonly id: string;
  readonly version: number;
}

/** Causes of ledger records that are not machine events. */
export const RecordCause = Object.freeze({
  CREATED: 'created',
  DELETED: 'deleted',
  MIGRATED: 'migrated',
} as const);

/**
 * One transition of one proc. Inserting it under its unique (kind, proc, seq) key is what
 * makes the transition happen; it carries the whole state after the transition, so the
 * proc document can always be rebuilt from it.
 */
export interface TransitionRecord {
  /** The proc's kind. */
  readonly kind: string;
  /** The proc's id. */
  readonly proc: string;
  /** Sequence number: 1 for the first record of a proc, then +1 per transition, no gaps. */
  readonly seq: number;
  /** Status before; null for the record that created the proc. */
  readonly from: ProcessStatus | null;
  /** Status after; null for the record that ends a deleted proc. */
  readonly to: ProcessStatus | null;
  /** The event type, or one of {@link RecordCause}. */
  readonly cause: string;
  /** The event's payload (without `type`), for the history. */
  readonly event: Readonly<Record<string, unknown>> | null;
  /** When the transition happened. */
  readonly at: Date;
  /** Host (and process) that wrote the record. */
  readonly worker: string | null;
  /** The run whose lease the writer held, if any. */
  readonly run_id: string | null;
  /** Random per write; lets a writer recognise its own record after an ambiguous failure. */
  readonly write_id: string;
  /** Machine that produced the snapshot. */
  readonly machine: MachineStamp;
  /** XState's persisted snapshot after the transition; null once deleted. */
  readonly snapshot: PersistedProcSnapshot | null;
  /** User fields given at creation, so a document lost during creation can be rebuilt. */
  readonly init?: Readonly<Record<string, unknown>> | undefined;
  /** Legacy values the datafix removed or replaced, kept so nothing is lost. */
  readonly legacy?: Readonly<Record<string, unknown>> | undefined;
}

/** Who writes a record, when, and why. */
export interface TransitionMeta {
  /** The event type, or a {@link RecordCause}. */
  readonly cause: string;
  /** The event's payload (without `type` and `at`), for the history. */
  readonly event: Readonly<Record<string, unknown>> | null;
  readonly at: Date;
  readonly worker: string | null;
  readonly runId: string | null;
}

/** What {@link transitionRecord} builds a record from. */
export interface TransitionRecordInput {
  readonly ref: ProcRef;
  readonly seq: number;
  /** The status before; null for a record that creates (or migrates) the proc. */
  readonly from: ProcessStatus | null;
  /** The state after; null for the record that ends a deleted proc. */
  readonly state: ProcMachineState | null;
  readonly meta: TransitionMeta;
  /** The user's fields of a new document, kept so a document lost during creation can be rebuilt. */
  readonly init?: Readonly<Record<string, unknown>> | undefined;
  /** Legacy values a migration removed or replaced. */
  readonly legacy?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The one builder of ledger records: the runtime's transitions, creations, deletions and the
 * datafix's migrations all come from here, with this build's machine stamp and a fresh
 * `write_id`. Pure but for the random id.
 */
export function transitionRecord(input: TransitionRecordInput): TransitionRecord {
  const { ref, seq, from, state, meta } = input;
  const record: { -readonly [K in keyof TransitionRecord]: TransitionRecord[K] } = {
    kind: ref.kind,
    proc: ref.id,
    seq,
    from,
    to: state?.status ?? null,
    cause: meta.cause,
    event: meta.event,
    at: meta.at,
    worker: meta.worker,
    run_id: meta.runId,
    write_id: randomUUID(),
    machine: { id: PROC_MACHINE_ID, version: PROC_MACHINE_VERSION },
    snapshot: state === null ? null : persistedSnapshotOf(state),
  };
  if (input.init !== undefined) record.init = input.init;
  if (input.legacy !== undefined) record.legacy = input.legacy;
  return record;
}

/** Bookkeeping procstate keeps under `procstate` on the document. */
export interface ProcstateSubdocument {
  readonly machine: string;
  readonly machine_version: number;
  readonly call: CurrentCall | null;
  readonly run: CurrentRun | null;
  readonly parent: ProcRef | null;
}

/**
 * The processing fields procstate writes on a Proc document, at top level with NOMAD's names.
 * Together they are the machine's persisted snapshot (value = `process_status`, context =
 * the other fields). The user's own fields are never part of it.
 */
export interface ProcDocumentFields {
  readonly process_status: ProcessStatus;
  readonly current_process: string | null;
  readonly current_process_step: string | null;
  readonly last_status_message: string | null;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  readonly complete_time: Date | null;
  readonly worker_hostname: string | null;
  readonly job_id: string | null;
  readonly queue: readonly ProcessCall[];
  /** The sequence number of the ledger record this document reflects. */
  readonly sync_counter: number;
  readonly procstate: ProcstateSubdocument;
}

/** Names of the top-level fields procstate owns on a Proc document. */
export const PROC_FIELD_NAMES: readonly string[] = Object.freeze([
  'process_status',
  'current_process',
  'current_process_step',
  'last_status_message',
  'errors',
  'warnings',
  'complete_time',
  'worker_hostname',
  'job_id',
  'queue',
  'sync_counter',
  'procstate',
]);

/** A stored document as the store returns it: `_id`, procstate's fields, the user's fields. */
export type StoredDocument = Readonly<Record<string, unknown>> & { readonly _id: string };

/**
 * A run's lease beyond its start: written only by the run's holder, to renew it. The start
 * record carries the first expiry, so short runs never write one.
 */
export interface LeaseRecord {
  readonly kind: string;
  readonly proc: string;
  readonly run_id: string;
  readonly holder: string;
  readonly expires_at: Date;
  readonly renewed_at: Date;
}

/** Number of procs in each status. */
export type StatusCounts = Record<ProcessStatus, number>;

/** Zero for every status. */
export function emptyStatusCounts(): StatusCounts {
  return Object.fromEntries(PROCESS_STATUSES.map((status) => [status, 0])) as StatusCounts;
}

/** Equality on one user field, e.g. the parent key of a child kind (`upload_id`). */
export interface FieldFilter {
  readonly field: string;
  readonly value: string;
}
