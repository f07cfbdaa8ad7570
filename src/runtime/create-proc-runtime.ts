/**
 * `createProcRuntime`: checks the options and wires the runtime's parts together, bottom up —
 * registry, notices and metrics, the commit step, effects, calls, runs, the runner, job
 * handlers and the sweep — so that each part depends only on the ones below it.
 */
import { hostname } from 'node:os';
import { InvalidDefinitionError } from '../../machines/errors.js';
import { MemoryProcStore } from '../../persistence/memory/memory-proc-store.js';
import { ProcLedger } from '../../persistence/proc-ledger.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { KindDefinition } from '../define-kind.js';
import { InProcessScheduler } from '../in-process-scheduler.js';
import type { InspectionObserver } from '../inspection.js';
import type { Scheduler } from '../scheduler.js';
import { ActiveRuns } from './active-run.js';
import { Calls } from './calls.js';
import { Commit } from './commit.js';
import { Effects } from './effects.js';
import { Runner } from './execute-run.js';
import { JobHandlers } from './job-handlers.js';
import { KindRegistry } from './kind-registry.js';
import { defaultLogger, reportError, type RuntimeLogger } from './logger.js';
import { RuntimeMetrics } from './metrics.js';
import { Notices } from './notices.js';
import { Runtime, type ProcRuntime } from './proc-runtime.js';
import { Sweep } from './sweep.js';
import { positive } from './texts.js';

/** Options of {@link createProcRuntime}. */
export interface ProcRuntimeOptions<K extends readonly KindDefinition[] = readonly KindDefinition[]> {
  /** The kinds of proc this runtime works with; made with `defineKind`, they type the runtime. */
  readonly kinds: K;
  /** Where procs live. @defaultValue a new {@link MemoryProcStore} */
  readonly store?: ProcStore | undefined;
  /** Who runs processes. @defaultValue a new {@link InProcessScheduler} */
  readonly scheduler?: Scheduler | undefined;
  /** This worker's name in records and documents. @defaultValue `<hostname>:<pid>` */
  readonly worker?: string | undefined;
  /** Process functions (and joins) this runtime's jobs run at once. @defaultValue 8 */
  readonly concurrency?: number | undefined;
  /**
   * Most runs one job carries when many calls are dispatched together (a fan-out's children,
   * `callMany`): one job is locked and completed for all of them, while each still starts
   * through its own ledger insert. 1 gives every call its own job. @defaultValue 50
   */
  readonly dispatchBatchSize?: number | undefined;
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
 * @throws InvalidArgumentError when an option is out of range.
 */
export function createProcRuntime<const K extends readonly KindDefinition[]>(options: ProcRuntimeOptions<K>): ProcRuntime<K> {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.kinds)) {
    throw new InvalidDefinitionError('createProcRuntime needs `kinds`: an array of kind definitions.');
  }
  const logger = options.logger ?? defaultLogger;
  const clock = options.clock ?? (() => new Date());
  const store = options.store ?? new MemoryProcStore();
  const scheduler = options.scheduler ?? new InProcessScheduler({ onError: (error, job) => reportError(logger, error, `job ${job.type} ${job.kind}`) });
  const worker = options.worker ?? `${hostname()}:${process.pid}`;
  const leaseMs = positive(options.leaseMs, 60_000, 'leaseMs');
  const timings = {
    leaseGraceMs: positive(options.leaseGraceMs, 10_000, 'leaseGraceMs', true),
    pendingRedispatchMs: positive(options.pendingRedispatchMs, 60_000, 'pendingRedispatchMs'),
    pendingFailMs: positive(options.pendingFailMs, 600_000, 'pendingFailMs'),
    repairIntervalMs: positive(options.repairIntervalMs, 60_000, 'repairIntervalMs', true),
  };
  const sweepIntervalMs = positive(options.sweepIntervalMs, 30_000, 'sweepIntervalMs', true);
  const concurrency = positive(options.concurrency, 8, 'concurrency');
  const dispatchBatchSize = positive(options.dispatchBatchSize, 50, 'dispatchBatchSize');

  const registry = new KindRegistry(options.kinds, leaseMs);
  const notices = new Notices(worker, logger, options.inspect);
  const metrics = new RuntimeMetrics((message, details) => logger.warn(message, details));
  // Started now so that it has usually resolved by the first recording; `start()` waits for it.
  void metrics.mirror();
  const ledger = new ProcLedger(store, {
    retention: options.retention,
    onCopyError: (error, ref, seq) => reportError(logger, error, `copying ${ref.kind} ${ref.id} #${seq} to its document`),
  });
  const commit = new Commit({ ledger, notices, metrics, worker, clock });
  const runs = new ActiveRuns({ commit, store, logger, metrics });
  const effects = new Effects({ commit, registry, scheduler, store, logger, dispatchBatchSize, runs });
  const calls = new Calls({ commit, effects, registry });
  const runner = new Runner({ commit, effects, runs, logger, calls, registry, store, iso: () => commit.iso() });
  const jobs = new JobHandlers({ commit, effects, registry, runner, runs, metrics, concurrency });
  const sweep = new Sweep({ commit, effects, registry, store, scheduler, runs, logger, ...timings });
  // The runtime works with names and JSON; its kinds' types are the caller's view of it.
  return new Runtime({ store, scheduler, registry, notices, commit, effects, calls, runs, runner, jobs, sweep, logger, metrics, sweepIntervalMs }) as unknown as ProcRuntime<K>;
}
