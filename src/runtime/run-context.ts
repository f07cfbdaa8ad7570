/**
 * The `ctx` a process function (or a join) receives: its arguments, an abort signal, and the
 * operations of its run. Every write goes through the run, which holds the proc's lease, so
 * once the lease is gone or someone else moved the proc on each of them throws `RunFencedError`.
 */
import { ProcstateMisuseError } from '../../machines/errors.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { JsonValue } from '../define-kind.js';
import type { ChildStart, ProcessContext } from '../process-context.js';
import { toProcSnapshot } from '../proc-snapshot.js';
import type { ActiveRun } from './active-run.js';
import type { Calls, CreateOptions } from './calls.js';
import { countChildren } from './child-counts.js';
import type { KindRegistry } from './kind-registry.js';
import { assertText, clip, errorText } from './texts.js';

/** What a run executes: which process, with which arguments, as a join or not. */
export interface RunSpec {
  readonly process: string;
  readonly args: JsonValue;
  readonly joining: boolean;
}

/** What a run's context works with. */
export interface RunContextDependencies {
  readonly calls: Calls;
  readonly registry: KindRegistry;
  readonly store: ProcStore;
  readonly iso: () => string;
}

/** Builds the context of one run. */
export function runContext(run: ActiveRun, spec: RunSpec, deps: RunContextDependencies): ProcessContext<any> {
  const { ref } = run;
  const progress = async (step: string | undefined, message: string | undefined) => {
    await run.write((id) => ({ type: 'run.progressed', run_id: id, step, message, warnings: run.takeWarnings(), at: deps.iso() }));
  };
  const startChildren = async (kind: string, children: readonly ChildStart[], options: { concurrency?: number } = {}) => {
    run.assertLive();
    try {
      await deps.calls.startChildren(ref, kind, children, { chunk: options.concurrency, live: () => run.assertLive() });
    } catch (error) {
      // A fan-out that broke off part-way must not let the parent wait for (and join on) a
      // partial set of children, even when the function catches the error.
      if (!(error instanceof ProcstateMisuseError) && run.fenced === undefined) run.recordError(clip(errorText(error)));
      throw error;
    }
  };
  return {
    kind: ref.kind,
    id: ref.id,
    process: spec.process,
    args: spec.args,
    joining: spec.joining,
    get signal() {
      return run.signal;
    },
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
    document: async () => deps.store.readDocument(ref),
    createChild: async (kind, childId, fields) => {
      run.assertLive();
      await deps.calls.createChild(ref, kind, childId, fields);
    },
    startChild: async (kind, childId, process, args, fields) => {
      await startChildren(kind, [{ id: childId, process, args, fields }]);
    },
    startChildren,
    createProc: async (kind: string, id: string, options: CreateOptions = {}) => {
      run.assertLive();
      await deps.calls.create(kind, id, options);
    },
    call: async (kind: string, id: string, process: string, args?: JsonValue) => {
      run.assertLive();
      await deps.calls.call(deps.registry.ref(kind, id), process, args);
    },
    childCounts: async (kind?: string) => countChildren(deps.store, deps.registry, ref, kind),
  };
}
