/**
 * Making procs and calling processes on them: one at a time (the public `create` and `call`),
 * and in bulk (`createMany`, `callMany`, a run's `startChildren`).
 *
 * The bulk path is what makes a fan-out of NOMAD's size affordable. It reads nothing first: the
 * children's first records go out in one batch, their documents in another, their calls in a
 * third, and their jobs — several runs to a job — in one dispatch. Anything it cannot do that way
 * (a child that exists already) falls back to the single path for that child alone. Every input
 * is checked before the first write, so bad input changes nothing.
 */
import { randomUUID } from 'node:crypto';
import {
  InvalidArgumentError,
  InvalidTransitionError,
  ProcAlreadyExistsError,
  ProcessAlreadyRunningError,
  ProcNotFoundError,
} from '../../machines/errors.js';
import type { ProcessCall, ProcRef } from '../../machines/proc-context.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import { assertProcId, assertUserFields, encodeJsonArgument } from '../../persistence/validate.js';
import { validated } from '../schema.js';
import type { JsonValue, ResolvedProcess } from '../define-kind.js';
import type { AcceptedOutcome, Commit, TransitionOutcome } from './commit.js';
import type { Effects } from './effects.js';
import type { KindRegistry } from './kind-registry.js';

/** Options of `create`: the new document's own fields and, for a child kind, its parent. */
export interface CreateOptions<TFields = Readonly<Record<string, unknown>>> {
  /** The user's own fields of the new document; checked with the kind's `fields` schema, when it has one. */
  readonly fields?: TFields | undefined;
  /** The parent's id, required for (and only for) a child kind. */
  readonly parent?: string | undefined;
}

/** One proc to create in bulk. */
export interface CreateItem<TFields = Readonly<Record<string, unknown>>> extends CreateOptions<TFields> {
  /** The new proc's id. */
  readonly id: string;
}

/** One process to call in bulk. */
export interface CallItem {
  /** The proc's id. */
  readonly id: string;
  /** The process to call. */
  readonly process: string;
  /** Its arguments. */
  readonly args?: JsonValue | undefined;
}

/** A child to create (when it does not exist yet) and call, as `startChildren` takes it. */
export interface StartItem extends CallItem {
  /** User fields for a child that does not exist yet. */
  readonly fields?: Readonly<Record<string, unknown>> | undefined;
}

/** What became of one proc of a bulk operation: its state, or why not. */
export type BulkItemResult<T> = { readonly id: string; readonly ok: true; readonly value: T } | { readonly id: string; readonly ok: false; readonly error: Error };

/** Children created and called in one round of inserts. */
const DEFAULT_CHUNK = 100;

interface PreparedCall {
  readonly ref: ProcRef;
  readonly call: ProcessCall;
}

/** Creation and calls for one runtime. */
export class Calls {
  readonly #commit: Commit;
  readonly #effects: Effects;
  readonly #registry: KindRegistry;

  constructor(options: { readonly commit: Commit; readonly effects: Effects; readonly registry: KindRegistry }) {
    this.#commit = options.commit;
    this.#effects = options.effects;
    this.#registry = options.registry;
  }

  /**
   * A new call of a process, with its arguments checked (with the process's schema, whose
   * output the process receives) and encoded. Nothing is written before this returned.
   * @throws InvalidArgumentError with the schema's issues, or when the arguments are not plain JSON
   */
  async newCall(kind: string, definition: ResolvedProcess, args: JsonValue | undefined): Promise<ProcessCall> {
    const checked = definition.args === undefined ? args : await validated(definition.args, args, `The arguments of ${kind}.${definition.name}`, { kind });
    return {
      id: randomUUID(),
      process: definition.name,
      args: encodeJsonArgument(checked ?? null, `Arguments of ${definition.name}`),
      blocking: definition.blocking,
      clear_queue_on_failure: definition.clearQueueOnFailure,
      child: definition.child,
      called_at: this.#commit.iso(),
    };
  }

