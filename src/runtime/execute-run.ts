/**
 * Executing a run: the process function (or the kind's join) under its lease, and the one
 * transition that records how it ended — succeeded, waiting for children, failed, or deleted
 * its object. A run that was fenced records nothing: someone else holds the proc now.
 */
import { ProcessFailure, RunFencedError, SoftTimeLimitExceeded } from '../../machines/errors.js';
import type { ProcEvent } from '../../machines/proc-events.js';
import { ProcessResult, ProcessStatus } from '../../machines/process-status.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import type { ProcessFunction } from '../define-kind.js';
import type { JobDelivery } from '../scheduler.js';
import type { ActiveRun, ActiveRuns } from './active-run.js';
import type { Commit } from './commit.js';
import type { Effects } from './effects.js';
import type { RuntimeLogger } from './logger.js';
import { runContext, type RunContextDependencies, type RunSpec } from './run-context.js';
import { clip, errorText } from './texts.js';

/** Everything one run executes. */
export interface ExecutionSpec extends RunSpec {
  readonly fn: ProcessFunction<any>;
  /** Runs in the caller (`runLocal`), not on a worker. */
  readonly local: boolean;
  readonly leaseMs: number;
  readonly softTimeoutMs: number | undefined;
}

/** How a run ended. */
export type RunResult =
  | { readonly kind: 'succeeded'; readonly value: unknown }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'deleted' }
  | { readonly kind: 'fenced'; readonly error: RunFencedError };

/** What {@link Runner} works with. */
export interface RunnerOptions extends RunContextDependencies {
  readonly commit: Commit;
  readonly effects: Effects;
  readonly runs: ActiveRuns;
  readonly logger: RuntimeLogger;
}

/** Executes runs for one runtime. */
export class Runner {
  readonly #options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.#options = options;
  }

  /** Runs `spec` for the proc that run `runId` holds (its start was recorded), and records how it ended. */
  async execute(proc: StoredProc, runId: string, spec: ExecutionSpec, delivery?: JobDelivery): Promise<RunResult> {
    const { commit, effects, runs } = this.#options;
    const run = runs.begin(proc, runId, { leaseMs: spec.leaseMs, delivery, softTimeoutMs: spec.softTimeoutMs });
    try {
      let value: unknown;
      let thrown: unknown;
      let threw = false;
      try {
        value = await spec.fn(runContext(run, spec, this.#options));
      } catch (error) {
        threw = true;
        thrown = error;
      }
      if (run.fenced !== undefined) return this.#fenced(run.fenced);
      if (threw && thrown instanceof RunFencedError) return this.#fenced(thrown);

      const errors = [...run.recordedErrors];
      let failure: unknown;
      if (threw) {
        if (run.softTimedOut) errors.push(errorText(new SoftTimeLimitExceeded(spec.softTimeoutMs ?? 0)));
        else if (thrown instanceof ProcessFailure) errors.push(...thrown.errors);
        else errors.push(errorText(thrown));
        failure = thrown;
      } else if (errors.length === 0 && value === ProcessResult.DELETED) {
        return await this.#delete(run);
      } else if (errors.length === 0 && value === ProcessResult.WAITING_FOR_RESULT && spec.local) {
        errors.push('ValueError: a local process cannot wait for results');
      } else if (errors.length === 0 && !spec.local && value !== undefined && value !== null && value !== ProcessResult.WAITING_FOR_RESULT) {
        errors.push(`ValueError: Invalid return value from process function: ${clip(JSON.stringify(value) ?? String(value))}`);
      }

      let event: (id: string) => ProcEvent;
      if (errors.length > 0) {
        failure ??= new ProcessFailure(...errors);
        event = (id) => ({ type: 'run.failed', run_id: id, errors: errors.map(clip), warnings: run.takeWarnings(), at: commit.iso() });
      } else if (value === ProcessResult.WAITING_FOR_RESULT) {
        event = (id) => ({ type: 'run.waiting', run_id: id, warnings: run.takeWarnings(), at: commit.iso() });
      } else {
        event = (id) => ({ type: 'run.succeeded', run_id: id, warnings: run.takeWarnings(), at: commit.iso() });
      }
      let outcome;
      try {
        outcome = await run.write(event);
      } catch (error) {
        if (error instanceof RunFencedError) return this.#fenced(error);
        throw error;
      }
      await effects.perform(outcome);
      if (failure !== undefined) return { kind: 'failed', error: failure };
      return outcome.proc.state.status === ProcessStatus.WAITING_FOR_RESULT ? { kind: 'waiting' } : { kind: 'succeeded', value };
    } finally {
      await run.end();
    }
  }

  #fenced(error: RunFencedError): RunResult {
    this.#options.logger.warn('a run was fenced; its results were not recorded', { kind: error.kind, id: error.id, run: error.runId, reason: error.reason });
    return { kind: 'fenced', error };
  }

  async #delete(run: ActiveRun): Promise<RunResult> {
    run.assertLive();
    const { commit, effects } = this.#options;
    const result = await commit.deleteByRun(run.proc, run.runId, (current) => current.state.status === ProcessStatus.RUNNING && current.state.context.run?.id === run.runId);
    if (result !== 'deleted') {
      run.fence('the proc moved on before it could be deleted');
      return this.#fenced(run.fenced as RunFencedError);
    }
    const parent = run.proc.state.context.parent;
    if (parent !== null) await effects.childEnded(parent, run.ref);
    return { kind: 'deleted' };
  }
}
