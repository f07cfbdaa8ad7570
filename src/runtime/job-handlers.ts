/**
 * What a worker does with a delivered job: start a pending call (or a batch of them), start a
 * parent's join, or record a time limit. Every start is a transition won by one ledger insert,
 * so a duplicate or late delivery starts nothing twice; it costs a point read of the record the
 * job names, one refused insert, and a point read of the record that won.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, ProcNotFoundError, UnknownProcessError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import type { ProcEvent } from '../../machines/proc-events.js';
import { ProcessStatus } from '../../machines/process-status.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import { assertProcId, assertSeq } from '../../persistence/validate.js';
import type { JsonValue, ProcessFunction } from '../define-kind.js';
import type { JobDelivery, ProcJob, RunBatchJob } from '../scheduler.js';
import type { ActiveRuns } from './active-run.js';
import type { Commit } from './commit.js';
import type { Effects } from './effects.js';
import type { Runner } from './execute-run.js';
import type { KindRegistry } from './kind-registry.js';
import type { RuntimeMetrics } from './metrics.js';
import { Slots } from './slots.js';

/** What {@link JobHandlers} works with. */
export interface JobHandlersOptions {
  readonly commit: Commit;
  readonly effects: Effects;
  readonly registry: KindRegistry;
  readonly runner: Runner;
  readonly runs: ActiveRuns;
  readonly metrics: RuntimeMetrics;
  /** Process functions (and joins) run at once by this runtime's jobs. */
  readonly concurrency: number;
}

/** The job handlers of one runtime. */
export class JobHandlers {
  readonly #commit: Commit;
  readonly #effects: Effects;
  readonly #registry: KindRegistry;
  readonly #runner: Runner;
  readonly #runs: ActiveRuns;
  readonly #metrics: RuntimeMetrics;
  readonly #slots: Slots;

  constructor(options: JobHandlersOptions) {
    this.#commit = options.commit;
    this.#effects = options.effects;
    this.#registry = options.registry;
    this.#runner = options.runner;
    this.#runs = options.runs;
    this.#metrics = options.metrics;
    this.#slots = new Slots(options.concurrency);
  }

  /** Handles one job; schedulers call it. @throws InvalidArgumentError for a malformed job. */
  async handle(job: ProcJob, delivery: JobDelivery): Promise<void> {
    if (typeof job !== 'object' || job === null) throw new InvalidArgumentError('A job must be an object.');
    switch (job.type) {
      case 'run': {
        const ref = this.#registry.ref(job.kind, job.id);
        assertProcId(job.callId);
        if (job.seq !== undefined) assertSeq(job.seq);
        await this.#slots.run(() => this.#start(ref, job, delivery));
        return;
      }
      case 'runs':
        return this.#startBatch(job, delivery);
      case 'join':
        return this.#slots.run(() => this.#join(this.#registry.ref(job.kind, job.id), delivery));
      case 'timeout': {
        const ref = this.#registry.ref(job.kind, job.id);
        assertProcId(job.runId);
        return this.#timeout(ref, job.runId, job.limit);
      }
      default:
        throw new InvalidArgumentError(`Unknown job type ${JSON.stringify((job as { type: unknown }).type)}.`);
    }
  }

  /**
   * Starts every run of a batch as slots free up, keeping the scheduler's lock on the job
   * meanwhile. The batch's children are taken on for their parent: while one of them is still to
   * end here, the others need not check the parent's join (see {@link ActiveRuns.runsChildOf}).
   */
  async #startBatch(job: RunBatchJob, delivery: JobDelivery): Promise<void> {
    const { kind, runs: batch, parent } = job;
    this.#registry.kind(kind);
    if (!Array.isArray(batch) || batch.length === 0) throw new InvalidArgumentError('A batch job needs a non-empty list of runs.');
    if (parent !== undefined) this.#registry.ref(parent.kind, parent.id);
    const runs = batch.map((run) => {
      if (typeof run !== 'object' || run === null) throw new InvalidArgumentError('Each run of a batch must be an object.');
      assertProcId(run.callId);
      if (run.seq !== undefined) assertSeq(run.seq);
      return { ref: this.#registry.ref(kind, run.id), run };
    });
    const keepAlive =
      delivery.keepAliveMs !== undefined && delivery.touch !== undefined
        ? setInterval(() => void delivery.touch?.().catch(() => undefined), delivery.keepAliveMs)
        : undefined;
    keepAlive?.unref();
    if (parent !== undefined) this.#runs.takeOn(parent, runs.map(({ ref }) => ref));
    try {
      // One run failing to start (a corrupt document, a database error) does not hold back the others.
      const settled = await Promise.allSettled(
        runs.map(async ({ ref, run }) => {
          try {
            await this.#slots.run(() => this.#start(ref, run, delivery));
          } finally {
            // A child that did not end here (its start was refused, its run was fenced, it
            // failed to start) makes the check its end would have made, so that no sibling that
            // skipped its own check for it is left waiting.
            if (parent !== undefined && this.#runs.isTakenOn(parent, ref)) await this.#effects.childEnded(parent, ref);
          }
        }),
      );
      const failed = settled.find((result) => result.status === 'rejected');
      if (failed?.status === 'rejected') throw failed.reason;
    } finally {
      if (keepAlive !== undefined) clearInterval(keepAlive);
    }
  }

  /** The state to decide a start on: the record the job names, or a load when it names none. */
  async #baseOf(ref: ProcRef, seq: number | undefined): Promise<StoredProc | undefined> {
    if (seq !== undefined) {
      const state = await this.#commit.ledger.stateAt(ref, seq);
      if (state === 'deleted') return undefined;
      // A record trimmed by retention (or a job from before the record existed): load instead.
      if (state !== undefined) return state;
    }
    return this.#commit.load(ref);
  }

