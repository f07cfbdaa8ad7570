/**
 * Telling the world about committed transitions: subscribers of this runtime, and, when the
 * runtime was given an inspection observer, the XState actors that mirror each proc for it.
 * Only ever called after a record was inserted: a notice is a fact, never an intention.
 */
import type { ProcRef } from '../../machines/proc-context.js';
import type { ProcEvent } from '../../machines/proc-events.js';
import type { ProcessStatus } from '../../machines/process-status.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import { RecordCause } from '../../persistence/records.js';
import { LiveInspection, type InspectionObserver } from '../inspection.js';
import { toProcSnapshot, type ProcSnapshot } from '../proc-snapshot.js';
import { reportError, type RuntimeLogger } from './logger.js';

/** A recorded transition, as subscribers see it (after it was committed). */
export interface TransitionNotice {
  /** The proc's kind. */
  readonly kind: string;
  /** The proc's id. */
  readonly id: string;
  /** The sequence number of the transition's ledger record. */
  readonly seq: number;
  /** The status before; null when the proc was created. */
  readonly from: ProcessStatus | null;
  /** Null when the proc deleted its object. */
  readonly to: ProcessStatus | null;
  /** The event type (`process.called`, `run.succeeded`, …), or `created` / `deleted`. */
  readonly cause: string;
  /** When the transition happened. */
  readonly at: Date;
  /** The runtime that recorded it (always this one: subscribers see only their runtime's transitions). */
  readonly worker: string;
  /** The proc after the transition; undefined once deleted. */
  readonly proc: ProcSnapshot | undefined;
}

/** The subscribers and inspection mirrors of one runtime. */
export class Notices {
  readonly #worker: string;
  readonly #logger: RuntimeLogger;
  readonly #listeners = new Set<(notice: TransitionNotice) => void>();
  readonly #inspection: LiveInspection | undefined;

  constructor(worker: string, logger: RuntimeLogger, inspect: InspectionObserver | undefined) {
    this.#worker = worker;
    this.#logger = logger;
    this.#inspection = inspect === undefined ? undefined : new LiveInspection(inspect);
  }

  /** Calls `listener` after every transition this runtime commits; returns the unsubscribe function. */
  subscribe(listener: (notice: TransitionNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A proc was created. */
  created(proc: StoredProc, at: Date): void {
    this.#emit(proc.ref, proc.seq, null, RecordCause.CREATED, at, proc);
    this.#inspection?.created(proc);
  }

  /** `event` moved the proc from `previous` to `next`. */
  transitioned(previous: StoredProc, next: StoredProc, event: ProcEvent): void {
    this.#emit(next.ref, next.seq, previous.state.status, event.type, new Date(event.at), next);
    this.#inspection?.transitioned(previous, next, event);
  }

  /** The proc deleted its object with record `seq`. */
  deleted(previous: StoredProc, seq: number, at: Date): void {
    this.#emit(previous.ref, seq, previous.state.status, RecordCause.DELETED, at, undefined);
    this.#inspection?.deleted(previous.ref.kind, previous.ref.id);
  }

  /** Stops the inspection mirrors. */
  stop(): void {
    this.#inspection?.stop();
  }

  #emit(ref: ProcRef, seq: number, from: ProcessStatus | null, cause: string, at: Date, proc: StoredProc | undefined): void {
    if (this.#listeners.size === 0) return;
    // The proc's view is built when a listener asks for it: most listeners (a waitFor) look at
    // the kind and id of every notice and at the proc of one.
    let view: ProcSnapshot | undefined;
    const notice: TransitionNotice = {
      kind: ref.kind,
      id: ref.id,
      seq,
      from,
      to: proc?.state.status ?? null,
      cause,
      at,
      worker: this.#worker,
      get proc() {
        if (proc === undefined) return undefined;
        view ??= toProcSnapshot(proc);
        return view;
      },
    };
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (error) {
        reportError(this.#logger, error, 'a transition listener');
      }
    }
  }
}
