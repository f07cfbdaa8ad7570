/**
 * One run holding a proc in RUNNING: its lease, its fencing, and its serialized writes; and the
 * registry of the runs this runtime holds.
 *
 * Every write of the run is a transition based on the latest sequence number the run knows.
 * A conflict means someone else wrote: the commit step decides again on the winner's state, and
 * the machine's guards decide whether the run still holds the proc (a queued call or a soft
 * timeout leaves it in place; a reset, a stop or a lost-worker failure does not). A heartbeat
 * renews the lease and looks for foreign records, so a fenced run learns it even while idle.
 * The renewal does not queue behind the run's writes (a write slowed down by the database must
 * not starve the lease that lets it land), nor behind the scheduler's lock extension, and a late
 * renewal is followed by the next as soon as it is due. Renewals of different runs share round trips.
 */
import { RunFencedError, SoftTimeLimitExceeded, WorkerShutdown } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import type { ProcEvent } from '../../machines/proc-events.js';
import { GroupCommit } from '../../persistence/group-commit.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { LeaseRecord } from '../../persistence/records.js';
import type { JobDelivery } from '../scheduler.js';
import type { AcceptedOutcome, Commit } from './commit.js';
import { reportError, type RuntimeLogger } from './logger.js';
import type { RuntimeMetrics } from './metrics.js';

/** Fraction of the lease after which the holder stops writing, leaving room for clock skew. */
const SAFETY_FRACTION = 0.1;
const MAX_SAFETY_MS = 5_000;
/** Most lease renewals sent in one round trip. */
const MAX_LEASE_BATCH = 256;
/** Why a run fences itself; the one reason that is not another writer's doing. */
const LEASE_EXPIRED = 'its lease expired before it was renewed';

/** Options of one run. */
export interface RunOptions {
  readonly leaseMs: number;
  readonly delivery?: JobDelivery | undefined;
  readonly softTimeoutMs?: number | undefined;
}

/** The runs this runtime holds, and what they share: the lease writes. */
export class ActiveRuns {
  readonly #runs = new Map<string, ActiveRun>();
  /** Per parent: the children of batch jobs this runtime took on and has not finished starting or running. */
  readonly #takenOn = new Map<string, Set<string>>();
  readonly #commit: Commit;
  readonly #store: ProcStore;
  readonly #logger: RuntimeLogger;
  readonly #metrics: RuntimeMetrics;
  readonly #leases: GroupCommit<LeaseRecord, void>;

