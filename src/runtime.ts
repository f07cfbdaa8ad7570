/**
 * The proc runtime: the one module that joins the machine, the ledger and the scheduler.
 *
 * Every change follows the same path: load the proc → apply one event with the pure machine
 * → insert the transition's ledger record (the insert decides) → copy it onto the document →
 * only then perform the side effects the machine asked for (dispatch a job, arm timeouts,
 * try a join). A conflict (another writer took the sequence number) reloads and decides again.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { applyProcEvent, initialProcState } from '../machines/apply-event.js';
import type { ProcessCall, ProcRef } from '../machines/proc-context.js';
import type { ProcEvent } from '../machines/proc-events.js';
import {
  ProcessResult,
  ProcessStatus,
  STATUSES_NOT_PROCESSING,
  STATUSES_PROCESSING,
  isProcessing,
} from '../machines/process-status.js';
import { StatusMessages } from '../machines/status-messages.js';
import { MemoryProcStore, emptyStatusCounts } from '../persistence/memory/memory-proc-store.js';
import { ProcLedger, hintOf, type StoredProc } from '../persistence/proc-ledger.js';
import type { ProcStore, ReadTransitionsOptions } from '../persistence/proc-store.js';
import { RecordCause, type StatusCounts, type TransitionRecord } from '../persistence/records.js';
import {
  assertFieldName,
  assertKindName,
  assertProcId,
  assertUserFields,
  encodeJsonArgument,
} from '../persistence/validate.js';
import { ActiveRun, type RunHost, type TransitionOutcome } from './active-run.js';
import type { JsonValue, KindDefinition, ProcessFunction, ResolvedProcess } from './define-kind.js';
import { resolveProcess } from './define-kind.js';
import {
  DispatchError,
  CorruptDocumentError,
  InvalidArgumentError,
  InvalidDefinitionError,
  InvalidTransitionError,
  ProcAlreadyExistsError,
  ProcessAlreadyRunningError,
  ProcessFailure,
  ProcNotFoundError,
  RunFencedError,
  SoftTimeLimitExceeded,
  SyncFailureError,
  TransitionConflictError,
  UnknownKindError,
  UnknownProcessError,
  WaitTimeoutError,
} from './errors.js';
import { InProcessScheduler } from './in-process-scheduler.js';
import { LiveInspection, type InspectionObserver } from './inspection.js';
import { childCountsOf, type ChildCounts, type ChildStart, type ProcessContext } from './process-context.js';
import { toProcSnapshot, type ProcSnapshot } from './proc-snapshot.js';
import type { JobDelivery, ProcJob, Scheduler } from './scheduler.js';

/** Where the runtime reports trouble it cannot throw to a caller (background work). */
export interface RuntimeLogger {
  /** Something went wrong that procstate handled, e.g. a fenced run whose results were dropped. */
  warn(message: string, details?: Record<string, unknown>): void;
  /** Background work failed, e.g. a job handler, a heartbeat or a document copy. */
  error(message: string, details?: Record<string, unknown>): void;
}

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

/** What one sweep found and did. */
export interface SweepReport {
  /** Procs whose recent records were checked against their documents. */
  readonly checked: number;
  /** Documents found lagging their ledger and repaired. */
  readonly repaired: number;
  /** RUNNING procs whose lease had expired, now FAILURE. */
  readonly workersLost: number;
  /** PENDING calls handed to the scheduler again. */
  readonly redispatched: number;
  /** PENDING calls no worker took in time, now FAILURE. */
  readonly pendingFailed: number;
  /** WAITING_FOR_RESULT procs for which a join was dispatched. */
  readonly joinsDispatched: number;
  /** Documents that could not be loaded (left untouched). */
  readonly corrupt: number;
}

/** Options of {@link createProcRuntime}. */
export interface ProcRuntimeOptions {
  /** The kinds of proc this runtime works with. */
  readonly kinds: readonly KindDefinition[];
  /** Where procs live. @defaultValue a new {@link MemoryProcStore} */
  readonly store?: ProcStore | undefined;
  /** Who runs processes. @defaultValue a new {@link InProcessScheduler} */
  readonly scheduler?: Scheduler | undefined;
  /** This worker's name in records and documents. @defaultValue `<hostname>:<pid>` */
  readonly worker?: string | undefined;
  /** How long a run's lease lasts without renewal; renewed every third of it. @defaultValue 60000 */
  readonly leaseMs?: number | undefined;
  /** Extra time the sweep allows past a lease's expiry (clock skew between machines). @defaultValue 10000 */
  readonly leaseGraceMs?: number | undefined;
  /** A PENDING call that no scheduler job holds is dispatched again after this long. @defaultValue 60000 */
  readonly pendingRedispatchMs?: number | undefined;
  /** A PENDING call that no scheduler job holds fails after this long. @defaultValue 600000 */
  readonly pendingFailMs?: number | undefined;
  /** How often {@link ProcRuntime.start} runs the sweep; 0 turns it off. @defaultValue 30000 */
  readonly sweepIntervalMs?: number | undefined;
  /**
   * How often a sweep also looks for documents that lag their ledger among recently written
   * procs (this reads the ledger by time, which servers without range pushdown scan).
   * @defaultValue 60000
   */
  readonly repairIntervalMs?: number | undefined;
  /** Keep only this many ledger records per proc once a process completes. @defaultValue keep all */
  readonly retention?: { readonly keepLast: number } | undefined;
  /** Where background trouble is reported. @defaultValue `console` */
  readonly logger?: RuntimeLogger | undefined;
  /** The clock. @defaultValue `() => new Date()` */
  readonly clock?: (() => Date) | undefined;
  /**
   * An XState inspection observer (e.g. `createWebSocketInspector().inspect` from
   * `@statelyai/inspect`): every transition this runtime commits is mirrored into an XState
   * actor per proc that reports to it, so the Stately inspector shows processing live.
   * @defaultValue none
   */
  readonly inspect?: InspectionObserver | undefined;
}

/** Options of {@link ProcRuntime.create}. */
export interface CreateOptions {
  /** The user's own fields of the new document. */
  readonly fields?: Readonly<Record<string, unknown>> | undefined;
  /** The parent's id, required for (and only for) a child kind. */
  readonly parent?: string | undefined;
}

