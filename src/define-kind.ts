/**
 * Kinds of proc and their processes, as users define them.
 */
import { InvalidDefinitionError } from '../machines/errors.js';
import type { ProcessContext } from './process-context.js';
import type { ProcessResult } from '../machines/process-status.js';

/** Any JSON value: what process arguments may be. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a process function may return: nothing (success), `ProcessResult.WAITING_FOR_RESULT`
 * (wait for children), `ProcessResult.DELETED` (the process deleted its object). A local
 * process may also return any value, which its caller receives.
 */
export type ProcessReturn = void | undefined | null | ProcessResult | (string & {}) | number | boolean | object;

/** A process function: receives its context, returns per the return-value protocol. */
export type ProcessFunction<TArgs = JsonValue> = (ctx: ProcessContext<TArgs>) => Promise<ProcessReturn> | ProcessReturn;

/** One process of a kind. */
export interface ProcessDefinition<TArgs = JsonValue> {
  /** The process function. */
  readonly run: ProcessFunction<TArgs>;
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
  readonly processes: Readonly<Record<string, ProcessDefinition<any>>>;
  /** For a child kind: its parent kind and the key field. */
  readonly parent?: ParentSpec | undefined;
  /**
   * Runs once no child is processing after a process returned WAITING_FOR_RESULT; returns per
   * the same protocol (WAITING_FOR_RESULT again for another level). @defaultValue succeed
   */
  readonly join?: ProcessFunction<JsonValue> | undefined;
  /** Lease length for runs of this kind. @defaultValue the runtime's `leaseMs` */
  readonly leaseMs?: number | undefined;
}

/** A process definition with every default applied. */
export interface ResolvedProcess {
  readonly name: string;
  readonly run: ProcessFunction<any>;
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
export function resolveProcess(kind: string, name: string, definition: ProcessDefinition<any>): ResolvedProcess {
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
  return {
    name,
    run: definition.run,
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
export function defineKind<const TKind extends KindDefinition>(definition: TKind): TKind {
  if (typeof definition !== 'object' || definition === null) throw new InvalidDefinitionError('A kind definition must be an object.');
  if (typeof definition.name !== 'string' || !KIND_PATTERN.test(definition.name)) {
    throw new InvalidDefinitionError(`Kind name ${JSON.stringify(definition.name)} must match ${KIND_PATTERN}.`);
  }
  if (typeof definition.processes !== 'object' || definition.processes === null) {
    throw new InvalidDefinitionError(`Kind ${definition.name} needs a \`processes\` object.`);
  }
  for (const [name, process] of Object.entries(definition.processes)) resolveProcess(definition.name, name, process);
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
  return Object.freeze({ ...definition, processes: Object.freeze({ ...definition.processes }) }) as TKind;
}
