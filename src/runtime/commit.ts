/**
 * The commit step: decide with the pure machine, record with one ledger insert, and on a lost
 * race decide again on the winner's state. The one conflict-retry loop of the runtime.
 *
 * A caller that holds the latest record passes it as `base` and pays no read. A writer that
 * loses the race for sequence number s+1 reads that one record (a point read by key) and
 * decides again on it, rather than reloading the document and the ledger head; after a few
 * such steps it loads the proc properly, in case it is far behind.
 */
import { applyProcEvent, initialProcState, type RejectionReason } from '../../machines/apply-event.js';
import { PersistenceError, ProcNotFoundError, SyncFailureError, TransitionConflictError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import type { ProcEvent } from '../../machines/proc-events.js';
import type { ProcAction } from '../../machines/apply-event.js';
import type { AppendOptions, CreateResult, NewProc, ProcLedger, StoredProc } from '../../persistence/proc-ledger.js';
import { RecordCause } from '../../persistence/records.js';
import type { RuntimeMetrics } from './metrics.js';
import type { Notices } from './notices.js';
import { Turns } from './turns.js';

/** Outcome of a transition attempt. */
export type TransitionOutcome =
  | {
      readonly accepted: true;
      readonly proc: StoredProc;
      readonly previous: StoredProc;
      readonly actions: readonly ProcAction[];
      readonly event: ProcEvent;
      /** Settles once the document copy is written (or failed and was reported); never rejects. */
      readonly copied: Promise<void>;
    }
  | { readonly accepted: false; readonly proc: StoredProc; readonly reason: RejectionReason };

/** An accepted transition. */
export type AcceptedOutcome = TransitionOutcome & { readonly accepted: true };

/** Options of {@link Commit.transition}. */
export interface TransitionOptions {
  /** The state to decide on first, when the caller holds the latest record (saves the load). */
  readonly base?: StoredProc | undefined;
  /** The run whose lease the writer holds, recorded with the transition. */
  readonly runId: string | null;
  /**
   * Throw a `PersistenceError` after the transition was recorded when its document copy failed:
   * for callers whose next step counts procs by their documents (a fan-out before its parent
   * may join). @defaultValue false
   */
  readonly requireCopy?: boolean | undefined;
  /** Return once the record is inserted; the copy follows (see {@link AppendOptions.copyInBackground}). @defaultValue false */
  readonly copyInBackground?: boolean | undefined;
}

/**
 * A writer gives up with `SyncFailureError` (NOMAD's `ProcessSyncFailure`) only after this many
 * lost races *and* this long: on a server where one attempt takes tens of milliseconds, a burst
 * of writers from many runtimes on one proc outlasts a dozen quick attempts.
 */
const MIN_CONFLICT_ATTEMPTS = 12;
const CONFLICT_PATIENCE_MS = 5_000;
/** Records walked forward one at a time before a full load. */
const MAX_FORWARD_STEPS = 2;

/** The event's payload as recorded: without its type and time, and without undefined members. */
function payloadOf(event: ProcEvent): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  for (const key in event) {
    const value = (event as unknown as Record<string, unknown>)[key];
    if (key !== 'type' && key !== 'at' && value !== undefined) payload[key] = value;
  }
  return payload;
}

/** What one attempt of the loop decided. */
type Decision<T> = { readonly append: true; readonly write: (current: StoredProc) => Promise<T> } | { readonly append: false; readonly result: T };

/** Decides and records transitions for one runtime. */
export class Commit {
  readonly ledger: ProcLedger;
  readonly worker: string;
  readonly #notices: Notices;
  readonly #metrics: RuntimeMetrics;
  readonly #clock: () => Date;
  readonly #turns = new Turns();

  constructor(options: { readonly ledger: ProcLedger; readonly notices: Notices; readonly metrics: RuntimeMetrics; readonly worker: string; readonly clock: () => Date }) {
    this.ledger = options.ledger;
    this.worker = options.worker;
    this.#notices = options.notices;
    this.#metrics = options.metrics;
    this.#clock = options.clock;
  }

  /** The runtime's clock. */
  now(): Date {
    return this.#clock();
  }

  /** The runtime's clock as ISO 8601, as events carry it. */
  iso(): string {
    return this.#clock().toISOString();
  }

  /** The proc, checked against its ledger; undefined when it does not exist. */
  load(ref: ProcRef): Promise<StoredProc | undefined> {
    return this.ledger.load(ref);
  }

  /** The proc. @throws ProcNotFoundError */
  async mustLoad(ref: ProcRef): Promise<StoredProc> {
    const proc = await this.ledger.load(ref);
    if (proc === undefined) throw new ProcNotFoundError(ref.kind, ref.id);
    return proc;
  }