/** Options of the wait helpers. */
export interface WaitOptions {
  /** Give up after this long, with `WaitTimeoutError`. @defaultValue 60000 */
  readonly timeoutMs?: number | undefined;
  /** Re-read the proc this often, for changes made by other processes. @defaultValue 200 */
  readonly pollMs?: number | undefined;
}

/** A running procstate runtime. */
export interface ProcRuntime {
  /** The store procs live in. */
  readonly store: ProcStore;
  /** The scheduler that runs processes. */
  readonly scheduler: Scheduler;
  /** This worker's name. */
  readonly worker: string;
  /** Starts taking jobs from the scheduler and, unless turned off, the periodic sweep. */
  start(): Promise<void>;
  /** Stops the sweep, drains the scheduler for up to `drainTimeoutMs`, then aborts runs still going. */
  close(options?: { readonly drainTimeoutMs?: number }): Promise<void>;
  /** Creates a proc in READY. @throws ProcAlreadyExistsError, UnknownKindError, InvalidArgumentError */
  create(kind: string, id: string, options?: CreateOptions): Promise<ProcSnapshot>;
  /** The proc. @throws ProcNotFoundError, CorruptDocumentError */
  get(kind: string, id: string): Promise<ProcSnapshot>;
  /** The proc, or undefined when it does not exist. @throws CorruptDocumentError */
  find(kind: string, id: string): Promise<ProcSnapshot | undefined>;
  /**
   * Calls a process: PENDING and dispatched when nothing is processing, else queued.
   * @throws ProcessAlreadyRunningError when a blocking process is current or queued.
   * @throws DispatchError when the scheduler refused the job (the proc is then FAILURE).
   */
  call(kind: string, id: string, process: string, args?: JsonValue): Promise<ProcSnapshot>;
  /**
   * Runs a local process in the caller and returns its value.
   * @throws ProcessAlreadyRunningError when anything is processing; the process's own error when it fails.
   */
  runLocal<T = unknown>(kind: string, id: string, process: string, args?: JsonValue): Promise<T>;
  /** Resets to READY. @throws ProcessAlreadyRunningError while processing, unless `force`. */
  reset(kind: string, id: string, options?: { readonly force?: boolean }): Promise<ProcSnapshot>;
  /** Fails a processing proc on an operator's behalf (NOMAD's `uploads stop --kill`). */
  terminate(kind: string, id: string, options?: { readonly reason?: string }): Promise<ProcSnapshot>;
  /** Counts of a proc's children by status. */
  childCounts(kind: string, id: string, childKind?: string): Promise<ChildCounts>;
  /** Counts of all procs of a kind by status. */
  countByStatus(kind: string): Promise<StatusCounts>;
  /** The proc's recorded transitions, oldest first. */
  history(kind: string, id: string, options?: ReadTransitionsOptions): Promise<TransitionRecord[]>;
  /**
   * Resolves once `predicate` holds for the proc; a proc that does not exist yet is waited for.
   * @throws WaitTimeoutError after `timeoutMs`.
   */
  waitFor(kind: string, id: string, predicate: (proc: ProcSnapshot) => boolean, options?: WaitOptions): Promise<ProcSnapshot>;
  /** Resolves once the proc is not processing (READY, SUCCESS or FAILURE). @throws WaitTimeoutError */
  waitForCompletion(kind: string, id: string, options?: WaitOptions): Promise<ProcSnapshot>;
  /** Calls `listener` after every transition this runtime commits; returns the unsubscribe function. */
  subscribe(listener: (notice: TransitionNotice) => void): () => void;
  /** Repairs documents, fails runs whose lease expired, re-sends or fails stuck calls, retries joins. */
  sweep(): Promise<SweepReport>;
  /** Handles one job; schedulers call it (`start` wires it up). */
  handleJob(job: ProcJob, delivery: JobDelivery): Promise<void>;
}

interface KindEntry {
  readonly definition: KindDefinition;
  readonly processes: ReadonlyMap<string, ResolvedProcess>;
  readonly children: readonly KindDefinition[];
}

interface RunSpec {
  readonly fn: ProcessFunction<any>;
  readonly process: string;
  readonly args: JsonValue;
  readonly joining: boolean;
  readonly local: boolean;
  readonly leaseMs: number;
  readonly softTimeoutMs: number | undefined;
}

type RunResult =
  | { readonly kind: 'succeeded'; readonly value: unknown }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'deleted' }
  | { readonly kind: 'fenced'; readonly error: RunFencedError };

const MAX_CONFLICT_ATTEMPTS = 12;
const CHILD_START_CONCURRENCY = 16;
const MAX_MESSAGE_CHARS = 4096;
const SWEEP_PAGE = 500;
const REPAIR_SETTLE_MS = 2_000;
const REPAIR_BATCH = 50_000;

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name !== 'Error' ? error.name : (error.constructor?.name ?? 'Error');
    return `${name}: ${error.message}`;
  }
  return String(error);
}

/** The payload without undefined members, so that every store records the same thing. */
function definedOnly(payload: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

function assertText(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${typeof value}.`);
}

function positive(value: number | undefined, fallback: number, name: string, allowZero = false): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 0 || (!allowZero && chosen === 0)) {
    throw new InvalidArgumentError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}.`);
  }
  return chosen;
}

const consoleLogger: RuntimeLogger = {
  warn: (message, details) => console.warn(`procstate: ${message}`, details ?? ''),
  error: (message, details) => console.error(`procstate: ${message}`, details ?? ''),
};

/**
 * Creates a runtime. No I/O happens here; call {@link ProcRuntime.start} to take jobs.
 *
 * @example
 * ```ts
 * import { createProcRuntime, defineKind } from 'procstate';
 *
 * const upload = defineKind({ name: 'upload', processes: { process_upload: { run: async () => {} } } });
 * const runtime = createProcRuntime({ kinds: [upload] });
 * await runtime.start();
 * await runtime.create('upload', 'u1');
 * await runtime.call('upload', 'u1', 'process_upload');
 * const done = await runtime.waitForCompletion('upload', 'u1');
 * done.process_status; // 'SUCCESS'
 * await runtime.close();
 * ```
 * @throws InvalidDefinitionError when kinds are inconsistent (a missing parent kind, a cycle).
 */
export function createProcRuntime(options: ProcRuntimeOptions): ProcRuntime {
  return new Runtime(options);
}