  /**
   * Starts and runs one pending call. From the moment its record is read, a child is taken on for
   * its parent (its siblings ending meanwhile leave the join check to it), and it makes that check
   * whether it runs or not.
   */
  async #start(ref: ProcRef, job: { readonly callId: string; readonly seq?: number | undefined }, delivery: JobDelivery): Promise<void> {
    const base = await this.#baseOf(ref, job.seq);
    if (base === undefined) return;
    const parent = base.state.context.parent;
    if (parent === null) return this.#startRead(ref, base, job, delivery);
    this.#runs.takeOn(parent, [ref]);
    try {
      await this.#startRead(ref, base, job, delivery);
    } finally {
      if (this.#runs.isTakenOn(parent, ref)) await this.#effects.childEnded(parent, ref);
    }
  }

  async #startRead(ref: ProcRef, base: StoredProc, job: { readonly callId: string }, delivery: JobDelivery): Promise<void> {
    const entry = this.#registry.kind(ref.kind);
    const processName = base.state.context.call?.process;
    const definition = processName === undefined ? undefined : entry.processes.get(processName);
    const runId = randomUUID();
    const leaseMs = this.#registry.leaseFor(ref.kind, definition);
    const outcome = await this.#commit.transition(
      ref,
      () => ({
        type: 'worker.started',
        call_id: job.callId,
        run_id: runId,
        worker: this.#commit.worker,
        job_id: delivery.jobId,
        lease_ms: leaseMs,
        at: this.#commit.iso(),
      }),
      // The function runs next: its first write (or its end) can share the start's document copy.
      { base, runId, copyInBackground: true },
    );
    // A rejected start is a duplicate or late delivery: another worker owns the call.
    if (!outcome.accepted) return this.#metrics.startRefused(ref.kind);
    await this.#effects.perform(outcome);
    const call = outcome.proc.state.context.call;
    if (call === null) return;
    const resolved = entry.processes.get(call.process);
    const fn: ProcessFunction<any> =
      resolved === undefined || resolved.local
        ? () => {
            throw new UnknownProcessError(ref.kind, call.process, 'is not a worker process of this kind on this worker');
          }
        : resolved.run;
    await this.#runner.execute(
      outcome.proc,
      runId,
      { fn, process: call.process, args: JSON.parse(call.args) as JsonValue, joining: false, local: false, leaseMs, softTimeoutMs: resolved?.softTimeoutMs },
      delivery,
    );
  }

  async #join(ref: ProcRef, delivery: JobDelivery): Promise<void> {
    const current = await this.#commit.load(ref);
    if (current === undefined || current.state.status !== ProcessStatus.WAITING_FOR_RESULT) return this.#metrics.joinAttempt(ref.kind, 'not_waiting');
    const processing = await this.#effects.processingChildren(ref);
    if (processing > 0) return this.#metrics.joinAttempt(ref.kind, 'children_processing');
    const entry = this.#registry.kind(ref.kind);
    const call = current.state.context.call;
    const definition = call === null ? undefined : entry.processes.get(call.process);
    const runId = randomUUID();
    const leaseMs = this.#registry.leaseFor(ref.kind, definition);
    const outcome = await this.#commit.transition(
      ref,
      () => ({ type: 'join.started', run_id: runId, worker: this.#commit.worker, processing_children: processing, lease_ms: leaseMs, at: this.#commit.iso() }),
      { base: current, runId },
    );
    // Refused: another worker's join job started it first (or a call or reset came between).
    this.#metrics.joinAttempt(ref.kind, outcome.accepted ? 'started' : 'refused');
    if (!outcome.accepted) return;
    await this.#effects.perform(outcome);
    await this.#runner.execute(
      outcome.proc,
      runId,
      {
        fn: entry.definition.join ?? (() => undefined),
        process: call?.process ?? '',
        args: call === null ? null : (JSON.parse(call.args) as JsonValue),
        joining: true,
        local: false,
        leaseMs,
        softTimeoutMs: definition?.softTimeoutMs,
      },
      delivery,
    );
  }

  async #timeout(ref: ProcRef, runId: string, limit: 'soft' | 'hard'): Promise<void> {
    if (limit !== 'soft' && limit !== 'hard') throw new InvalidArgumentError(`A timeout's limit must be soft or hard, got ${JSON.stringify(limit)}.`);
    const outcome = await this.#commit
      .transition(
        ref,
        (): ProcEvent =>
          limit === 'hard' ? { type: 'run.timed_out', run_id: runId, at: this.#commit.iso() } : { type: 'run.soft_timed_out', run_id: runId, at: this.#commit.iso() },
        { runId: null },
      )
      .catch((error: unknown) => {
        if (error instanceof ProcNotFoundError) return undefined;
        throw error;
      });
    if (outcome === undefined || !outcome.accepted) return;
    const active = this.#runs.get(runId);
    if (limit === 'hard') active?.fence('its hard time limit passed');
    else if (active !== undefined) await active.heartbeat();
    await this.#effects.perform(outcome);
  }
}
