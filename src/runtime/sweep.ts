/**
 * The sweep: the periodic repair of whatever a crash, a lost job or a missed wake-up left
 * behind. It reads documents as hints, one page per query, and loads a proc through the ledger
 * only when its hint says it may need action, so a sweep over many healthy procs stays cheap.
 *
 * 1. documents that lag their ledger among recently written procs are repaired;
 * 2. RUNNING procs whose lease expired (plus a grace for clock skew) get `worker.lost`;
 * 3. PENDING calls no scheduler job holds are dispatched again, and failed past a threshold;
 * 4. WAITING_FOR_RESULT procs with no processing child get a join job.
 */
import { CorruptDocumentError } from '../../machines/errors.js';
import { ProcessStatus } from '../../machines/process-status.js';
import { hintOf, type StoredProc } from '../../persistence/proc-ledger.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import { runKey, type Scheduler } from '../scheduler.js';
import type { ActiveRuns } from './active-run.js';
import type { Commit } from './commit.js';
import type { Effects } from './effects.js';
import type { KindRegistry } from './kind-registry.js';
import { reportError, type RuntimeLogger } from './logger.js';

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

type MutableReport = { -readonly [K in keyof SweepReport]: SweepReport[K] };

/** The sweep's thresholds. */
interface SweepTimings {
  readonly leaseGraceMs: number;
  readonly pendingRedispatchMs: number;
  readonly pendingFailMs: number;
  readonly repairIntervalMs: number;
}

/** What {@link Sweep} works with. */
export interface SweepOptions extends SweepTimings {
  readonly commit: Commit;
  readonly effects: Effects;
  readonly registry: KindRegistry;
  readonly store: ProcStore;
  readonly scheduler: Scheduler;
  readonly runs: ActiveRuns;
  readonly logger: RuntimeLogger;
}

const SWEEP_PAGE = 500;
const REPAIR_SETTLE_MS = 2_000;
const REPAIR_BATCH = 50_000;

/** The sweep of one runtime; one pass at a time. */
export class Sweep {
  readonly #options: SweepOptions;
  readonly #repairedUntil = new Map<string, number>();
  #lastRepair = Number.NEGATIVE_INFINITY;
  #sweeping: Promise<SweepReport> | undefined;
  #stopping = false;

  constructor(options: SweepOptions) {
    this.#options = options;
  }