  constructor(options: { readonly commit: Commit; readonly store: ProcStore; readonly logger: RuntimeLogger; readonly metrics: RuntimeMetrics }) {
    this.#commit = options.commit;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#leases = new GroupCommit<LeaseRecord, void>(async (leases) => {
      await options.store.writeLeases(leases);
      return leases.map(() => undefined);
    }, MAX_LEASE_BATCH);
  }

  /** How many runs this runtime holds. */
  get size(): number {
    return this.#runs.size;
  }

  /** True when this runtime holds the run. */
  has(runId: string): boolean {
    return this.#runs.has(runId);
  }

  /** The run, when this runtime holds it. */
  get(runId: string): ActiveRun | undefined {
    return this.#runs.get(runId);
  }

  /** Registers and begins a run (its heartbeat starts). */
  begin(proc: StoredProc, runId: string, options: RunOptions): ActiveRun {
    const run = new ActiveRun(
      {
        commit: this.#commit,
        store: this.#store,
        logger: this.#logger,
        metrics: this.#metrics,
        writeLease: (lease) => this.#leases.submit(lease),
        ended: () => this.#runs.delete(runId),
      },
      proc,
      runId,
      options,
    );
    this.#runs.set(runId, run);
    run.begin();
    return run;
  }

  /**
   * Notes that this runtime took on a batch of the parent's children: each makes the join check
   * its end calls for here ({@link ActiveRuns.release} as part of it), whether it ran here or not.
   */
  takeOn(parent: ProcRef, children: readonly ProcRef[]): void {
    const key = parentKey(parent);
    let taken = this.#takenOn.get(key);
    if (taken === undefined) this.#takenOn.set(key, (taken = new Set()));
    for (const child of children) taken.add(childKey(child));
  }

  /** True while a child taken on with {@link ActiveRuns.takeOn} has not made its join check. */
  isTakenOn(parent: ProcRef, child: ProcRef): boolean {
    return this.#takenOn.get(parentKey(parent))?.has(childKey(child)) === true;
  }

  /** A child taken on makes its join check now: it no longer holds its siblings' checks back. */
  release(parent: ProcRef, child: ProcRef): void {
    const key = parentKey(parent);
    const taken = this.#takenOn.get(key);
    taken?.delete(childKey(child));
    if (taken?.size === 0) this.#takenOn.delete(key);
  }

  /**
   * True while this runtime still has a child of `parent` other than `except` to end: one it runs
   * (that has not recorded its end) or one of a batch it took on. That child tries the parent's
   * join once it ends, so `except` need not.
   */
  runsChildOf(parent: ProcRef, except: ProcRef): boolean {
    const taken = this.#takenOn.get(parentKey(parent));
    if (taken !== undefined && (taken.size > 1 || !taken.has(childKey(except)))) return true;
    // (A child releases itself before it asks, so the two ends of siblings that end together
    // cannot both see the other: the second to ask sees the first gone.)
    for (const run of this.#runs.values()) {
      if (run.ref.kind === except.kind && run.ref.id === except.id) continue;
      const { status, context } = run.proc.state;
      if (status === 'RUNNING' && context.parent?.kind === parent.kind && context.parent.id === parent.id) return true;
    }
    return false;
  }

  /** Fences this runtime's run of a proc that was reset or stopped from here. */
  fenceLocal(previous: StoredProc, reason: string): void {
    const runId = previous.state.context.run?.id;
    if (runId !== undefined) this.#runs.get(runId)?.fence(reason);
  }

  /** Aborts every run's signal: the worker shuts down. */
  shutdownAll(): void {
    for (const run of this.#runs.values()) run.shutdown();
  }
}

function parentKey(ref: ProcRef): string {
  return `${ref.kind}\u0000${ref.id}`;
}

const childKey = parentKey;

interface RunDependencies {
  readonly commit: Commit;
  readonly store: ProcStore;
  readonly logger: RuntimeLogger;
  readonly metrics: RuntimeMetrics;
  readonly writeLease: (lease: LeaseRecord) => Promise<void>;
  readonly ended: () => void;
}

/** A run in progress. Internal. */
export class ActiveRun {
  readonly ref: ProcRef;
  readonly runId: string;
  /** Made when the function first asks for its signal: most never do. */
  #controller: AbortController | undefined;
  /** Why the run's signal aborts (or will, once made): fenced, shut down, soft time limit. */
  #abortReason: Error | undefined;
  readonly #deps: RunDependencies;
  readonly #leaseMs: number;
  readonly #safetyMs: number;
  readonly #delivery: JobDelivery | undefined;
  readonly #softTimeoutMs: number | undefined;
  #proc: StoredProc;
  #deadline: number;
  #fenced: RunFencedError | undefined;
  #softTimedOut = false;
  #leaseWritten = false;
  #renewal: Promise<void> | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #checking = false;
  #touching = false;
  #pendingWarnings: string[] = [];
  readonly #errors: string[] = [];

  constructor(deps: RunDependencies, proc: StoredProc, runId: string, options: RunOptions) {
    this.#deps = deps;
    this.ref = proc.ref;
    this.#proc = proc;
    this.runId = runId;
    this.#leaseMs = options.leaseMs;
    this.#safetyMs = Math.min(MAX_SAFETY_MS, Math.floor(options.leaseMs * SAFETY_FRACTION));
    this.#delivery = options.delivery;
    this.#softTimeoutMs = options.softTimeoutMs;
    this.#deadline = performance.now() + this.#leaseMs - this.#safetyMs;
  }