  /**
   * Creates a proc in READY.
   * @throws ProcAlreadyExistsError, UnknownKindError, InvalidArgumentError, ProcNotFoundError (a missing parent)
   */
  async create(kind: string, id: string, options: CreateOptions = {}): Promise<StoredProc> {
    const { ref, parent, init } = await this.#prepareCreate(kind, { ...options, id });
    if (parent !== null && (await this.#commit.load(parent)) === undefined) throw new ProcNotFoundError(parent.kind, parent.id);
    return this.#commit.create(ref, parent, init);
  }

  /** Creates a child of a proc that is known to exist (the running one): no check of the parent. */
  async createChild(parent: ProcRef, kind: string, id: string, fields: Readonly<Record<string, unknown>> | undefined): Promise<StoredProc> {
    const child = this.#registry.childOf(parent.kind, kind);
    const prepared = await this.#prepareCreate(child.name, { id, fields, parent: parent.id });
    return this.#commit.create(prepared.ref, prepared.parent, prepared.init);
  }

  /**
   * Creates many procs of one kind in few round trips. Every item is checked first; a bad one
   * throws and nothing is written. A proc that exists already is reported, not created.
   */
  async createMany(kind: string, items: readonly CreateItem[]): Promise<Array<BulkItemResult<StoredProc>>> {
    const prepared = await Promise.all(items.map((item) => this.#prepareCreate(kind, item)));
    assertDistinct(prepared.map(({ ref }) => ref.id));
    const parents = new Map(prepared.filter(({ parent }) => parent !== null).map(({ parent }) => [(parent as ProcRef).id, parent as ProcRef]));
    for (const parent of parents.values()) if ((await this.#commit.load(parent)) === undefined) throw new ProcNotFoundError(parent.kind, parent.id);
    const results = await this.#commit.createMany(prepared);
    return results.map((result, index) => {
      const { ref } = prepared[index] as (typeof prepared)[number];
      if (result.status === 'created') return { id: ref.id, ok: true, value: result.proc };
      return { id: ref.id, ok: false, error: result.status === 'exists' ? new ProcAlreadyExistsError(ref.kind, ref.id) : result.error };
    });
  }

  async #prepareCreate(kind: string, item: CreateItem): Promise<{ ref: ProcRef; parent: ProcRef | null; init: Record<string, unknown> }> {
    if (typeof item !== 'object' || item === null) throw new InvalidArgumentError('Each item must be an object with an `id`.');
    const ref = this.#registry.ref(kind, item.id);
    if (item.fields !== undefined) assertUserFields(item.fields);
    const parentSpec = this.#registry.kind(kind).definition.parent;
    const init: Record<string, unknown> = { ...structuredClone(item.fields ?? {}) };
    if (parentSpec === undefined) {
      if (item.parent !== undefined) throw new InvalidArgumentError(`Kind ${kind} has no parent kind, so \`parent\` cannot be given.`);
      await this.#checkFields(ref, init);
      return { ref, parent: null, init };
    }
    if (item.parent === undefined) throw new InvalidArgumentError(`A ${kind} needs its parent ${parentSpec.kind}'s id (\`parent\`).`);
    assertProcId(item.parent);
    init[parentSpec.key] = item.parent;
    await this.#checkFields(ref, init);
    return { ref, parent: { kind: parentSpec.kind, id: item.parent }, init };
  }

  // A new document's fields (the parent key included) must pass the kind's schema. What is
  // stored is what the caller gave: a schema that strips or changes values never changes the
  // user's data.
  async #checkFields(ref: ProcRef, init: Record<string, unknown>): Promise<void> {
    const schema = this.#registry.kind(ref.kind).definition.fields;
    if (schema !== undefined) await validated(schema, init, `The fields of ${ref.kind} ${JSON.stringify(ref.id)}`, ref);
  }

  /**
   * Calls a process: PENDING and dispatched when nothing is processing, else queued.
   * @throws ProcessAlreadyRunningError, InvalidTransitionError, DispatchError
   */
  async call(ref: ProcRef, process: string, args: JsonValue | undefined, base?: StoredProc): Promise<StoredProc> {
    const call = await this.newCall(ref.kind, this.#registry.workerProcess(ref.kind, process), args);
    // The worker reads the record, not the document: the copy and the dispatch overlap.
    const outcome = accepted(await this.#commit.transition(ref, () => ({ type: 'process.called', call, at: this.#commit.iso() }), { base, runId: null, copyInBackground: true }), ref);
    await Promise.all([outcome.copied, this.#effects.perform(outcome)]);
    return outcome.proc;
  }

  /**
   * Calls processes on many procs of one kind; their jobs go out together, several runs to a
   * job. Every item is checked first; a bad one throws and nothing is written.
   */
  async callMany(kind: string, items: readonly CallItem[]): Promise<Array<BulkItemResult<StoredProc>>> {
    const prepared = await Promise.all(items.map((item) => this.#prepareCall(kind, item)));
    assertDistinct(prepared.map(({ ref }) => ref.id));
    const outcomes = await Promise.all(
      prepared.map(async ({ ref, call }) => {
        try {
          return accepted(await this.#commit.transition(ref, () => ({ type: 'process.called', call, at: this.#commit.iso() }), { runId: null }), ref);
        } catch (error) {
          return error as Error;
        }
      }),
    );
    const done = outcomes.filter((outcome): outcome is AcceptedOutcome => !(outcome instanceof Error));
    const dispatchError = await this.#effects.performAll(done).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    return outcomes.map((outcome, index) => {
      const id = (prepared[index] as PreparedCall).ref.id;
      if (outcome instanceof Error) return { id, ok: false, error: outcome };
      if (dispatchError !== undefined && outcome.proc.state.context.call?.id === (prepared[index] as PreparedCall).call.id) {
        return { id, ok: false, error: dispatchError };
      }
      return { id, ok: true, value: outcome.proc };
    });
  }

  async #prepareCall(kind: string, item: CallItem): Promise<PreparedCall> {
    if (typeof item !== 'object' || item === null) throw new InvalidArgumentError('Each item must be an object with an `id` and a `process`.');
    const ref = this.#registry.ref(kind, item.id);
    return { ref, call: await this.newCall(kind, this.#registry.workerProcess(kind, item.process), item.args) };
  }

  /**
   * Creates (where they do not exist) and calls children of `parent`, `chunk` at a time: per
   * chunk one batch of creation records, one of documents, one of calls and one dispatch.
   * `live` is called before each chunk (a run stops here once it is fenced).
   * @throws the first error a child met, after its chunk was done.
   */
  async startChildren(parent: ProcRef, childKind: string, items: readonly StartItem[], options: { readonly chunk?: number | undefined; readonly live?: (() => void) | undefined } = {}): Promise<void> {
    const child = this.#registry.childOf(parent.kind, childKind);
    const chunk = options.chunk ?? DEFAULT_CHUNK;
    if (!Number.isSafeInteger(chunk) || chunk < 1) throw new InvalidArgumentError(`concurrency must be a positive integer, got ${String(options.chunk)}.`);
    // Every child is checked before the first write.
    const prepared = await Promise.all(
      items.map(async (item) => {
        if (typeof item !== 'object' || item === null) throw new InvalidArgumentError('Each child must be an object with an `id` and a `process`.');
        // The same checks and fields as a creation of the child on its own.
        const { ref, init } = await this.#prepareCreate(child.name, { id: item.id, fields: item.fields, parent: parent.id });
        const call = await this.newCall(child.name, this.#registry.workerProcess(child.name, item.process), item.args);
        return { ref, parent, init, call };
      }),
    );
    assertDistinct(prepared.map(({ ref }) => ref.id));
    for (let start = 0; start < prepared.length; start += chunk) {
      options.live?.();
      await this.#startChunk(prepared.slice(start, start + chunk));
    }
  }

  async #startChunk(chunk: ReadonlyArray<PreparedCall & { readonly parent: ProcRef; readonly init: Record<string, unknown> }>): Promise<void> {
    const created = await this.#commit.createMany(chunk);
    const failure = created.find((result) => result.status === 'failed');
    // A child that could not be made stops the fan-out here: every child so far is either
    // absent or complete with its record, and nothing is called on top of a missing document.
    if (failure?.status === 'failed') throw failure.error;
    const settled = await Promise.allSettled(
      chunk.map(async (item, index): Promise<AcceptedOutcome> => {
        const result = created[index];
        const base = result?.status === 'created' ? result.proc : await this.#existing(item);
        return accepted(
          await this.#commit.transition(item.ref, () => ({ type: 'process.called', call: item.call, at: this.#commit.iso() }), { base, runId: null, requireCopy: true }),
          item.ref,
        );
      }),
    );
    // Every call that was recorded gets its job, even when a sibling was refused.
    await this.#effects.performAll(settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
    const refused = settled.find((result) => result.status === 'rejected');
    if (refused?.status === 'rejected') throw refused.reason;
  }

  /** A child that exists (or existed): loaded, or made again when its ledger ended in a deletion. */
  async #existing(item: { readonly ref: ProcRef; readonly parent: ProcRef; readonly init: Record<string, unknown> }): Promise<StoredProc> {
    const loaded = await this.#commit.load(item.ref);
    if (loaded !== undefined) return loaded;
    try {
      return await this.#commit.create(item.ref, item.parent, item.init);
    } catch (error) {
      // Made by someone else in the meantime: call it as it is.
      if (error instanceof ProcAlreadyExistsError) return this.#commit.mustLoad(item.ref);
      throw error;
    }
  }
}

/** The accepted outcome of a call, or the error a caller gets for a refused one. */
function accepted(outcome: TransitionOutcome, ref: ProcRef): AcceptedOutcome {
  if (outcome.accepted) return outcome;
  if (outcome.reason === 'blocked') throw new ProcessAlreadyRunningError(ref.kind, ref.id, 'A blocking process is running or waiting to run');
  throw new InvalidTransitionError(ref.kind, ref.id, outcome.proc.state.status, 'process.called');
}

function assertDistinct(ids: readonly string[]): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new InvalidArgumentError(`The id ${JSON.stringify(id)} is given twice.`);
    seen.add(id);
  }
}