  /** Runs one pass, or joins the one in progress. */
  run(): Promise<SweepReport> {
    if (this.#sweeping !== undefined) return this.#sweeping;
    this.#sweeping = this.#once().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /**
   * Stops the pass in progress at its next proc, and resolves once it has. A pass is a repair
   * that any later pass (of any runtime) does again, so stopping it part-way loses nothing; a
   * runtime that closes must not wait for a whole pass over a slow database.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#sweeping?.catch(() => undefined);
  }

  async #once(): Promise<SweepReport> {
    const report: MutableReport = { checked: 0, repaired: 0, workersLost: 0, redispatched: 0, pendingFailed: 0, joinsDispatched: 0, corrupt: 0 };
    const { commit, registry, effects } = this.#options;
    const now = commit.now().getTime();
    const repairDue = now - this.#lastRepair >= this.#options.repairIntervalMs;
    // Asked of the scheduler at most once per pass, and only when a PENDING call is old enough.
    let queued: Promise<ReadonlySet<string> | undefined> | undefined;
    const queuedRuns = () => (queued ??= this.#options.scheduler.queuedRuns());
    for (const kind of registry.names()) {
      if (this.#stopping) return report;
      if (repairDue) await this.#repairRecent(kind, now, report);
      await this.#eachHint(kind, ProcessStatus.RUNNING, report, (hint) => this.#running(hint, report));
      await this.#eachHint(kind, ProcessStatus.PENDING, report, (hint) => this.#pending(hint, report, queuedRuns));
      await this.#eachHint(kind, ProcessStatus.WAITING_FOR_RESULT, report, async (hint) => {
        if (await effects.anyChildProcessing(hint.ref)) return;
        await effects.dispatch({ type: 'join', kind: hint.ref.kind, id: hint.ref.id });
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
  async #repairRecent(kind: string, now: number, report: MutableReport): Promise<void> {
    const { store, commit } = this.#options;
    const until = new Date(now - REPAIR_SETTLE_MS);
    const since = new Date(this.#repairedUntil.get(kind) ?? until.getTime() - this.#options.pendingFailMs);
    const heads = new Map<string, number>();
    for (const { proc, seq } of await store.readTransitionsBetween(kind, since, until, REPAIR_BATCH)) {
      heads.set(proc, Math.max(seq, heads.get(proc) ?? 0));
    }
    this.#repairedUntil.set(kind, until.getTime());
    if (heads.size === 0) return;
    const counters = await store.readSyncCounters(kind, [...heads.keys()]);
    for (const [id, seq] of heads) {
      report.checked += 1;
      if ((counters.get(id) ?? 0) >= seq) continue;
      await commit.load({ kind, id }).then(
        () => {
          report.repaired += 1;
        },
        () => {
          report.corrupt += 1;
        },
      );
    }
  }

  async #eachHint(kind: string, status: ProcessStatus, report: MutableReport, visit: (hint: StoredProc) => Promise<void>): Promise<void> {
    let afterId: string | undefined;
    for (;;) {
      if (this.#stopping) return;
      const documents = await this.#options.store.findByStatus(kind, [status], { limit: SWEEP_PAGE, afterId });
      for (const document of documents) {
        if (this.#stopping) return;
        const hint = hintOf({ kind, id: document._id }, document);
        if (hint === undefined) {
          report.corrupt += 1;
          continue;
        }
        await visit(hint).catch((error: unknown) => {
          if (error instanceof CorruptDocumentError) report.corrupt += 1;
          else reportError(this.#options.logger, error, `sweeping ${kind} ${document._id}`);
        });
      }
      if (documents.length < SWEEP_PAGE) return;
      afterId = documents[documents.length - 1]?._id;
    }
  }

  async #running(hint: StoredProc, report: MutableReport): Promise<void> {
    const { commit, effects, store, runs, leaseGraceMs } = this.#options;
    const run = hint.state.context.run;
    if (run === null || runs.has(run.id)) return;
    const now = commit.now().getTime();
    if (now <= Date.parse(run.started_at) + run.lease_ms + leaseGraceMs) return;
    const lease = await store.readLease(hint.ref, run.id);
    const expires = Math.max(Date.parse(run.started_at) + run.lease_ms, lease?.expires_at.getTime() ?? 0);
    if (now <= expires + leaseGraceMs) return;
    const proc = await commit.load(hint.ref);
    if (proc === undefined || proc.state.status !== ProcessStatus.RUNNING || proc.state.context.run?.id !== run.id) return;
    const holder = lease?.holder ?? proc.state.context.worker_hostname ?? 'an unknown worker';
    const outcome = await commit.transition(
      proc.ref,
      () => ({ type: 'worker.lost', run_id: run.id, reason: `the lease of ${holder} expired at ${new Date(expires).toISOString()}`, at: commit.iso() }),
      { base: proc, runId: null },
    );
    if (!outcome.accepted) return;
    report.workersLost += 1;
    await effects.perform(outcome);
  }

  async #pending(hint: StoredProc, report: MutableReport, queuedRuns: () => Promise<ReadonlySet<string> | undefined>): Promise<void> {
    const { commit, effects, pendingRedispatchMs, pendingFailMs } = this.#options;
    const call = hint.state.context.call;
    if (call === null) return;
    const age = commit.now().getTime() - Date.parse(call.pending_since);
    if (age <= pendingRedispatchMs) return;
    if ((await queuedRuns())?.has(runKey(hint.ref.kind, hint.ref.id, call.id)) === true) return;
    const proc = await commit.load(hint.ref);
    if (proc === undefined || proc.state.status !== ProcessStatus.PENDING || proc.state.context.call?.id !== call.id) return;
    if (age > pendingFailMs) {
      const outcome = await commit.transition(
        proc.ref,
        () => ({ type: 'worker.lost', call_id: call.id, reason: `no worker started ${call.process} within ${Math.round(pendingFailMs / 1000)} s`, at: commit.iso() }),
        { base: proc, runId: null },
      );
      if (!outcome.accepted) return;
      report.pendingFailed += 1;
      await effects.perform(outcome);
      return;
    }
    await effects.dispatch({ type: 'run', kind: proc.ref.kind, id: proc.ref.id, callId: call.id, seq: proc.seq });
    report.redispatched += 1;
  }
}
