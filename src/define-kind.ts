/**
 * Kinds of proc and their processes, as users define them.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidDefinitionError } from '../machines/errors.js';
import type { ArgsInProcess } from './kind-types.js';
import type { ProcessContext } from './process-context.js';
import type { ProcessResult } from '../machines/process-status.js';
import { isStandardSchema } from './schema.js';

/** Any JSON value: what process arguments may be. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a process function may return: nothing (success), `ProcessResult.WAITING_FOR_RESULT`
 * (wait for children), `ProcessResult.DELETED` (the process deleted its object). A local
 * process may also return any value, which its caller receives.
 */
export type ProcessReturn = void | undefined | null | ProcessResult | (string & {}) | number | boolean | object;

/**
 * A process function: receives its context, returns per the return-value protocol. `TChildren`
 * are the kind's child kinds, which `ctx.startChild` and friends accept.
 */
export type ProcessFunction<TArgs = JsonValue, TChildren extends readonly KindDefinition[] = readonly KindDefinition[], TFields = Readonly<Record<string, unknown>>> = (
  ctx: ProcessContext<TArgs, TChildren, TFields>,
) => Promise<ProcessReturn> | ProcessReturn;

/** The output type of a Standard Schema (`unknown` for anything else, e.g. no schema). */
export type SchemaOutput<S> = S extends StandardSchemaV1<any, infer O> ? O : unknown;
/** The input type of a Standard Schema (`unknown` for anything else, e.g. no schema). */
export type SchemaInput<S> = S extends StandardSchemaV1<infer I, any> ? I : unknown;

/** One process of a kind; `TArgs` is its argument type, from its `args` schema. */
export interface ProcessDefinition<TArgs = unknown, TChildren extends readonly KindDefinition[] = readonly KindDefinition[], TFields = Readonly<Record<string, unknown>>> {
  /**
   * A Standard Schema (zod, valibot, arktype, … or `typedArgs<T>()`) for the arguments: every
   * call is checked with it before anything is recorded, the process receives the schema's
   * output, and its output type is the argument type `call` accepts. Without one, any JSON.
   */
  readonly args?: StandardSchemaV1<unknown, TArgs> | undefined;
  /** The process function. */
  readonly run: ProcessFunction<ArgsInProcess<TArgs>, TChildren, TFields>;
  /**
   * While current or queued, further calls raise `ProcessAlreadyRunningError`.
   * @defaultValue false (always true for local processes)
   */
  readonly blocking?: boolean | undefined;
  /** A failure drops the calls queued behind this process. @defaultValue true */
  readonly clearQueueOnFailure?: boolean | undefined;
  /**
   * NOMAD's flag for a process run on the parent's behalf; recorded with the call. The parent's
   * join waits for every processing child, whatever this says. @defaultValue false
   */
  readonly child?: boolean | undefined;
  /** Runs in the caller (`runtime.runLocal`) instead of on a worker. @defaultValue false */
  readonly local?: boolean | undefined;
  /** After this long the run's `signal` aborts and the function should stop; it then fails. */
  readonly softTimeoutMs?: number | undefined;
  /** After this long the proc fails (`task timeout occurred`) and the run is fenced. */
  readonly hardTimeoutMs?: number | undefined;
  /** Lease length for runs of this process. @defaultValue the runtime's `leaseMs` */
  readonly leaseMs?: number | undefined;
}

/** Where a child kind's procs hang in the hierarchy. */
export interface ParentSpec {
  /** The parent kind, e.g. `upload`. */
  readonly kind: string;
  /** The field of a child document that holds the parent's id, e.g. `upload_id`. */
  readonly key: string;
}

/** A kind of proc, e.g. `upload` or `entry`. */
export interface KindDefinition {
  /** The kind's name; also the default collection suffix in stores that need one. */
  readonly name: string;
  /** The processes that can be called on procs of this kind. */
  readonly processes: Readonly<Record<string, ProcessDefinition<any, any, any>>>;
  /** For a child kind: its parent kind and the key field. */
  readonly parent?: ParentSpec | undefined;
  /**
   * The child kinds (each naming this kind as its parent), so that `ctx.startChild` and
   * friends accept only them and their processes, with their argument types. Optional: without
   * it the registry still knows the children from their `parent`, and the names are strings.
   */
  readonly children?: readonly KindDefinition[] | undefined;
  /**
   * A Standard Schema for the user's fields of this kind's documents: fields given at creation
   * are checked with it before anything is written, and `ctx.fields()` reads them checked.
   */
  readonly fields?: StandardSchemaV1<unknown, Readonly<Record<string, unknown>>> | undefined;
  /**
   * Runs once no child is processing after a process returned WAITING_FOR_RESULT; returns per
   * the same protocol (WAITING_FOR_RESULT again for another level). @defaultValue succeed
   */
  readonly join?: ProcessFunction<JsonValue, any, any> | undefined;
  /** Lease length for runs of this kind. @defaultValue the runtime's `leaseMs` */
  readonly leaseMs?: number | undefined;
}

