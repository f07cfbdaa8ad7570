/**
 * The kinds a runtime works with: their processes (with defaults applied), their children, and
 * the checks every public entry point makes on a kind, a process name and an id before anything
 * reaches a store.
 */
import { InvalidArgumentError, InvalidDefinitionError, UnknownKindError, UnknownProcessError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import { assertFieldName, assertKindName, assertProcId } from '../../persistence/validate.js';
import { resolveProcess, type KindDefinition, type ResolvedProcess } from '../define-kind.js';

/** A child kind as its parent sees it: the definition and the field holding the parent's id. */
export interface ChildKind {
  readonly definition: KindDefinition;
  readonly name: string;
  /** The field of a child's document that holds the parent's id, e.g. `upload_id`. */
  readonly parentKey: string;
}

/** One registered kind. */
export interface KindEntry {
  readonly definition: KindDefinition;
  readonly processes: ReadonlyMap<string, ResolvedProcess>;
  readonly children: readonly ChildKind[];
}

/** The kinds of one runtime, checked once at construction. */
export class KindRegistry {
  readonly #kinds = new Map<string, KindEntry>();
  readonly #defaultLeaseMs: number;

  /** @throws InvalidDefinitionError when kinds are inconsistent (a missing parent kind, a cycle, a duplicate). */
  constructor(kinds: readonly KindDefinition[], defaultLeaseMs: number) {
    this.#defaultLeaseMs = defaultLeaseMs;
    for (const definition of kinds) {
      if (this.#kinds.has(definition.name)) throw new InvalidDefinitionError(`Kind ${definition.name} is defined twice.`);
      const processes = new Map<string, ResolvedProcess>();
      for (const [name, process] of Object.entries(definition.processes)) processes.set(name, resolveProcess(definition.name, name, process));
      this.#kinds.set(definition.name, { definition, processes, children: [] });
    }
    for (const { definition } of this.#kinds.values()) {
      for (const child of definition.children ?? []) {
        if (this.#kinds.get(child.name)?.definition.parent?.kind !== definition.name) {
          throw new InvalidDefinitionError(`Kind ${definition.name} lists child kind ${child.name}, which is not among the runtime's kinds with ${definition.name} as its parent.`);
        }
      }
    }
    for (const { definition } of this.#kinds.values()) {
      if (definition.parent === undefined) continue;
      const parent = this.#kinds.get(definition.parent.kind);
      if (parent === undefined) throw new InvalidDefinitionError(`Kind ${definition.name} names parent kind ${definition.parent.kind}, which is not defined.`);
      (parent.children as ChildKind[]).push({ definition, name: definition.name, parentKey: definition.parent.key });
      const seen = new Set([definition.name]);
      for (let up: KindDefinition | undefined = parent.definition; up?.parent !== undefined; up = this.#kinds.get(up.parent.kind)?.definition) {
        if (seen.has(up.name)) throw new InvalidDefinitionError(`Kinds ${[...seen].join(', ')} form a parent cycle.`);
        seen.add(up.name);
      }
    }
  }

  /** Every kind's name, in definition order. */
  names(): string[] {
    return [...this.#kinds.keys()];
  }

  /** True when the kind is registered (no checks, no error). */
  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }

  /** The kind. @throws InvalidArgumentError for a malformed name, UnknownKindError for an unknown one. */
  kind(kind: string): KindEntry {
    assertKindName(kind);
    const entry = this.#kinds.get(kind);
    if (entry === undefined) throw new UnknownKindError(kind);
    return entry;
  }

  /** A checked reference to a proc of a registered kind. */
  ref(kind: string, id: string): ProcRef {
    this.kind(kind);
    assertProcId(id);
    return { kind, id };
  }

  /** A process of a kind. @throws UnknownProcessError when the kind has none of that name. */
  process(kind: string, process: string): ResolvedProcess {
    if (typeof process !== 'string') throw new InvalidArgumentError(`A process name must be a string, got ${typeof process}.`);
    assertFieldName(process);
    const definition = this.kind(kind).processes.get(process);
    if (definition === undefined) throw new UnknownProcessError(kind, process);
    return definition;
  }

  /** A process the scheduler may run (not a local one). */
  workerProcess(kind: string, process: string): ResolvedProcess {
    const definition = this.process(kind, process);
    if (definition.local) throw new UnknownProcessError(kind, process, 'is a local process; run it with runLocal');
    return definition;
  }

  /** The child kind `name` of `parentKind`. @throws UnknownKindError when it is not one of its children. */
  childOf(parentKind: string, name: string): ChildKind {
    const child = this.kind(parentKind).children.find((candidate) => candidate.name === name);
    if (child === undefined) throw new UnknownKindError(name, `it is not a child kind of ${parentKind}`);
    return child;
  }

  /** The lease of runs of a process: the process's own, the kind's, or the runtime's. */
  leaseFor(kind: string, definition: ResolvedProcess | undefined): number {
    return definition?.leaseMs ?? this.kind(kind).definition.leaseMs ?? this.#defaultLeaseMs;
  }
}