class Runtime implements ProcRuntime, RunHost {
  readonly store: ProcStore;
  readonly scheduler: Scheduler;
  readonly worker: string;
  readonly #ledger: ProcLedger;
  readonly #kinds = new Map<string, KindEntry>();
  readonly #listeners = new Set<(notice: TransitionNotice) => void>();
  readonly #activeRuns = new Map<string, ActiveRun>();
  readonly #repairedUntil = new Map<string, number>();
  readonly #logger: RuntimeLogger;
  readonly #inspection: LiveInspection | undefined;
  readonly #clock: () => Date;
  readonly #leaseMs: number;
  readonly #leaseGraceMs: number;
  readonly #pendingRedispatchMs: number;
  readonly #pendingFailMs: number;
  readonly #sweepIntervalMs: number;
  readonly #repairIntervalMs: number;
  #lastRepair = Number.NEGATIVE_INFINITY;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<SweepReport> | undefined;
  #closed = false;

  constructor(options: ProcRuntimeOptions) {
    if (typeof options !== 'object' || options === null || !Array.isArray(options.kinds)) {
      throw new InvalidDefinitionError('createProcRuntime needs `kinds`: an array of kind definitions.');
    }
    this.#logger = options.logger ?? consoleLogger;
    this.#clock = options.clock ?? (() => new Date());
    this.store = options.store ?? new MemoryProcStore();
    this.scheduler = options.scheduler ?? new InProcessScheduler({ onError: (error, job) => this.reportError(error, `job ${job.type} ${job.kind} ${job.id}`) });
    this.worker = options.worker ?? `${hostname()}:${process.pid}`;
    this.#leaseMs = positive(options.leaseMs, 60_000, 'leaseMs');
    this.#leaseGraceMs = positive(options.leaseGraceMs, 10_000, 'leaseGraceMs', true);
    this.#pendingRedispatchMs = positive(options.pendingRedispatchMs, 60_000, 'pendingRedispatchMs');
    this.#pendingFailMs = positive(options.pendingFailMs, 600_000, 'pendingFailMs');
    this.#sweepIntervalMs = positive(options.sweepIntervalMs, 30_000, 'sweepIntervalMs', true);
    this.#repairIntervalMs = positive(options.repairIntervalMs, 60_000, 'repairIntervalMs', true);
    this.#ledger = new ProcLedger(this.store, {
      retention: options.retention,
      onCopyError: (error, ref, seq) => this.reportError(error, `copying ${ref.kind} ${ref.id} #${seq} to its document`),
    });
    this.#inspection = options.inspect === undefined ? undefined : new LiveInspection(options.inspect);
    this.#registerKinds(options.kinds);
  }

  #registerKinds(kinds: readonly KindDefinition[]): void {
    for (const definition of kinds) {
      if (this.#kinds.has(definition.name)) throw new InvalidDefinitionError(`Kind ${definition.name} is defined twice.`);
      const processes = new Map<string, ResolvedProcess>();
      for (const [name, process] of Object.entries(definition.processes)) processes.set(name, resolveProcess(definition.name, name, process));
      this.#kinds.set(definition.name, { definition, processes, children: [] });
    }
    for (const { definition } of this.#kinds.values()) {
      if (definition.parent === undefined) continue;
      const parent = this.#kinds.get(definition.parent.kind);
      if (parent === undefined) throw new InvalidDefinitionError(`Kind ${definition.name} names parent kind ${definition.parent.kind}, which is not defined.`);
      (parent.children as KindDefinition[]).push(definition);
      const seen = new Set([definition.name]);
      for (let up = parent.definition; up.parent !== undefined; up = this.#kinds.get(up.parent.kind)?.definition ?? up) {
        if (seen.has(up.name)) throw new InvalidDefinitionError(`Kinds ${[...seen].join(', ')} form a parent cycle.`);
        seen.add(up.name);
        if (this.#kinds.get(up.parent.kind) === undefined) break;
      }
    }
  }

  // ----- RunHost -------------------------------------------------------------------------

  now(): Date {
    return this.#clock();
  }

  reportError(error: unknown, context: string): void {
    this.#logger.error(`${context} failed`, { error: errorText(error) });
  }

  async load(ref: ProcRef): Promise<StoredProc | undefined> {
    return this.#ledger.load(ref);
  }

  async transition(
    ref: ProcRef,
    build: (current: StoredProc) => ProcEvent,
    options: { readonly base?: StoredProc | undefined; readonly runId: string | null },
  ): Promise<TransitionOutcome> {
    let current = options.base;
    for (let attempt = 1; attempt <= MAX_CONFLICT_ATTEMPTS; attempt += 1) {
      current ??= await this.#mustLoad(ref);
      const event = build(current);
      const result = applyProcEvent(current.state, event);
      if (!result.accepted) return { accepted: false, proc: current, reason: result.reason };
      const { type: cause, at, ...payload } = event;
      try {
        const next = await this.#ledger.append(current, result.state, {
          cause,
          event: definedOnly(payload),
          at: new Date(at),
          worker: this.worker,
          runId: options.runId,
        });
        this.#notify(next, current.state.status, cause, new Date(at));
        this.#inspection?.transitioned(current, next, event);
        return { accepted: true, proc: next, previous: current, actions: result.actions, event };
      } catch (error) {
        if (!(error instanceof TransitionConflictError)) throw error;
        current = undefined;
        // Jittered back-off spreads writers that keep colliding on one proc.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
      }
    }
    throw new SyncFailureError(ref.kind, ref.id, MAX_CONFLICT_ATTEMPTS);
  }

  // ----- Public API ----------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#closed) throw new InvalidArgumentError('This runtime was closed; create a new one.');
    await this.scheduler.start((job, delivery) => this.handleJob(job, delivery));
    if (this.#sweepIntervalMs > 0 && this.#sweepTimer === undefined) {
      this.#sweepTimer = setInterval(() => {
        void this.sweep().catch((error: unknown) => this.reportError(error, 'sweep'));
      }, this.#sweepIntervalMs);
      this.#sweepTimer.unref();
    }
  }

  async close(options: { readonly drainTimeoutMs?: number } = {}): Promise<void> {
    this.#closed = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    await this.#sweeping?.catch(() => undefined);
    const still = await this.scheduler.drain(options.drainTimeoutMs ?? 30_000);
    if (still > 0 || this.#activeRuns.size > 0) {
      for (const run of this.#activeRuns.values()) run.shutdown();
    }
    this.#inspection?.stop();
  }

  async create(kind: string, id: string, options: CreateOptions = {}): Promise<ProcSnapshot> {
    const entry = this.#kind(kind);
    assertProcId(id);
    if (options.fields !== undefined) assertUserFields(options.fields);
    const parentSpec = entry.definition.parent;
    let parent: ProcRef | null = null;
    const init: Record<string, unknown> = { ...(options.fields ?? {}) };
    if (parentSpec !== undefined) {
      if (options.parent === undefined) throw new InvalidArgumentError(`A ${kind} needs its parent ${parentSpec.kind}'s id (\`parent\`).`);
      assertProcId(options.parent);
      parent = { kind: parentSpec.kind, id: options.parent };
      if ((await this.#ledger.load(parent)) === undefined) throw new ProcNotFoundError(parent.kind, parent.id);
      init[parentSpec.key] = options.parent;
    } else if (options.parent !== undefined) {
      throw new InvalidArgumentError(`Kind ${kind} has no parent kind, so \`parent\` cannot be given.`);
    }
    return toProcSnapshot(await this.#create({ kind, id }, parent, init));
  }

  async #create(ref: ProcRef, parent: ProcRef | null, init: Record<string, unknown>): Promise<StoredProc> {
    const created = await this.#ledger.create(ref, initialProcState(parent), { at: this.now(), worker: this.worker, init });
    this.#notify(created, null, RecordCause.CREATED, this.now());
    this.#inspection?.created(created);
    return created;
  }

  async get(kind: string, id: string): Promise<ProcSnapshot> {
    return toProcSnapshot(await this.#mustLoad(this.#ref(kind, id)));
  }

  async find(kind: string, id: string): Promise<ProcSnapshot | undefined> {
    const proc = await this.#ledger.load(this.#ref(kind, id));
    return proc === undefined ? undefined : toProcSnapshot(proc);
  }

  async call(kind: string, id: string, process: string, args?: JsonValue): Promise<ProcSnapshot> {
    return toProcSnapshot(await this.#call(this.#ref(kind, id), process, args));
  }

  async #call(ref: ProcRef, process: string, args: JsonValue | undefined, base?: StoredProc): Promise<StoredProc> {
    const definition = this.#process(ref.kind, process);
    if (definition.local) throw new UnknownProcessError(ref.kind, process, 'is a local process; run it with runLocal');
    const call = this.#newCall(definition, args);
    const outcome = await this.transition(ref, () => ({ type: 'process.called', call, at: this.#iso() }), { base, runId: null });
    if (!outcome.accepted) {
      if (outcome.reason === 'blocked') throw new ProcessAlreadyRunningError(ref.kind, ref.id, 'A blocking process is running or waiting to run');
      throw new InvalidTransitionError(ref.kind, ref.id, outcome.proc.state.status, 'process.called');
    }
    await this.#perform(outcome);
    return outcome.proc;
  }

  async runLocal<T = unknown>(kind: string, id: string, process: string, args?: JsonValue): Promise<T> {
    const ref = this.#ref(kind, id);
    const definition = this.#process(kind, process);
    if (!definition.local) throw new UnknownProcessError(kind, process, 'is not a local process; call it with call');
    const call = this.#newCall(definition, args);
    const runId = randomUUID();
    const leaseMs = this.#leaseFor(kind, definition);
    const outcome = await this.transition(
      ref,
      () => ({ type: 'process.called_locally', call, run_id: runId, lease_ms: leaseMs, at: this.#iso() }),
      { runId },
    );
    if (!outcome.accepted) {
      if (outcome.reason === 'processing') throw new ProcessAlreadyRunningError(kind, id, 'Another process is running or waiting to run');
      throw new InvalidTransitionError(kind, id, outcome.proc.state.status, 'process.called_locally');
    }
    await this.#perform(outcome);
    const result = await this.#execute(outcome.proc, runId, {
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
    const ref = this.#ref(kind, id);
    const force = options.force ?? false;
    if (typeof force !== 'boolean') throw new InvalidArgumentError('`force` must be a boolean.');
    const outcome = await this.transition(ref, () => ({ type: 'proc.reset', force, at: this.#iso() }), { runId: null });
    if (!outcome.accepted) {
      throw new ProcessAlreadyRunningError(kind, id, `it is ${outcome.proc.state.status}; pass { force: true } to reset it anyway`);
    }
    this.#fenceLocalRun(outcome.previous, 'the proc was reset');
    await this.#perform(outcome);
    return toProcSnapshot(outcome.proc);
  }

  async terminate(kind: string, id: string, options: { readonly reason?: string } = {}): Promise<ProcSnapshot> {
    const ref = this.#ref(kind, id);
    const reason = options.reason ?? StatusMessages.terminated;
    assertText(reason, 'reason');
    const outcome = await this.transition(ref, () => ({ type: 'run.stopped', reason: clip(reason), at: this.#iso() }), { runId: null });
    if (!outcome.accepted) throw new InvalidTransitionError(kind, id, outcome.proc.state.status, 'run.stopped');
    this.#fenceLocalRun(outcome.previous, 'the process was terminated');
    await this.#perform(outcome);
    return toProcSnapshot(outcome.proc);
  }

  async childCounts(kind: string, id: string, childKind?: string): Promise<ChildCounts> {
    const ref = this.#ref(kind, id);
    const children = this.#kind(kind).children.filter((child) => childKind === undefined || child.name === childKind);
    if (childKind !== undefined && children.length === 0) throw new UnknownKindError(childKind);
    const byStatus = emptyStatusCounts();
    for (const child of children) {
      const counts = await this.store.countByStatus(child.name, { field: (child.parent as { key: string }).key, value: ref.id });
      for (const status of Object.keys(byStatus) as ProcessStatus[]) byStatus[status] += counts[status];
    }
    return childCountsOf(byStatus);
  }

  async countByStatus(kind: string): Promise<StatusCounts> {
    this.#kind(kind);
    return this.store.countByStatus(kind);
  }

  async history(kind: string, id: string, options?: ReadTransitionsOptions): Promise<TransitionRecord[]> {
    return this.#ledger.history(this.#ref(kind, id), options);
  }

  async waitFor(
    kind: string,
    id: string,
    predicate: (proc: ProcSnapshot) => boolean,
    options: WaitOptions = {},
  ): Promise<ProcSnapshot> {
    const ref = this.#ref(kind, id);
    const timeoutMs = positive(options.timeoutMs, 60_000, 'timeoutMs');
    const pollMs = positive(options.pollMs, 200, 'pollMs');
    let last: ProcSnapshot | undefined;
    return new Promise<ProcSnapshot>((resolve, reject) => {
      let settled = false;
      let checking = false;
      let again = false;
      const finish = (error: unknown, proc?: ProcSnapshot) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearInterval(poller);
        unsubscribe();
        if (error === undefined && proc !== undefined) resolve(proc);
        else reject(error);
      };
      const check = async () => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            // A proc that does not exist yet (a child about to be created) is waited for too.
            const proc = await this.#ledger.load(ref);
            if (proc === undefined) continue;
            last = toProcSnapshot(proc);
            if (predicate(last)) return finish(undefined, last);
          } while (again && !settled);
        } catch (error) {
          finish(error);
        } finally {
          checking = false;
        }
      };
      const deadline = setTimeout(() => finish(new WaitTimeoutError(kind, id, timeoutMs, last?.process_status)), timeoutMs);
      const poller = setInterval(() => void check(), pollMs);
      const unsubscribe = this.subscribe((notice) => {
        if (notice.kind === kind && notice.id === id) void check();
      });
      void check();
    });
  }

  async waitForCompletion(kind: string, id: string, options?: WaitOptions): Promise<ProcSnapshot> {
    return this.waitFor(kind, id, (proc) => STATUSES_NOT_PROCESSING.includes(proc.process_status), options);
  }

  subscribe(listener: (notice: TransitionNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ----- Jobs ----------------------------------------------------------------------------

  async handleJob(job: ProcJob, delivery: JobDelivery): Promise<void> {
    if (typeof job !== 'object' || job === null) throw new InvalidArgumentError('A job must be an object.');
    const ref = this.#ref(job.kind, job.id);
    switch (job.type) {
      case 'run':
        assertProcId(job.callId);
        return this.#handleRun(ref, job.callId, delivery);
      case 'join':
        return this.#handleJoin(ref, delivery);
      case 'timeout':
        assertProcId(job.runId);
        return this.#handleTimeout(ref, job.runId, job.limit);
      default:
        throw new InvalidArgumentError(`Unknown job type ${JSON.stringify((job as { type: unknown }).type)}.`);
    }
  }

  async #handleRun(ref: ProcRef, callId: string, delivery: JobDelivery): Promise<void> {
    const current = await this.#ledger.load(ref);
    if (current === undefined) return;
    const processName = current.state.context.call?.process;
    const definition = processName === undefined ? undefined : this.#kind(ref.kind).processes.get(processName);
    const runId = randomUUID();
    const leaseMs = this.#leaseFor(ref.kind, definition);
    const outcome = await this.transition(
      ref,
      () => ({
        type: 'worker.started',
        call_id: callId,
        run_id: runId,
        worker: this.worker,
        job_id: delivery.jobId,
        lease_ms: leaseMs,
        at: this.#iso(),
      }),
      { base: current, runId },
    );
    // A rejected start is a duplicate or late delivery: another worker owns the call.
    if (!outcome.accepted) return;
    await this.#perform(outcome);
    const call = outcome.proc.state.context.call;
    if (call === null) return;
    const resolved = this.#kind(ref.kind).processes.get(call.process);
    const fn: ProcessFunction<any> =
      resolved === undefined || resolved.local
        ? () => {
            throw new UnknownProcessError(ref.kind, call.process, 'is not a worker process of this kind on this worker');
          }
        : resolved.run;
    await this.#execute(
      outcome.proc,
      runId,
      {
        fn,
        process: call.process,
        args: JSON.parse(call.args) as JsonValue,
        joining: false,
        local: false,
        leaseMs,
        softTimeoutMs: resolved?.softTimeoutMs,
      },
      delivery,
    );
  }

  async #handleJoin(ref: ProcRef, delivery: JobDelivery): Promise<void> {
    const current = await this.#ledger.load(ref);
    if (current === undefined || current.state.status !== ProcessStatus.WAITING_FOR_RESULT) return;
    const processing = await this.#countProcessingChildren(ref);
    if (processing > 0) return;
    const entry = this.#kind(ref.kind);
    const call = current.state.context.call;
    const definition = call === null ? undefined : entry.processes.get(call.process);
    const runId = randomUUID();
    const leaseMs = this.#leaseFor(ref.kind, definition);
    const outcome = await this.transition(
      ref,
      () => ({
        type: 'join.started',
        run_id: runId,
        worker: this.worker,
        processing_children: processing,
        lease_ms: leaseMs,
        at: this.#iso(),
      }),
      { base: current, runId },
    );
    if (!outcome.accepted) return;
    await this.#perform(outcome);
    await this.#execute(
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

  async #handleTimeout(ref: ProcRef, runId: string, limit: 'soft' | 'hard'): Promise<void> {
    const outcome = await this.transition(
      ref,
      (): ProcEvent =>
        limit === 'hard'
          ? { type: 'run.timed_out', run_id: runId, at: this.#iso() }
          : { type: 'run.soft_timed_out', run_id: runId, at: this.#iso() },
      { runId: null },
    ).catch((error: unknown) => {
      if (error instanceof ProcNotFoundError) return undefined;
      throw error;
    });
    if (outcome === undefined || !outcome.accepted) return;
    const active = this.#activeRuns.get(runId);
    if (limit === 'hard') active?.fence('its hard time limit passed');
    else if (active !== undefined) await active.heartbeat();
    await this.#perform(outcome);
  }

  // ----- Running process functions -------------------------------------------------------

  async #execute(proc: StoredProc, runId: string, spec: RunSpec, delivery?: JobDelivery): Promise<RunResult> {
    const run = new ActiveRun(this, proc, runId, { leaseMs: spec.leaseMs, delivery, softTimeoutMs: spec.softTimeoutMs });
    this.#activeRuns.set(runId, run);
    run.begin();
    try {
      let value: unknown;
      let thrown: unknown;
      let threw = false;
      try {
        value = await spec.fn(this.#context(run, spec));
      } catch (error) {
        threw = true;
        thrown = error;
      }
      if (run.fenced !== undefined) return this.#fencedResult(run.fenced);
      if (threw && thrown instanceof RunFencedError) return this.#fencedResult(thrown);

      const errors = [...run.recordedErrors];
      let failure: unknown;
      if (threw) {
        if (run.softTimedOut) errors.push(errorText(new SoftTimeLimitExceeded(spec.softTimeoutMs ?? 0)));
        else if (thrown instanceof ProcessFailure) errors.push(...thrown.errors);
        else errors.push(errorText(thrown));
        failure = thrown;
      } else if (errors.length === 0 && value === ProcessResult.DELETED) {
        return await this.#deleteByRun(run);
      } else if (errors.length === 0 && value === ProcessResult.WAITING_FOR_RESULT && spec.local) {
        errors.push('ValueError: a local process cannot wait for results');
      } else if (errors.length === 0 && !spec.local && value !== undefined && value !== null && value !== ProcessResult.WAITING_FOR_RESULT) {
        errors.push(`ValueError: Invalid return value from process function: ${clip(JSON.stringify(value) ?? String(value))}`);
      }

      let event: (id: string) => ProcEvent;
      if (errors.length > 0) {
        failure ??= new ProcessFailure(...errors);
        event = (id) => ({ type: 'run.failed', run_id: id, errors: errors.map(clip), warnings: run.takeWarnings(), at: this.#iso() });
      } else if (value === ProcessResult.WAITING_FOR_RESULT) {
        event = (id) => ({ type: 'run.waiting', run_id: id, warnings: run.takeWarnings(), at: this.#iso() });
      } else {
        event = (id) => ({ type: 'run.succeeded', run_id: id, warnings: run.takeWarnings(), at: this.#iso() });
      }
      let outcome: TransitionOutcome & { accepted: true };
      try {
        outcome = await run.write(event);
      } catch (error) {
        if (error instanceof RunFencedError) return this.#fencedResult(error);
        throw error;
      }
      await this.#perform(outcome);
      if (failure !== undefined) return { kind: 'failed', error: failure };
      return outcome.proc.state.status === ProcessStatus.WAITING_FOR_RESULT ? { kind: 'waiting' } : { kind: 'succeeded', value };
    } finally {
      this.#activeRuns.delete(runId);
      await run.end();
    }
  }

  #fencedResult(error: RunFencedError): RunResult {
    this.#logger.warn('a run was fenced; its results were not recorded', { kind: error.kind, id: error.id, run: error.runId, reason: error.reason });
    return { kind: 'fenced', error };
  }

  async #deleteByRun(run: ActiveRun): Promise<RunResult> {
    let base = run.proc;
    for (let attempt = 1; attempt <= MAX_CONFLICT_ATTEMPTS; attempt += 1) {
      run.assertLive();
      const at = this.now();
      try {
        await this.#ledger.appendDeleted(base, { cause: RecordCause.DELETED, event: null, at, worker: this.worker, runId: run.runId });
      } catch (error) {
        if (!(error instanceof TransitionConflictError)) throw error;
        const latest = await this.#ledger.load(run.ref);
        if (latest === undefined || latest.state.status !== ProcessStatus.RUNNING || latest.state.context.run?.id !== run.runId) {
          run.fence('the proc moved on before it could be deleted');
          return this.#fencedResult(run.fenced as RunFencedError);
        }
        base = latest;
        continue;
      }
      this.#emit({ kind: run.ref.kind, id: run.ref.id, seq: base.seq + 1, from: base.state.status, to: null, cause: RecordCause.DELETED, at, worker: this.worker, proc: undefined });
      this.#inspection?.deleted(run.ref.kind, run.ref.id);
      const parent = base.state.context.parent;
      if (parent !== null) await this.#tryJoin(parent).catch((error: unknown) => this.reportError(error, `joining ${parent.kind} ${parent.id}`));
      return { kind: 'deleted' };
    }
    throw new SyncFailureError(run.ref.kind, run.ref.id, MAX_CONFLICT_ATTEMPTS);
  }

  #context(run: ActiveRun, spec: RunSpec): ProcessContext<any> {
    const runtime = this;
    const ref = run.ref;
    const entry = this.#kind(ref.kind);
    const progress = async (step: string | undefined, message: string | undefined) => {
      await run.write((id) => ({ type: 'run.progressed', run_id: id, step, message, warnings: run.takeWarnings(), at: this.#iso() }));
    };
    const childKind = (name: string) => {
      const child = entry.children.find((candidate) => candidate.name === name);
      if (child === undefined) throw new UnknownKindError(name);
      return child;
    };
    const createChild = async (kindName: string, childId: string, fields?: Readonly<Record<string, unknown>>) => {
      const child = childKind(kindName);
      assertProcId(childId);
      if (fields !== undefined) assertUserFields(fields);
      run.assertLive();
      return this.#create({ kind: child.name, id: childId }, ref, { ...(fields ?? {}), [(child.parent as { key: string }).key]: ref.id });
    };
    const startChild = async (kindName: string, childId: string, process: string, args?: JsonValue, fields?: Readonly<Record<string, unknown>>) => {
      const child = childKind(kindName);
      this.#process(child.name, process);
      // Creating first saves a read for the common case, a new child; an existing one is called as it is.
      const created = await createChild(child.name, childId, fields).catch((error: unknown) => {
        if (error instanceof ProcAlreadyExistsError) return undefined;
        throw error;
      });
      run.assertLive();
      await this.#call({ kind: child.name, id: childId }, process, args, created);
    };
    return {
      kind: ref.kind,
      id: ref.id,
      process: spec.process,
      args: spec.args,
      joining: spec.joining,
      signal: run.controller.signal,
      get proc() {
        return toProcSnapshot(run.proc);
      },
      setStep: async (step) => {
        assertText(step, 'step');
        await progress(clip(step), undefined);
      },
      setStatusMessage: async (message) => {
        assertText(message, 'message');
        await progress(undefined, clip(message));
      },
      warn: (message) => {
        assertText(message, 'warning');
        run.assertLive();
        run.warn(clip(message));
      },
      recordError: (message) => {
        assertText(message, 'error');
        run.recordError(clip(message));
      },
      flush: async () => {
        await progress(undefined, undefined);
      },
      document: async () => runtime.store.readDocument(ref),
      createChild: async (kindName, childId, fields) => {
        await createChild(kindName, childId, fields);
      },
      startChild,
      startChildren: async (kindName: string, children: readonly ChildStart[], options: { concurrency?: number } = {}) => {
        childKind(kindName);
        const concurrency = positive(options.concurrency, CHILD_START_CONCURRENCY, 'concurrency');
        let next = 0;
        const lanes = Array.from({ length: Math.min(concurrency, children.length) }, async () => {
          while (next < children.length) {
            const child = children[next++] as ChildStart;
            await startChild(kindName, child.id, child.process, child.args, child.fields);
          }
        });
        await Promise.all(lanes);
      },
      createProc: async (kind: string, id: string, options: CreateOptions = {}) => {
        run.assertLive();
        await this.create(kind, id, options);
      },
      call: async (kind: string, id: string, process: string, args?: JsonValue) => {
        run.assertLive();
        await this.#call(this.#ref(kind, id), process, args);
      },
      childCounts: async (kindName?: string) => this.childCounts(ref.kind, ref.id, kindName),
    };
  }

  // ----- Side effects --------------------------------------------------------------------

  async #perform(outcome: TransitionOutcome & { accepted: true }): Promise<void> {
    const proc = outcome.proc;
    for (const action of outcome.actions) {
      switch (action) {
        case 'dispatch':
          await this.#dispatch(proc);
          break;
        case 'armTimeouts':
          await this.#armTimeouts(proc).catch((error: unknown) => this.reportError(error, `arming timeouts of ${proc.ref.kind} ${proc.ref.id}`));
          break;
        case 'attemptJoin':
          await this.#tryJoin(proc.ref, proc).catch((error: unknown) => this.reportError(error, `joining ${proc.ref.kind} ${proc.ref.id}`));
          break;
        case 'notifyParent': {
          const parent = proc.state.context.parent;
          if (parent !== null && isProcessing(outcome.previous.state.status)) {
            await this.#tryJoin(parent).catch((error: unknown) => this.reportError(error, `joining ${parent.kind} ${parent.id}`));
          }
          break;
        }
      }
    }
  }

  async #dispatch(proc: StoredProc): Promise<void> {
    const call = proc.state.context.call;
    if (call === null) return;
    try {
      await this.scheduler.dispatch({ type: 'run', kind: proc.ref.kind, id: proc.ref.id, callId: call.id });
    } catch (error) {
      const failed = await this.transition(
        proc.ref,
        () => ({ type: 'dispatch.failed', call_id: call.id, error: clip(errorText(error)), at: this.#iso() }),
        { base: proc, runId: null },
      );
      if (failed.accepted) await this.#perform(failed);
      throw new DispatchError(proc.ref.kind, proc.ref.id, { cause: error });
    }
  }

  async #armTimeouts(proc: StoredProc): Promise<void> {
    const { run, call } = proc.state.context;
    if (run === null || call === null) return;
    const definition = this.#kind(proc.ref.kind).processes.get(call.process);
    const started = Date.parse(run.started_at);
    const limits: Array<['soft' | 'hard', number | undefined]> = [
      ['soft', definition?.softTimeoutMs],
      ['hard', definition?.hardTimeoutMs],
    ];
    for (const [limit, ms] of limits) {
      if (ms === undefined) continue;
      await this.scheduler.schedule({ type: 'timeout', kind: proc.ref.kind, id: proc.ref.id, runId: run.id, limit }, new Date(started + ms));
    }
  }

  async #tryJoin(ref: ProcRef, known?: StoredProc): Promise<void> {
    if (!this.#kinds.has(ref.kind)) return;
    // The document is enough to decide whether to look further: the join job loads properly, and
    // a parent whose copy lags is found by the sweep.
    const parent = known ?? (await this.#ledger.peek(ref));
    if (parent === undefined || parent.state.status !== ProcessStatus.WAITING_FOR_RESULT) return;
    if ((await this.#countProcessingChildren(ref, true)) > 0) return;
    await this.scheduler.dispatch({ type: 'join', kind: ref.kind, id: ref.id });
  }

  async #countProcessingChildren(ref: ProcRef, anyIsEnough = false): Promise<number> {
    let processing = 0;
    for (const child of this.#kind(ref.kind).children) {
      const where = { field: (child.parent as { key: string }).key, value: ref.id };
      if (anyIsEnough) {
        if (await this.store.anyInStatus(child.name, STATUSES_PROCESSING, where)) return 1;
        continue;
      }
      const counts = await this.store.countByStatus(child.name, where);
      processing += STATUSES_PROCESSING.reduce((total, status) => total + counts[status], 0);
    }
    return processing;
  }

  #fenceLocalRun(previous: StoredProc, reason: string): void {
    const runId = previous.state.context.run?.id;
    if (runId !== undefined) this.#activeRuns.get(runId)?.fence(reason);
  }

  // ----- Sweep ---------------------------------------------------------------------------

  async sweep(): Promise<SweepReport> {
    if (this.#sweeping !== undefined) return this.#sweeping;
    this.#sweeping = this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  // The status passes read documents as hints and load a proc through the ledger only when the
  // hint says it may need action, so a sweep over many healthy procs costs one query per page.
  async #sweepOnce(): Promise<SweepReport> {
    const report = { checked: 0, repaired: 0, workersLost: 0, redispatched: 0, pendingFailed: 0, joinsDispatched: 0, corrupt: 0 };
    const now = this.now().getTime();
    const repairDue = now - this.#lastRepair >= this.#repairIntervalMs;
    for (const kind of this.#kinds.keys()) {
      if (repairDue) await this.#sweepRecent(kind, now, report);
      await this.#eachHint(kind, ProcessStatus.RUNNING, report, (hint) => this.#sweepRunning(hint, report));
      await this.#eachHint(kind, ProcessStatus.PENDING, report, (hint) => this.#sweepPending(hint, report));
      await this.#eachHint(kind, ProcessStatus.WAITING_FOR_RESULT, report, async (hint) => {
        if ((await this.#countProcessingChildren(hint.ref, true)) > 0) return;
        await this.scheduler.dispatch({ type: 'join', kind: hint.ref.kind, id: hint.ref.id });
        report.joinsDispatched += 1;
      });
    }
    if (repairDue) this.#lastRepair = now;
    return report;
  }

  /**
   * Finds procs whose document lags their ledger (a writer died between its two writes) among
   * those written since the last pass, and repairs them. Records younger than a settle time are
   * left for the next pass: their writers are most likely still copying.
   */
  async #sweepRecent(kind: string, now: number, report: { checked: number; repaired: number; corrupt: number }): Promise<void> {
    const until = new Date(now - REPAIR_SETTLE_MS);
    const since = new Date(this.#repairedUntil.get(kind) ?? until.getTime() - this.#pendingFailMs);
    const heads = new Map<string, number>();
    for (const { proc, seq } of await this.store.readTransitionsBetween(kind, since, until, REPAIR_BATCH)) {
      heads.set(proc, Math.max(seq, heads.get(proc) ?? 0));
    }
    this.#repairedUntil.set(kind, until.getTime());
    for (const [id, seq] of heads) {
      report.checked += 1;
      const ref = { kind, id };
      const counter = (await this.store.readDocument(ref))?.['sync_counter'];
      if (typeof counter === 'number' && counter >= seq) continue;
      await this.#ledger.load(ref).then(
        () => {
          report.repaired += 1;
        },
        () => {
          report.corrupt += 1;
        },
      );
    }
  }

  async #eachHint(kind: string, status: ProcessStatus, report: { corrupt: number }, visit: (hint: StoredProc) => Promise<void>): Promise<void> {
    let afterId: string | undefined;
    for (;;) {
      const documents = await this.store.findByStatus(kind, [status], { limit: SWEEP_PAGE, afterId });
      for (const document of documents) {
        const hint = hintOf({ kind, id: document._id }, document);
        if (hint === undefined) {
          report.corrupt += 1;
          continue;
        }
        await visit(hint).catch((error: unknown) => {
          if (error instanceof CorruptDocumentError) report.corrupt += 1;
          else this.reportError(error, `sweeping ${kind} ${document._id}`);
        });
      }
      if (documents.length < SWEEP_PAGE) return;
      afterId = documents[documents.length - 1]?._id;
    }
  }

  async #sweepRunning(hint: StoredProc, report: { workersLost: number }): Promise<void> {
    const run = hint.state.context.run;
    if (run === null || this.#activeRuns.has(run.id)) return;
    const now = this.now().getTime();
    if (now <= Date.parse(run.started_at) + run.lease_ms + this.#leaseGraceMs) return;
    const lease = await this.store.readLease(hint.ref, run.id);
    const expires = Math.max(Date.parse(run.started_at) + run.lease_ms, lease?.expires_at.getTime() ?? 0);
    if (now <= expires + this.#leaseGraceMs) return;
    const proc = await this.#ledger.load(hint.ref);
    if (proc === undefined || proc.state.status !== ProcessStatus.RUNNING || proc.state.context.run?.id !== run.id) return;
    const holder = lease?.holder ?? proc.state.context.worker_hostname ?? 'an unknown worker';
    const outcome = await this.transition(
      proc.ref,
      () => ({
        type: 'worker.lost',
        run_id: run.id,
        reason: `the lease of ${holder} expired at ${new Date(expires).toISOString()}`,
        at: this.#iso(),
      }),
      { base: proc, runId: null },
    );
    if (!outcome.accepted) return;
    report.workersLost += 1;
    await this.#perform(outcome);
  }

  async #sweepPending(hint: StoredProc, report: { redispatched: number; pendingFailed: number }): Promise<void> {
    const call = hint.state.context.call;
    if (call === null) return;
    const age = this.now().getTime() - Date.parse(call.pending_since);
    if (age <= this.#pendingRedispatchMs) return;
    const job: ProcJob = { type: 'run', kind: hint.ref.kind, id: hint.ref.id, callId: call.id };
    if ((await this.scheduler.isQueued(job)) === true) return;
    const proc = await this.#ledger.load(hint.ref);
    if (proc === undefined || proc.state.status !== ProcessStatus.PENDING || proc.state.context.call?.id !== call.id) return;
    if (age > this.#pendingFailMs) {
      const outcome = await this.transition(
        proc.ref,
        () => ({
          type: 'worker.lost',
          call_id: call.id,
          reason: `no worker started ${call.process} within ${Math.round(this.#pendingFailMs / 1000)} s`,
          at: this.#iso(),
        }),
        { base: proc, runId: null },
      );
      if (!outcome.accepted) return;
      report.pendingFailed += 1;
      await this.#perform(outcome);
      return;
    }
    await this.scheduler.dispatch(job);
    report.redispatched += 1;
  }

  // ----- Helpers -------------------------------------------------------------------------

  #kind(kind: string): KindEntry {
    assertKindName(kind);
    const entry = this.#kinds.get(kind);
    if (entry === undefined) throw new UnknownKindError(kind);
    return entry;
  }

  #process(kind: string, process: string): ResolvedProcess {
    if (typeof process !== 'string') throw new InvalidArgumentError(`A process name must be a string, got ${typeof process}.`);
    assertFieldName(process);
    const definition = this.#kind(kind).processes.get(process);
    if (definition === undefined) throw new UnknownProcessError(kind, process);
    return definition;
  }

  #ref(kind: string, id: string): ProcRef {
    this.#kind(kind);
    assertProcId(id);
    return { kind, id };
  }

  async #mustLoad(ref: ProcRef): Promise<StoredProc> {
    const proc = await this.#ledger.load(ref);
    if (proc === undefined) throw new ProcNotFoundError(ref.kind, ref.id);
    return proc;
  }

  #newCall(definition: ResolvedProcess, args: JsonValue | undefined): ProcessCall {
    return {
      id: randomUUID(),
      process: definition.name,
      args: encodeJsonArgument(args ?? null, `Arguments of ${definition.name}`),
      blocking: definition.blocking,
      clear_queue_on_failure: definition.clearQueueOnFailure,
      child: definition.child,
      called_at: this.#iso(),
    };
  }

  #leaseFor(kind: string, definition: ResolvedProcess | undefined): number {
    return definition?.leaseMs ?? this.#kind(kind).definition.leaseMs ?? this.#leaseMs;
  }

  #iso(): string {
    return this.now().toISOString();
  }

  #notify(proc: StoredProc, from: ProcessStatus | null, cause: string, at: Date): void {
    if (this.#listeners.size === 0) return;
    this.#emit({
      kind: proc.ref.kind,
      id: proc.ref.id,
      seq: proc.seq,
      from,
      to: proc.state.status,
      cause,
      at,
      worker: this.worker,
      proc: toProcSnapshot(proc),
    });
  }

  #emit(notice: TransitionNotice): void {
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (error) {
        this.reportError(error, 'a transition listener');
      }
    }
  }
}