/** The fields a process of a kind reads with `ctx.fields()`: its `fields` schema's output, else any object. */
type FieldsOutput<TFieldsSchema> = unknown extends SchemaOutput<TFieldsSchema> ? Readonly<Record<string, unknown>> : SchemaOutput<TFieldsSchema>;

/**
 * One process as {@link defineKind} takes it: `S` is the type of its `args` schema (`unknown`
 * without one), which gives the process its argument type and `call` the type it accepts.
 */
export interface ProcessSpec<S, TChildren extends readonly KindDefinition[], TFieldsSchema = unknown> extends Omit<ProcessDefinition<unknown, TChildren>, 'args' | 'run'> {
  /** See {@link ProcessDefinition.args}. */
  readonly args?: (S & StandardSchemaV1) | undefined;
  /** The process function; `ctx.args` is the schema's output. */
  readonly run: ProcessFunction<ArgsInProcess<SchemaOutput<S>>, TChildren, FieldsOutput<TFieldsSchema>>;
}

/**
 * A kind as {@link defineKind} returns it: its name, its processes with their schemas, its
 * parent, child kinds and fields schema kept in its type, so that a runtime given it is typed by it.
 */
export interface TypedKindDefinition<TName extends string, TSchemas, TChildren extends readonly KindDefinition[], TFieldsSchema, TParent extends ParentSpec | undefined>
  extends KindDefinition {
  readonly name: TName;
  readonly processes: { readonly [P in keyof TSchemas]: ProcessSpec<TSchemas[P], TChildren, TFieldsSchema> };
  readonly parent?: TParent;
  readonly children?: TChildren | undefined;
  readonly fields?: (TFieldsSchema & StandardSchemaV1<unknown, Readonly<Record<string, unknown>>>) | undefined;
  readonly join?: ProcessFunction<JsonValue, TChildren, FieldsOutput<TFieldsSchema>> | undefined;
}

/**
 * What {@link defineKind} takes; its type parameters are inferred from it. The process names
 * are inferred on their own (`Record<TKeys, unknown>`): a kind whose every process has only a
 * `run` (a function typed by its context) would otherwise give the compiler nothing to infer
 * the names from, and its names would widen to `string`.
 */
export interface KindSpec<TName extends string, TKeys extends string, TSchemas, TChildren extends readonly KindDefinition[], TFieldsSchema, TParent extends ParentSpec | undefined> {
  readonly name: TName;
  readonly processes: Readonly<Record<TKeys, unknown>> & { readonly [P in keyof TSchemas]: ProcessSpec<TSchemas[P], TChildren, TFieldsSchema> };
  readonly parent?: TParent;
  readonly children?: TChildren | undefined;
  readonly fields?: (TFieldsSchema & StandardSchemaV1<unknown, Readonly<Record<string, unknown>>>) | undefined;
  readonly join?: ProcessFunction<JsonValue, TChildren, FieldsOutput<TFieldsSchema>> | undefined;
  readonly leaseMs?: number | undefined;
}

/** A process definition with every default applied. */
export interface ResolvedProcess {
  readonly name: string;
  readonly run: ProcessFunction<any, any>;
  /** The arguments' schema, if the process has one. */
  readonly args: StandardSchemaV1 | undefined;
  readonly blocking: boolean;
  readonly clearQueueOnFailure: boolean;
  readonly child: boolean;
  readonly local: boolean;
  readonly softTimeoutMs: number | undefined;
  readonly hardTimeoutMs: number | undefined;
  readonly leaseMs: number | undefined;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const KIND_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

function positiveOrUndefined(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidDefinitionError(`${where} must be a positive integer of milliseconds, got ${String(value)}.`);
  }
  return value;
}

function flag(value: unknown, fallback: boolean, where: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidDefinitionError(`${where} must be a boolean, got ${String(value)}.`);
  return value;
}

/** Applies defaults to a process definition and checks it. */
export function resolveProcess(kind: string, name: string, definition: ProcessDefinition<any, any>): ResolvedProcess {
  const where = `${kind}.${name}`;
  if (!NAME_PATTERN.test(name)) throw new InvalidDefinitionError(`Process name ${JSON.stringify(name)} of kind ${kind} must match ${NAME_PATTERN}.`);
  if (typeof definition !== 'object' || definition === null || typeof definition.run !== 'function') {
    throw new InvalidDefinitionError(`${where} needs a \`run\` function.`);
  }
  const local = flag(definition.local, false, `${where}.local`);
  const child = flag(definition.child, false, `${where}.child`);
  if (local && child) throw new InvalidDefinitionError(`${where} cannot be both local and child: a local process runs in its caller.`);
  if (local && definition.blocking === false) throw new InvalidDefinitionError(`${where} is local, and local processes are always blocking.`);
  const softTimeoutMs = positiveOrUndefined(definition.softTimeoutMs, `${where}.softTimeoutMs`);
  const hardTimeoutMs = positiveOrUndefined(definition.hardTimeoutMs, `${where}.hardTimeoutMs`);
  if (softTimeoutMs !== undefined && hardTimeoutMs !== undefined && hardTimeoutMs <= softTimeoutMs) {
    throw new InvalidDefinitionError(`${where}.hardTimeoutMs must be longer than softTimeoutMs.`);
  }
  if (definition.args !== undefined && !isStandardSchema(definition.args)) {
    throw new InvalidDefinitionError(`${where}.args must be a Standard Schema (zod, valibot, arktype, … or typedArgs<T>()), got ${typeof definition.args}.`);
  }
  return {
    name,
    run: definition.run,
    args: definition.args,
    blocking: local || flag(definition.blocking, false, `${where}.blocking`),
    clearQueueOnFailure: flag(definition.clearQueueOnFailure, true, `${where}.clearQueueOnFailure`),
    child,
    local,
    softTimeoutMs,
    hardTimeoutMs,
    leaseMs: positiveOrUndefined(definition.leaseMs, `${where}.leaseMs`),
  };
}

