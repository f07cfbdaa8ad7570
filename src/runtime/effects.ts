/**
 * Side effects, performed only after their transition was recorded: dispatching jobs, arming
 * timeouts, attempting joins. Nothing here decides a transition except through {@link Commit}.
 *
 * Dispatches share round trips twice over: the runs of one bulk call (a fan-out's children)
 * travel in batch jobs of up to `dispatchBatchSize`, and jobs dispatched at the same moment by
 * unrelated callers go to the scheduler in one `dispatch`. Join attempts for one parent are
 * coalesced: while one is in flight, further requests only ask for one more afterwards, so a
 * batch of finishing children costs one or two checks instead of one each.
 */
import { DispatchError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import { isProcessing, ProcessStatus, STATUSES_PROCESSING } from '../../machines/process-status.js';
import { GroupCommit } from '../../persistence/group-commit.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { BatchedRun, ProcJob, Scheduler } from '../scheduler.js';
import type { ActiveRuns } from './active-run.js';
import type { AcceptedOutcome, Commit } from './commit.js';
import type { KindRegistry } from './kind-registry.js';
import { reportError, type RuntimeLogger } from './logger.js';
import { clip, errorText } from './texts.js';

/** Most jobs handed to the scheduler in one round trip. */
const MAX_DISPATCH_BATCH = 500;

/**
 * The processing statuses in the order a join check asks for them: the small ones first. While
 * children run, RUNNING holds a few of them and PENDING possibly thousands, and FerretDB does not
 * push a limit down with a filter: asking PENDING first would fetch every pending sibling.
 */
const JOIN_CHECK_ORDER = [ProcessStatus.RUNNING, ProcessStatus.WAITING_FOR_RESULT, ProcessStatus.PENDING] as const;

/** What {@link Effects} works with. */
export interface EffectsOptions {
  readonly commit: Commit;
  readonly registry: KindRegistry;
  readonly scheduler: Scheduler;
  readonly store: ProcStore;
  readonly logger: RuntimeLogger;
  /** Most runs one job carries when many calls are dispatched together; 1 gives a job per call. */
  readonly dispatchBatchSize: number;
  /** The runs this runtime holds: a child still running here checks its parent's join itself. */
  readonly runs: ActiveRuns;
}

interface JoinAttempt {
  again: boolean;
  readonly done: Promise<void>;
}

/** The side effects of one runtime. */
export class Effects {
  readonly #commit: Commit;
  readonly #registry: KindRegistry;
  readonly #scheduler: Scheduler;
  readonly #store: ProcStore;
  readonly #logger: RuntimeLogger;
  readonly #batchSize: number;
  readonly #runs: ActiveRuns;
  readonly #dispatches: GroupCommit<ProcJob, string>;
  readonly #joins = new Map<string, JoinAttempt>();

  constructor(options: EffectsOptions) {
    this.#commit = options.commit;
    this.#registry = options.registry;
    this.#scheduler = options.scheduler;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#batchSize = options.dispatchBatchSize;
    this.#runs = options.runs;
    this.#dispatches = new GroupCommit((jobs) => options.scheduler.dispatch(jobs), MAX_DISPATCH_BATCH);
  }

  /**
   * Performs what the machine asked for after one transition.
   * @throws DispatchError when the scheduler refused the call's job (the proc is then FAILURE).
   */
  async perform(outcome: AcceptedOutcome): Promise<void> {
    await this.performAll([outcome]);
  }

  /**
   * Performs what the machine asked for after many transitions recorded together: their run
   * jobs go out in batch jobs, in one round trip.
   * @throws DispatchError when the scheduler refused the jobs (those procs are then FAILURE).
   */
  async performAll(outcomes: readonly AcceptedOutcome[]): Promise<void> {
    const dispatched = outcomes.filter((outcome) => outcome.actions.includes('dispatch'));
    const others = outcomes.map((outcome) => this.#performOthers(outcome));
    const dispatching = dispatched.length === 0 ? Promise.resolve() : this.#dispatchCalls(dispatched.map((outcome) => outcome.proc));
    const [dispatchResult] = await Promise.allSettled([dispatching, Promise.all(others)]);
    if (dispatchResult.status === 'rejected') throw dispatchResult.reason;
  }

  async #performOthers(outcome: AcceptedOutcome): Promise<void> {
    const { proc, previous } = outcome;
    for (const action of outcome.actions) {
      switch (action) {
        case 'armTimeouts':
          await this.#armTimeouts(proc).catch((error: unknown) => reportError(this.#logger, error, `arming timeouts of ${proc.ref.kind} ${proc.ref.id}`));
          break;
        case 'attemptJoin':
          await this.tryJoin(proc.ref, proc);
          break;
        case 'notifyParent': {
          const parent = proc.state.context.parent;
          if (parent !== null && isProcessing(previous.state.status)) await this.childEnded(parent, proc.ref);
          break;
        }
        default:
          break;
      }
    }
  }

  /** Hands the pending calls of these procs to the scheduler, batched per kind and parent. */
  async #dispatchCalls(procs: readonly StoredProc[]): Promise<void> {
    const groups = new Map<string, StoredProc[]>();
    for (const proc of procs) {
      if (proc.state.context.call === null) continue;
      const parent = proc.state.context.parent;
      const key = `${proc.ref.kind}\u0000${parent === null ? '' : `${parent.kind}\u0000${parent.id}`}`;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = []));
      group.push(proc);
    }
    const jobs: Array<{ readonly job: ProcJob; readonly procs: readonly StoredProc[] }> = [];
    for (const group of groups.values()) {
      const { kind } = (group[0] as StoredProc).ref;
      const parent = (group[0] as StoredProc).state.context.parent;
      for (let start = 0; start < group.length; start += this.#batchSize) {
        const part = group.slice(start, start + this.#batchSize);
        const runs: BatchedRun[] = part.map((proc) => ({ id: proc.ref.id, callId: proc.state.context.call?.id as string, seq: proc.seq }));
        const job: ProcJob =
          runs.length === 1 ? { type: 'run', kind, ...(runs[0] as BatchedRun) } : { type: 'runs', kind, runs, ...(parent === null ? {} : { parent: { kind: parent.kind, id: parent.id } }) };
        jobs.push({ job, procs: part });
      }
    }
    const results = await Promise.allSettled(jobs.map(({ job }) => this.#dispatches.submit(job)));
    let first: DispatchError | undefined;
    await Promise.all(
      results.map(async (result, index) => {
        if (result.status === 'fulfilled') return;
        for (const proc of (jobs[index] as (typeof jobs)[number]).procs) {
          const error = await this.#failDispatch(proc, result.reason);
          first ??= error;
        }
      }),
    );
    if (first !== undefined) throw first;
  }

  /** Records `dispatch.failed` for a call the scheduler refused; returns the error to raise. */
  async #failDispatch(proc: StoredProc, cause: unknown): Promise<DispatchError> {
    const call = proc.state.context.call;
    if (call !== null) {
      const failed = await this.#commit
        .transition(proc.ref, () => ({ type: 'dispatch.failed', call_id: call.id, error: clip(errorText(cause)), at: this.#commit.iso() }), { base: proc, runId: null })
        .catch((error: unknown) => {
          reportError(this.#logger, error, `recording the failed dispatch of ${proc.ref.kind} ${proc.ref.id}`);
          return undefined;
        });
      if (failed?.accepted === true) await this.#performOthers(failed);
    }
    return new DispatchError(proc.ref.kind, proc.ref.id, { cause });
  }

  /** Hands one job to the scheduler (joins, re-dispatches of the sweep). */
  async dispatch(job: ProcJob): Promise<void> {
    await this.#dispatches.submit(job);
  }

  async #armTimeouts(proc: StoredProc): Promise<void> {
    const { run, call } = proc.state.context;
    if (run === null || call === null) return;
    const definition = this.#registry.kind(proc.ref.kind).processes.get(call.process);
    const started = Date.parse(run.started_at);
    const limits: Array<['soft' | 'hard', number | undefined]> = [
      ['soft', definition?.softTimeoutMs],
      ['hard', definition?.hardTimeoutMs],
    ];
    for (const [limit, ms] of limits) {
      if (ms === undefined) continue;
      await this.#scheduler.schedule({ type: 'timeout', kind: proc.ref.kind, id: proc.ref.id, runId: run.id, limit }, new Date(started + ms));
    }
  }

  /**
   * A child left its processing statuses: try the parent's join, unless a sibling still runs
   * here (it tries once it has ended, and a sibling elsewhere is found by the query anyway).
   */
  childEnded(parent: ProcRef, child: ProcRef): Promise<void> {
    this.#runs.release(parent, child);
    if (this.#runs.runsChildOf(parent, child)) return Promise.resolve();
    return this.tryJoin(parent);
  }

  /**
   * Dispatches a join job for the parent when none of its children is processing any more.
   * Coalesced per parent; never throws (a missed join is found by the sweep).
   * @param known - the parent's state when the caller just recorded it (saves reading it).
   */
  tryJoin(parent: ProcRef, known?: StoredProc): Promise<void> {
    if (!this.#registry.has(parent.kind)) return Promise.resolve();
    const key = `${parent.kind}\u0000${parent.id}`;
    const running = this.#joins.get(key);
    if (running !== undefined) {
      running.again = true;
      return running.done;
    }
    const attempt: { again: boolean; done: Promise<void> } = { again: false, done: Promise.resolve() };
    attempt.done = (async () => {
      try {
        let hint = known;
        do {
          attempt.again = false;
          await this.#attemptJoin(parent, hint);
          hint = undefined;
        } while (attempt.again);
      } catch (error) {
        reportError(this.#logger, error, `joining ${parent.kind} ${parent.id}`);
      } finally {
        this.#joins.delete(key);
      }
    })();
    this.#joins.set(key, attempt);
    return attempt.done;
  }

  async #attemptJoin(parent: ProcRef, known: StoredProc | undefined): Promise<void> {
    // The children first: while one is processing (the common case) that one query is all.
    if (await this.anyChildProcessing(parent)) return;
    // The document is enough to decide whether to go on: the join job loads properly, and a
    // parent whose copy lags is found by the sweep.
    const state = known ?? (await this.#commit.ledger.peek(parent));
    if (state === undefined || state.state.status !== ProcessStatus.WAITING_FOR_RESULT) return;
    await this.dispatch({ type: 'join', kind: parent.kind, id: parent.id });
  }

  /** True while any child of the parent is PENDING, RUNNING or WAITING_FOR_RESULT. */
  async anyChildProcessing(parent: ProcRef): Promise<boolean> {
    for (const child of this.#registry.kind(parent.kind).children) {
      if (await this.#store.anyInStatus(child.name, JOIN_CHECK_ORDER, { field: child.parentKey, value: parent.id })) return true;
    }
    return false;
  }

  /** How many children of the parent are processing (the join event records it). */
  async processingChildren(parent: ProcRef): Promise<number> {
    let processing = 0;
    for (const child of this.#registry.kind(parent.kind).children) {
      const counts = await this.#store.countByStatus(child.name, { field: child.parentKey, value: parent.id });
      processing += STATUSES_PROCESSING.reduce((total, status) => total + counts[status], 0);
    }
    return processing;
  }
}
