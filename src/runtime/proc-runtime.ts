/**
 * The public commands of a runtime. Each one checks its input, then flows one way through the
 * modules below it: decide and record ({@link Commit}), then side effects ({@link Effects}),
 * never back up. `createProcRuntime` (create-proc-runtime.ts) builds the parts and this facade.
 */
import { randomUUID } from 'node:crypto';
import { ClosedError, InvalidArgumentError, InvalidTransitionError, ProcessAlreadyRunningError, UnknownProcessError } from '../../machines/errors.js';
import { ProcessResult, STATUSES_NOT_PROCESSING } from '../../machines/process-status.js';
import { StatusMessages } from '../../machines/status-messages.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import type { ProcStore, ReadTransitionsOptions } from '../../persistence/proc-store.js';
import type { StatusCounts, TransitionRecord } from '../../persistence/records.js';
import type { JsonValue } from '../define-kind.js';
import type { AnyKinds, ArgumentsOf, CallArguments, CallItemOf, KindNameOf, KindOf, NewFieldsOf, ProcessNameOf } from '../kind-types.js';
import type { ChildCounts } from '../process-context.js';
import { toProcSnapshot, type ProcSnapshot } from '../proc-snapshot.js';
import type { JobDelivery, ProcJob, Scheduler } from '../scheduler.js';
import { waitAtMost } from '../wait-at-most.js';
import type { ActiveRuns } from './active-run.js';
import type { BulkItemResult, CallItem, Calls, CreateItem, CreateOptions } from './calls.js';
import { countChildren } from './child-counts.js';
import type { Commit } from './commit.js';
import type { Effects } from './effects.js';
import type { Runner } from './execute-run.js';
import type { JobHandlers } from './job-handlers.js';
import type { KindRegistry } from './kind-registry.js';
import { reportError, type RuntimeLogger } from './logger.js';
import type { MetricsSnapshot, RuntimeMetrics } from './metrics.js';
import type { Notices, TransitionNotice } from './notices.js';
import type { Sweep, SweepReport } from './sweep.js';
import { exitProcess } from './exit-process.js';
import { assertText, clip, positive } from './texts.js';
import { waitFor, type WaitOptions } from './wait-for.js';

/** Options of {@link ProcRuntime.close}. */
export interface CloseOptions {
  /** Most time the sweep's last step and the scheduler's drain take together. @defaultValue 30000 ms */
  readonly drainTimeoutMs?: number | undefined;
  /**
   * End the process once everything is released (`process.exit()`, with `process.exitCode`,
   * after stdout and stderr are flushed). For scripts and services that ran Agenda jobs in this
   * process: Agenda arms a liveness check for every job it starts, a timer it neither clears nor
   * lets go of, which keeps the process alive for up to `max(pollMs, lockLifetimeMs) / 2` after
   * the last job started here (five minutes by default; docs/operations.md). Without Agenda, or
   * once that time has passed, the process ends by itself after `close()` and your own clients'.
   * @defaultValue false
   */
  readonly exit?: boolean | undefined;
}

/** What became of one proc of `createMany` or `callMany`: the proc, or the error it met. */
export type BulkResult = { readonly id: string; readonly ok: true; readonly proc: ProcSnapshot } | { readonly id: string; readonly ok: false; readonly error: Error };

/**
 * A running procstate runtime, typed by its kinds `K`: kind names, process names, arguments and
 * fields are checked by the compiler (given kinds made with `defineKind`; with plain
 * `KindDefinition`s every name is a string and every argument JSON). `ProcRuntime` without a
 * type argument is any runtime: every typed runtime is one.
 */