  /**
   * Applies the event `build` makes from the proc's current state and records it. A rejected
   * event changes nothing and comes back with its reason.
   * @throws ProcNotFoundError when the proc does not exist (or was deleted meanwhile).
   * @throws SyncFailureError after too many lost races in a row.
   */
  async transition(ref: ProcRef, build: (current: StoredProc) => ProcEvent, options: TransitionOptions): Promise<TransitionOutcome> {
    return this.#loop<TransitionOutcome>(ref, options.base, (current) => {
      const event = build(current);
      const result = applyProcEvent(current.state, event);
      if (!result.accepted) return { append: false, result: { accepted: false, proc: current, reason: result.reason } };
      return {
        append: true,
        write: async (base) => {
          let copyError: unknown;
          let copied: Promise<void> = Promise.resolve();
          const copy: AppendOptions = {
            copyInBackground: options.copyInBackground,
            copied: (done) => (copied = done),
            ...(options.requireCopy === true ? { onCopyFailure: (error: unknown) => (copyError = error) } : {}),
          };
          const next = await this.ledger.append(
            base,
            result.state,
            { cause: event.type, event: payloadOf(event), at: new Date(event.at), worker: this.worker, runId: options.runId },
            copy,
          );
          this.#notices.transitioned(base, next, event);
          this.#metrics.transitioned(base, next, event);
          if (copyError !== undefined) {
            throw new PersistenceError(`${ref.kind} ${ref.id} moved to ${next.state.status} (record ${next.seq}), but its document could not be written`, { kind: ref.kind, id: ref.id, cause: copyError });
          }
          return { accepted: true, proc: next, previous: base, actions: result.actions, event, copied };
        },
      };
    });
  }

  /**
   * Records that a run deleted its proc, as long as `holds` says the run still holds it.
   * @returns `deleted`, or the proc when it moved on first (the run is then fenced).
   */
  async deleteByRun(base: StoredProc, runId: string, holds: (current: StoredProc) => boolean): Promise<'deleted' | StoredProc> {
    return this.#loop<'deleted' | StoredProc>(base.ref, base, (current) => {
      if (!holds(current)) return { append: false, result: current };
      return {
        append: true,
        write: async (latest) => {
          const at = this.now();
          await this.ledger.appendDeleted(latest, { cause: RecordCause.DELETED, event: null, at, worker: this.worker, runId });
          this.#notices.deleted(latest, latest.seq + 1, at);
          this.#metrics.deleted(latest, at);
          return 'deleted';
        },
      };
    });
  }

  /** Creates a proc in READY. @throws ProcAlreadyExistsError, CorruptDocumentError */
  async create(ref: ProcRef, parent: ProcRef | null, init: Readonly<Record<string, unknown>>): Promise<StoredProc> {
    const at = this.now();
    const created = await this.ledger.create(ref, initialProcState(parent), { at, worker: this.worker, init });
    this.#notices.created(created, at);
    this.#metrics.created(created);
    return created;
  }

  /** Creates many procs in READY in few round trips (see {@link ProcLedger.createMany}). */
  async createMany(procs: ReadonlyArray<{ readonly ref: ProcRef; readonly parent: ProcRef | null; readonly init: Readonly<Record<string, unknown>> }>): Promise<CreateResult[]> {
    const at = this.now();
    const news: NewProc[] = procs.map(({ ref, parent, init }) => ({ ref, state: initialProcState(parent), init }));
    const results = await this.ledger.createMany(news, { at, worker: this.worker });
    for (const result of results) {
      if (result.status !== 'created') continue;
      this.#notices.created(result.proc, at);
      this.#metrics.created(result.proc);
    }
    return results;
  }

  /** The one loop: decide on the latest known state, write, and on a lost race move forward. */
  async #loop<T>(ref: ProcRef, base: StoredProc | undefined, decide: (current: StoredProc) => Decision<T>): Promise<T> {
    return this.#turns.run(`${ref.kind}\u0000${ref.id}`, () => this.#race(ref, base, decide));
  }

  async #race<T>(ref: ProcRef, base: StoredProc | undefined, decide: (current: StoredProc) => Decision<T>): Promise<T> {
    let current = base ?? (await this.mustLoad(ref));
    let forward = 0;
    const started = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      const decision = decide(current);
      if (!decision.append) return decision.result;
      try {
        return await decision.write(current);
      } catch (error) {
        if (!(error instanceof TransitionConflictError)) throw error;
      }
      this.#metrics.conflict(ref.kind);
      // Someone recorded current.seq + 1 first: that record is the state to decide on next.
      const winner = forward < MAX_FORWARD_STEPS ? await this.ledger.stateAt(ref, current.seq + 1) : undefined;
      if (winner === 'deleted') throw new ProcNotFoundError(ref.kind, ref.id);
      if (winner === undefined) {
        current = await this.mustLoad(ref);
        forward = 0;
      } else {
        current = winner;
        forward += 1;
      }
      if (attempt >= MIN_CONFLICT_ATTEMPTS && performance.now() - started >= CONFLICT_PATIENCE_MS) throw new SyncFailureError(ref.kind, ref.id, attempt);
      // Jittered back-off spreads writers that keep colliding on one proc. It stays short: a
      // writer that waited longer after each loss would lose to every newcomer.
      if (attempt > 2) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }
}