  /** Aborted when the run must stop; made on first use, aborted at once when it already must. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** The first reason wins, as with AbortController itself. */
  #abort(reason: Error): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** The proc as of the run's last write or check. */
  get proc(): StoredProc {
    return this.#proc;
  }

  /** Set once the run may no longer write. */
  get fenced(): RunFencedError | undefined {
    return this.#fenced;
  }

  /** True once the soft time limit was reported. */
  get softTimedOut(): boolean {
    return this.#softTimedOut;
  }

  /** Errors recorded without throwing. */
  get recordedErrors(): readonly string[] {
    return this.#errors;
  }

  /**
   * Starts the heartbeat: a renewal every third of the lease, timed from when the previous one
   * began. A renewal that is late does not cost the next one its turn (a fixed interval would let
   * the tick that falls inside a slow renewal pass without renewing, leaving the next renewal too
   * little of the lease to land in); the next one follows as soon as it is due.
   */
  begin(): void {
    this.#scheduleRenewal(this.#renewEveryMs());
  }

  #renewEveryMs(): number {
    return Math.max(10, Math.floor(this.#leaseMs / 3));
  }

  #scheduleRenewal(delayMs: number): void {
    if (this.#ended) return;
    this.#timer = setTimeout(() => void this.#beat(), delayMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const began = performance.now();
    await this.#renew().catch((error: unknown) => reportError(this.#deps.logger, error, `renewing the lease of ${this.ref.kind} ${this.ref.id}`));
    this.#scheduleRenewal(Math.max(0, this.#renewEveryMs() - (performance.now() - began)));
    // Serialized with the run's writes, so it may wait behind a slow one; the renewals do not.
    if (!this.#checking) {
      this.#checking = true;
      void this.#lookForForeignRecords()
        .catch((error: unknown) => reportError(this.#deps.logger, error, `heartbeat of ${this.ref.kind} ${this.ref.id}`))
        .finally(() => {
          this.#checking = false;
        });
    }
  }

  /** Stops the heartbeat, removes the lease record (if one was written) and leaves the registry. */
  async end(): Promise<void> {
    this.#ended = true;
    this.#deps.ended();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#chain.catch(() => undefined);
    // A renewal still in flight would write the lease record again after it was removed.
    await this.#renewal?.catch(() => undefined);
    if (this.#leaseWritten) await this.#deps.store.deleteLease(this.ref, this.runId).catch(() => undefined);
  }

  /** Queues a warning for the next write. */
  warn(message: string): void {
    this.#pendingWarnings.push(message);
  }

  /** Records an error without stopping the run. */
  recordError(message: string): void {
    this.#errors.push(message);
  }

  /** Takes the warnings not yet written. */
  takeWarnings(): string[] {
    const warnings = this.#pendingWarnings;
    this.#pendingWarnings = [];
    return warnings;
  }

  /** Throws `RunFencedError` when the run may no longer write. */
  assertLive(): void {
    if (this.#fenced !== undefined) throw this.#fenced;
    if (performance.now() > this.#deadline) {
      this.fence(LEASE_EXPIRED);
      throw this.#fenced as unknown as RunFencedError;
    }
  }

  /** Marks the run as fenced and aborts its signal. */
  fence(reason: string): void {
    if (this.#fenced !== undefined) return;
    this.#fenced = new RunFencedError(this.ref.kind, this.ref.id, this.runId, reason);
    // A heartbeat check queued behind the run's last write can still fence it once it ended:
    // that run recorded its end, and lost nothing.
    if (!this.#ended) this.#deps.metrics.fenced(this.ref.kind, reason === LEASE_EXPIRED ? 'lease_expired' : 'moved_on');
    this.#abort(this.#fenced);
  }

  /** Aborts the run's signal because its worker shuts down. */
  shutdown(): void {
    this.#abort(new WorkerShutdown());
  }

  /**
   * Writes one event of the run, serialized with its other writes and its heartbeat.
   * @throws RunFencedError when the run no longer holds the proc.
   */
  async write(build: (runId: string) => ProcEvent): Promise<AcceptedOutcome> {
    return this.#serialize(async () => {
      this.assertLive();
      const outcome = await this.#deps.commit.transition(this.ref, () => build(this.runId), { base: this.#proc, runId: this.runId });
      if (!outcome.accepted) {
        this.#adopt(outcome.proc);
        this.fence(`the proc moved on to ${outcome.proc.state.status} (${outcome.reason})`);
        throw this.#fenced as unknown as RunFencedError;
      }
      this.#adopt(outcome.proc, true);
      return outcome;
    });
  }

  /** Renews the lease, extends the scheduler's lock and looks for records written by others. */
  async heartbeat(): Promise<void> {
    await this.#renew();
    await this.#lookForForeignRecords();
  }

  /** Adopts what another writer recorded since the run's last write; fences the run when it moved the proc on. */
  #lookForForeignRecords(): Promise<void> {
    return this.#serialize(async () => {
      if (this.#fenced !== undefined) return;
      const foreign = await this.#deps.commit.ledger.recordAt(this.ref, this.#proc.seq + 1);
      if (foreign !== undefined) {
        const latest = await this.#deps.commit.load(this.ref);
        if (latest === undefined) this.fence('the proc was deleted');
        else this.#adopt(latest);
      }
    });
  }

  /** Extends the scheduler's lock, one touch at a time, outside the renewal's path. */
  #touch(): void {
    const touch = this.#delivery?.touch;
    if (touch === undefined || this.#touching) return;
    this.#touching = true;
    // The scheduler's lock only saves a redelivery; the lease is what fences, so a slow or
    // failed touch must not hold back (or fail) a renewal.
    void touch()
      .catch((error: unknown) => reportError(this.#deps.logger, error, `extending the scheduler's lock on ${this.ref.kind} ${this.ref.id}`))
      .finally(() => {
        this.#touching = false;
      });
  }

  /** One renewal at a time; a heartbeat that finds one in flight waits for it instead. */
  #renew(): Promise<void> {
    if (this.#renewal !== undefined) return this.#renewal;
    if (this.#fenced !== undefined) return Promise.resolve();
    if (performance.now() > this.#deadline) {
      this.fence(LEASE_EXPIRED);
      return Promise.resolve();
    }
    const renewal = (async () => {
      const now = this.#deps.commit.now();
      const started = performance.now();
      const written = this.#deps.writeLease({
        kind: this.ref.kind,
        proc: this.ref.id,
        run_id: this.runId,
        holder: this.#deps.commit.worker,
        expires_at: new Date(now.getTime() + this.#leaseMs),
        renewed_at: now,
      });
      await this.#deps.metrics.leaseRenewal(this.ref.kind, written);
      this.#leaseWritten = true;
      this.#deadline = started + this.#leaseMs - this.#safetyMs;
      this.#touch();
    })().finally(() => {
      this.#renewal = undefined;
    });
    this.#renewal = renewal;
    return renewal;
  }

  #adopt(proc: StoredProc, own = false): void {
    this.#proc = proc;
    const run = proc.state.context.run;
    if (proc.state.status !== 'RUNNING' || run?.id !== this.runId) {
      if (!own) this.fence(`the proc moved on to ${proc.state.status}`);
      return;
    }
    if (run.soft_timeout_at !== null && !this.#softTimedOut) {
      this.#softTimedOut = true;
      this.#abort(new SoftTimeLimitExceeded(this.#softTimeoutMs ?? 0));
    }
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(task, task);
    this.#chain = result.catch(() => undefined);
    return result;
  }
}