export interface ProcRuntime<K extends AnyKinds = any> {
  /** The store procs live in. */
  readonly store: ProcStore;
  /** The scheduler that runs processes. */
  readonly scheduler: Scheduler;
  /** This worker's name. */
  readonly worker: string;
  /**
   * Starts taking jobs from the scheduler and, unless turned off, the periodic sweep. From here
   * on every metric recorded is mirrored into OpenTelemetry, when `@opentelemetry/api` is installed.
   */
  start(): Promise<void>;
  /**
   * Stops the sweep, drains the scheduler, then aborts runs still going; the sweep's last step and
   * the drain together take at most `drainTimeoutMs` (default 30 s). With `exit`, then ends the
   * process (see {@link CloseOptions.exit}).
   */
  close(options?: CloseOptions): Promise<void>;
  /** Creates a proc in READY. @throws ProcAlreadyExistsError, UnknownKindError, InvalidArgumentError */
  create<N extends KindNameOf<K>>(kind: N, id: string, options?: CreateOptions<NewFieldsOf<KindOf<K, N>>>): Promise<ProcSnapshot>;
  /**
   * Creates many procs of one kind in a few round trips. Every item is checked first (a bad one
   * throws and nothing is written); a proc that exists is reported in its result, not created.
   */
  createMany<N extends KindNameOf<K>>(kind: N, items: readonly CreateItem<NewFieldsOf<KindOf<K, N>>>[]): Promise<BulkResult[]>;
  /** The proc. @throws ProcNotFoundError, CorruptDocumentError */
  get(kind: KindNameOf<K>, id: string): Promise<ProcSnapshot>;
  /** The proc, or undefined when it does not exist. @throws CorruptDocumentError */
  find(kind: KindNameOf<K>, id: string): Promise<ProcSnapshot | undefined>;
  /**
   * Calls a process: PENDING and dispatched when nothing is processing, else queued.
   * @throws ProcessAlreadyRunningError when a blocking process is current or queued.
   * @throws DispatchError when the scheduler refused the job (the proc is then FAILURE).
   * @throws InvalidArgumentError with the schema's issues when the process's `args` schema refuses them (nothing is recorded).
   */
  call<N extends KindNameOf<K>, P extends ProcessNameOf<KindOf<K, N>>>(kind: N, id: string, process: P, ...args: CallArguments<ArgumentsOf<KindOf<K, N>, P>>): Promise<ProcSnapshot>;
  /**
   * Calls processes on many procs of one kind; their jobs go out together, several runs to a
   * job. Every item is checked first (a bad one throws and nothing is written); a refused call
   * is reported in its result.
   */
  callMany<N extends KindNameOf<K>>(kind: N, items: readonly CallItemOf<KindOf<K, N>>[]): Promise<BulkResult[]>;
  /**
   * Runs a local process in the caller and returns its value.
   * @throws ProcessAlreadyRunningError when anything is processing; the process's own error when it fails.
   */
  runLocal<T = unknown>(kind: KindNameOf<K>, id: string, process: string, args?: JsonValue): Promise<T>;
  /** Resets to READY. @throws ProcessAlreadyRunningError while processing, unless `force`. */
  reset(kind: KindNameOf<K>, id: string, options?: { readonly force?: boolean }): Promise<ProcSnapshot>;
  /** Fails a processing proc on an operator's behalf (NOMAD's `uploads stop --kill`). */
  terminate(kind: KindNameOf<K>, id: string, options?: { readonly reason?: string }): Promise<ProcSnapshot>;
  /** Counts of a proc's children by status, from their documents (which follow each child's latest record by a moment). */
  childCounts(kind: KindNameOf<K>, id: string, childKind?: KindNameOf<K>): Promise<ChildCounts>;
  /** Counts of all procs of a kind by status. */
  countByStatus(kind: KindNameOf<K>): Promise<StatusCounts>;
  /** The proc's recorded transitions, oldest first. */
  history(kind: KindNameOf<K>, id: string, options?: ReadTransitionsOptions): Promise<TransitionRecord[]>;
  /**
   * Resolves once `predicate` holds for the proc; a proc that does not exist yet is waited for.
   * @throws WaitTimeoutError after `timeoutMs`.
   */
  waitFor(kind: KindNameOf<K>, id: string, predicate: (proc: ProcSnapshot) => boolean, options?: WaitOptions): Promise<ProcSnapshot>;
  /** Resolves once the proc is not processing (READY, SUCCESS or FAILURE). @throws WaitTimeoutError */
  waitForCompletion(kind: KindNameOf<K>, id: string, options?: WaitOptions): Promise<ProcSnapshot>;
  /** Calls `listener` after every transition this runtime commits; returns the unsubscribe function. */
  subscribe(listener: (notice: TransitionNotice) => void): () => void;
  /** Repairs documents, fails runs whose lease expired, re-sends or fails stuck calls, retries joins. */
  sweep(): Promise<SweepReport>;
  /** Handles one job; schedulers call it (`start` wires it up). */
  handleJob(job: ProcJob, delivery: JobDelivery): Promise<void>;
  /**
   * This runtime's metrics as plain data, cumulative since it was created: transitions, runs
   * by outcome, run durations, lease renewals, fenced runs, conflicts and join attempts (each
   * described in docs/metrics.md). Render them for Prometheus with `prometheusText`. Reads
   * nothing from the store.
   *
   * @example
   * ```ts
   * const runs = runtime.metrics().find((metric) => metric.name === 'procstate.runs');
   * ```
   */
  metrics(): MetricsSnapshot;
}