/**
 * Defines a kind of proc. Checks the definition at once, so a mistake is an error at start-up
 * rather than on the first call.
 *
 * @example
 * ```ts
 * import { defineKind, ProcessResult } from 'procstate';
 *
 * const upload = defineKind({
 *   name: 'upload',
 *   processes: {
 *     process_upload: {
 *       run: async (ctx) => {
 *         await ctx.setStep('Matching');
 *         await ctx.startChild('entry', 'e1', 'process_entry');
 *         return ProcessResult.WAITING_FOR_RESULT;
 *       },
 *     },
 *   },
 * });
 * const entry = defineKind({
 *   name: 'entry',
 *   parent: { kind: 'upload', key: 'upload_id' },
 *   processes: { process_entry: { child: true, run: async (ctx) => { await ctx.setStep('Parsing'); } } },
 * });
 * ```
 * @throws InvalidDefinitionError when a name, flag or timeout is malformed.
 */
export function defineKind<
  const TName extends string,
  TKeys extends string,
  TSchemas extends { readonly [P in TKeys]?: unknown },
  const TChildren extends readonly KindDefinition[] = readonly KindDefinition[],
  TFieldsSchema = unknown,
  const TParent extends ParentSpec | undefined = undefined,
>(definition: KindSpec<TName, TKeys, TSchemas, TChildren, TFieldsSchema, TParent>): TypedKindDefinition<TName, { [P in TKeys]: P extends keyof TSchemas ? TSchemas[P] : unknown }, TChildren, TFieldsSchema, TParent> {
  if (typeof definition !== 'object' || definition === null) throw new InvalidDefinitionError('A kind definition must be an object.');
  if (typeof definition.name !== 'string' || !KIND_PATTERN.test(definition.name)) {
    throw new InvalidDefinitionError(`Kind name ${JSON.stringify(definition.name)} must match ${KIND_PATTERN}.`);
  }
  if (typeof definition.processes !== 'object' || definition.processes === null) {
    throw new InvalidDefinitionError(`Kind ${definition.name} needs a \`processes\` object.`);
  }
  for (const [name, process] of Object.entries(definition.processes)) resolveProcess(definition.name, name, process as ProcessDefinition<any, any, any>);
  if (definition.parent !== undefined) {
    const { kind, key } = definition.parent;
    if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) throw new InvalidDefinitionError(`${definition.name}.parent.kind is malformed.`);
    if (typeof key !== 'string' || !NAME_PATTERN.test(key)) throw new InvalidDefinitionError(`${definition.name}.parent.key must match ${NAME_PATTERN}.`);
    if (kind === definition.name) throw new InvalidDefinitionError(`${definition.name} cannot be its own parent.`);
  }
  if (definition.join !== undefined && typeof definition.join !== 'function') {
    throw new InvalidDefinitionError(`${definition.name}.join must be a function.`);
  }
  positiveOrUndefined(definition.leaseMs, `${definition.name}.leaseMs`);
  if (definition.fields !== undefined && !isStandardSchema(definition.fields)) {
    throw new InvalidDefinitionError(`${definition.name}.fields must be a Standard Schema (zod, valibot, arktype, …).`);
  }
  if (definition.children !== undefined) {
    if (!Array.isArray(definition.children)) throw new InvalidDefinitionError(`${definition.name}.children must be an array of kinds.`);
    for (const child of definition.children as readonly KindDefinition[]) {
      if (child?.parent?.kind !== definition.name) {
        throw new InvalidDefinitionError(`${definition.name}.children lists ${JSON.stringify(child?.name)}, whose parent is ${JSON.stringify(child?.parent?.kind)}, not ${JSON.stringify(definition.name)}.`);
      }
    }
  }
  return Object.freeze({ ...definition, processes: Object.freeze({ ...definition.processes }) }) as unknown as TypedKindDefinition<TName, { [P in TKeys]: P extends keyof TSchemas ? TSchemas[P] : unknown }, TChildren, TFieldsSchema, TParent>;
}
