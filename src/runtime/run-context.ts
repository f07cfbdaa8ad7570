/**
 * The `ctx` a process function (or a join) receives: its arguments, an abort signal, and the
 * operations of its run. Every write goes through the run, which holds the proc's lease, so
 * once the lease is gone or someone else moved the proc on each of them throws `RunFencedError`.
 */
import { InvalidFieldsError, ProcNotFoundError, ProcstateMisuseError } from '../../machines/errors.js';
import { PROC_FIELD_NAMES } from '../../persistence/records.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { JsonValue } from '../define-kind.js';
import type { ChildCounts, ChildStart, ProcessContext } from '../process-context.js';
import { checked } from '../schema.js';
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

/** The context as the runtime builds it: names are strings and values JSON; the kinds' types are the caller's view of it. */
type UntypedContext = Omit<ProcessContext<JsonValue>, 'createChild' | 'startChild' | 'startChildren' | 'childCounts'> & {
  createChild(childKind: string, childId: string, fields?: Readonly<Record<string, unknown>>): Promise<void>;
  startChild(childKind: string, childId: string, process: string, args?: JsonValue, fields?: Readonly<Record<string, unknown>>): Promise<void>;
  startChildren(childKind: string, children: readonly ChildStart[], options?: { concurrency?: number }): Promise<void>;
  childCounts(childKind?: string): Promise<ChildCounts>;
};

/** Builds the context of one run. */
export function runContext(run: ActiveRun, spec: RunSpec, deps: RunContextDependencies): ProcessContext<any, any> {
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
  const context: UntypedContext = {
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
    fields: async () => {
      const document = await deps.store.readDocument(ref);
      if (document === undefined) throw new ProcNotFoundError(ref.kind, ref.id);
      const own = Object.fromEntries(Object.entries(document).filter(([name]) => name !== '_id' && !PROC_FIELD_NAMES.includes(name)));
      const schema = deps.registry.kind(ref.kind).definition.fields;
      if (schema === undefined) return own;
      const result = await checked(schema, own);
      if ('issues' in result) throw new InvalidFieldsError(ref.kind, ref.id, result.issues);
      return result.value;
    },
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
  return context as unknown as ProcessContext<any, any>;
}