/** The parts a runtime is made of, built by `createProcRuntime`. */
export interface RuntimeParts {
  readonly store: ProcStore;
  readonly scheduler: Scheduler;
  readonly registry: KindRegistry;
  readonly notices: Notices;
  readonly commit: Commit;
  readonly effects: Effects;
  readonly calls: Calls;
  readonly runs: ActiveRuns;
  readonly runner: Runner;
  readonly jobs: JobHandlers;
  readonly sweep: Sweep;
  readonly logger: RuntimeLogger;
  readonly metrics: RuntimeMetrics;
  readonly sweepIntervalMs: number;
}

function bulk(results: ReadonlyArray<BulkItemResult<StoredProc>>): BulkResult[] {
  return results.map((result) => (result.ok ? { id: result.id, ok: true, proc: toProcSnapshot(result.value) } : { id: result.id, ok: false, error: result.error }));
}

/** The runtime facade. Internal: use `createProcRuntime`. */
export class Runtime {
  readonly store: ProcStore;
  readonly scheduler: Scheduler;
  readonly worker: string;
  readonly #parts: RuntimeParts;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(parts: RuntimeParts) {
    this.#parts = parts;
    this.store = parts.store;
    this.scheduler = parts.scheduler;
    this.worker = parts.commit.worker;
  }

  async start(): Promise<void> {
    if (this.#closed) throw new ClosedError('This runtime was closed; create a new one.');
    const { scheduler, sweepIntervalMs, logger, metrics } = this.#parts;
    // What is recorded before OpenTelemetry is loaded stays in memory only: no job runs before.
    await metrics.mirror();
    await scheduler.start((job, delivery) => this.handleJob(job, delivery));
    if (sweepIntervalMs > 0 && this.#sweepTimer === undefined) {
      this.#sweepTimer = setInterval(() => {
        void this.sweep().catch((error: unknown) => reportError(logger, error, 'sweep'));
      }, sweepIntervalMs);
      this.#sweepTimer.unref();
    }
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('close takes an options object.');
    const drainTimeoutMs = positive(options.drainTimeoutMs, 30_000, 'drainTimeoutMs', true);
    if (options.exit !== undefined && typeof options.exit !== 'boolean') throw new InvalidArgumentError(`exit must be true or false, got ${JSON.stringify(options.exit)}.`);
    this.#closed = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    const deadline = Date.now() + drainTimeoutMs;
    // The sweep stops at its next proc, but the step it is in may wait on a connection that is
    // cut off (no reset, no socket timeout): the drain timeout bounds that wait too.
    await waitAtMost(this.#parts.sweep.stop(), drainTimeoutMs);
    const still = await this.#parts.scheduler.drain(Math.max(0, deadline - Date.now()));
    if (still > 0 || this.#parts.runs.size > 0) this.#parts.runs.shutdownAll();
    this.#parts.notices.stop();
    if (options.exit === true) exitProcess();
  }

  async create(kind: string, id: string, options: CreateOptions = {}): Promise<ProcSnapshot> {
    return toProcSnapshot(await this.#parts.calls.create(kind, id, options));
  }

  async createMany(kind: string, items: readonly CreateItem[]): Promise<BulkResult[]> {
    if (!Array.isArray(items)) throw new InvalidArgumentError('createMany takes an array of items.');
    return bulk(await this.#parts.calls.createMany(kind, items));
  }

  async get(kind: string, id: string): Promise<ProcSnapshot> {
    return toProcSnapshot(await this.#parts.commit.mustLoad(this.#parts.registry.ref(kind, id)));
  }

  async find(kind: string, id: string): Promise<ProcSnapshot | undefined> {
    const proc = await this.#parts.commit.load(this.#parts.registry.ref(kind, id));
    return proc === undefined ? undefined : toProcSnapshot(proc);
  }

  async call(kind: string, id: string, process: string, args?: JsonValue): Promise<ProcSnapshot> {
    return toProcSnapshot(await this.#parts.calls.call(this.#parts.registry.ref(kind, id), process, args));
  }

  async callMany(kind: string, items: readonly CallItem[]): Promise<BulkResult[]> {
    if (!Array.isArray(items)) throw new InvalidArgumentError('callMany takes an array of items.');
    return bulk(await this.#parts.calls.callMany(kind, items));
  }

  async runLocal<T = unknown>(kind: string, id: string, process: string, args?: JsonValue): Promise<T> {
    const { registry, calls, commit, effects, runner } = this.#parts;
    const ref = registry.ref(kind, id);
    const definition = registry.process(kind, process);
    if (!definition.local) throw new UnknownProcessError(kind, process, 'is not a local process; call it with call');
    const call = await calls.newCall(kind, definition, args);
    const runId = randomUUID();
    const leaseMs = registry.leaseFor(kind, definition);
    const outcome = await commit.transition(ref, () => ({ type: 'process.called_locally', call, run_id: runId, lease_ms: leaseMs, at: commit.iso() }), { runId });
    if (!outcome.accepted) {
      if (outcome.reason === 'processing') throw new ProcessAlreadyRunningError(kind, id, 'Another process is running or waiting to run');
      throw new InvalidTransitionError(kind, id, outcome.proc.state.status, 'process.called_locally');
    }
    await effects.perform(outcome);
    const result = await runner.execute(outcome.proc, runId, {
      fn: definition.run,
      process,
      args: JSON.parse(call.args) as JsonValue,
      joining: false,
      local: true,
      leaseMs,
      softTimeoutMs: definition.softTimeoutMs,
    });
    switch (result.kind) {
      case 'succeeded':
        return result.value as T;
      case 'deleted':
        return ProcessResult.DELETED as T;
      case 'failed':
      case 'fenced':
        throw result.error;
      case 'waiting':
        throw new InvalidTransitionError(kind, id, 'RUNNING', 'run.waiting');
    }
  }

  async reset(kind: string, id: string, options: { readonly force?: boolean } = {}): Promise<ProcSnapshot> {
    const { registry, commit, effects, runs } = this.#parts;
    const ref = registry.ref(kind, id);
    const force = options.force ?? false;
    if (typeof force !== 'boolean') throw new InvalidArgumentError('`force` must be a boolean.');
    const outcome = await commit.transition(ref, () => ({ type: 'proc.reset', force, at: commit.iso() }), { runId: null });
    if (!outcome.accepted) {
      throw new ProcessAlreadyRunningError(kind, id, `it is ${outcome.proc.state.status}; pass { force: true } to reset it anyway`);
    }
    runs.fenceLocal(outcome.previous, 'the proc was reset');
    await effects.perform(outcome);
    return toProcSnapshot(outcome.proc);
  }

  async terminate(kind: string, id: string, options: { readonly reason?: string } = {}): Promise<ProcSnapshot> {
    const { registry, commit, effects, runs } = this.#parts;
    const ref = registry.ref(kind, id);
    const reason = options.reason ?? StatusMessages.terminated;
    assertText(reason, 'reason');
    const outcome = await commit.transition(ref, () => ({ type: 'run.stopped', reason: clip(reason), at: commit.iso() }), { runId: null });
    if (!outcome.accepted) throw new InvalidTransitionError(kind, id, outcome.proc.state.status, 'run.stopped');
    runs.fenceLocal(outcome.previous, 'the process was terminated');
    await effects.perform(outcome);
    return toProcSnapshot(outcome.proc);
  }

  async childCounts(kind: string, id: string, childKind?: string): Promise<ChildCounts> {
    return countChildren(this.store, this.#parts.registry, this.#parts.registry.ref(kind, id), childKind);
  }

  async countByStatus(kind: string): Promise<StatusCounts> {
    this.#parts.registry.kind(kind);
    return this.store.countByStatus(kind);
  }

  async history(kind: string, id: string, options?: ReadTransitionsOptions): Promise<TransitionRecord[]> {
    return this.#parts.commit.ledger.history(this.#parts.registry.ref(kind, id), options);
  }

  async waitFor(kind: string, id: string, predicate: (proc: ProcSnapshot) => boolean, options: WaitOptions = {}): Promise<ProcSnapshot> {
    return waitFor(this.#parts, this.#parts.registry.ref(kind, id), predicate, options);
  }

  async waitForCompletion(kind: string, id: string, options?: WaitOptions): Promise<ProcSnapshot> {
    return this.waitFor(kind, id, (proc) => STATUSES_NOT_PROCESSING.includes(proc.process_status), options);
  }

  subscribe(listener: (notice: TransitionNotice) => void): () => void {
    return this.#parts.notices.subscribe(listener);
  }

  async sweep(): Promise<SweepReport> {
    return this.#parts.sweep.run();
  }

  async handleJob(job: ProcJob, delivery: JobDelivery): Promise<void> {
    return this.#parts.jobs.handle(job, delivery);
  }

  metrics(): MetricsSnapshot {
    return this.#parts.metrics.snapshot();
  }
}
