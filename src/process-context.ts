/**
 * What a process function (or a join) receives: its arguments, an abort signal, and the
 * operations of its run. Every write goes through the run, which holds the proc's lease: once
 * the lease is gone or someone else moved the proc on, each of them throws `RunFencedError`.
 */
import { STATUSES_PROCESSING } from '../machines/process-status.js';
import type { StatusCounts, StoredDocument } from '../persistence/records.js';
import type { JsonValue, KindDefinition } from './define-kind.js';
import type { CallArguments, ChildStartOf, KindNameOf, KindOf, NewFieldsOf, ProcessNameOf, ArgumentsOf } from './kind-types.js';
import type { ProcSnapshot } from './proc-snapshot.js';

/** Counts of a parent's children, as NOMAD's upload view shows them. */
export interface ChildCounts {
  /** All children. */
  readonly total: number;
  /** Children by status. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Children in SUCCESS or FAILURE. */
  readonly processed: number;
  /** Children in FAILURE. */
  readonly failed: number;
  /** Children in PENDING, RUNNING or WAITING_FOR_RESULT. */
  readonly processing: number;
}

/** The counts NOMAD's upload view shows, from children counted by status. Pure. */
export function childCountsOf(byStatus: StatusCounts): ChildCounts {
  const sum = (statuses: readonly (keyof StatusCounts)[]) => statuses.reduce((total, status) => total + byStatus[status], 0);
  return {
    total: sum(Object.keys(byStatus) as (keyof StatusCounts)[]),
    byStatus,
    processed: byStatus.SUCCESS + byStatus.FAILURE,
    failed: byStatus.FAILURE,
    processing: sum(STATUSES_PROCESSING),
  };
}

/** A child to start with {@link ProcessContext.startChildren}. */
export interface ChildStart {
  /** The child's id. */
  readonly id: string;
  /** The process to call on it. */
  readonly process: string;
  /** The call's arguments. */
  readonly args?: JsonValue | undefined;
  /** User fields for a child that does not exist yet. */
  readonly fields?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The context of one run of a process function or of a kind's join. `TArgs` is the process's
 * argument type; `TChildren` the kind's child kinds (its `children`), which the child
 * operations accept with their processes and argument types; `TFields` its documents' fields.
 */
export interface ProcessContext<TArgs = JsonValue, TChildren extends readonly KindDefinition[] = readonly KindDefinition[], TFields = Readonly<Record<string, unknown>>> {
  /** The proc's kind. */
  readonly kind: string;
  /** The proc's id. */
  readonly id: string;
  /** The process being run (for a join: the process that waited). */
  readonly process: string;
  /** The call's arguments, as JSON. */
  readonly args: TArgs;
  /** True when this run executes the kind's `join`. */
  readonly joining: boolean;
  /**
   * Aborted when the run must stop: its soft time limit passed, it was fenced (lease lost,
   * proc reset or stopped), or the worker shuts down. `signal.reason` says which.
   */
  readonly signal: AbortSignal;
  /** The proc as of the run's last write. */
  readonly proc: ProcSnapshot;
  /** Records the current step (also shown as the status message); persisted at once. */
  setStep(step: string): Promise<void>;
  /** Records a status message without changing the step; persisted at once. */
  setStatusMessage(message: string): Promise<void>;
  /** Records a warning; persisted with the next write, or when the run ends. */
  warn(message: string): void;
  /** Records an error without stopping: the process then ends in FAILURE. */
  recordError(message: string): void;
  /** Persists pending warnings now. */
  flush(): Promise<void>;
  /** The proc's whole document, user fields included (undefined if it vanished). */
  document(): Promise<StoredDocument | undefined>;
  /**
   * This proc's own fields (its document's, procstate's left out), checked with the kind's
   * `fields` schema when it has one.
   * @throws InvalidFieldsError when they do not match it (the document is left as it is)
   * @throws ProcNotFoundError when the document vanished
   */
  fields(): Promise<TFields>;
  /** Creates a child proc of `childKind` under this proc. */
  createChild<N extends KindNameOf<TChildren>>(childKind: N, childId: string, fields?: NewFieldsOf<KindOf<TChildren, N>>): Promise<void>;
  /** Creates the child when it does not exist, then calls `process` on it; `fields` are for a child that does not exist yet. */
  startChild<N extends KindNameOf<TChildren>, P extends ProcessNameOf<KindOf<TChildren, N>>>(
    childKind: N,
    childId: string,
    process: P,
    ...rest: [...CallArguments<ArgumentsOf<KindOf<TChildren, N>, P>>, fields?: NewFieldsOf<KindOf<TChildren, N>>]
  ): Promise<void>;
  /**
   * {@link startChild} for many children, in chunks of `concurrency` (100 by default): each chunk
   * is created in one round of inserts and called in another, and its calls are dispatched
   * together (in jobs of up to `dispatchBatchSize` runs). Every child is checked before the
   * first is written. A chunk that cannot be written stops the fan-out there and fails this run,
   * even if the function catches the error: every child so far is absent or complete.
   */
  startChildren<N extends KindNameOf<TChildren>>(childKind: N, children: readonly ChildStartOf<KindOf<TChildren, N>>[], options?: { concurrency?: number }): Promise<void>;
  /** Creates a proc of any kind (e.g. a sibling under this proc's parent). */
  createProc(kind: string, id: string, options?: { readonly fields?: Readonly<Record<string, unknown>>; readonly parent?: string }): Promise<void>;
  /** Calls a process on any proc (queued behind a running process, as usual). */
  call(kind: string, id: string, process: string, args?: JsonValue): Promise<void>;
  /** Counts of this proc's children, over all child kinds or one. */
  childCounts(childKind?: KindNameOf<TChildren>): Promise<ChildCounts>;
}
