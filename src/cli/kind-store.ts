/**
 * Which collection holds a kind's procs, and a store on them. A command never guesses: a kind
 * whose collection nobody named, or a collection that does not exist, is an error saying what
 * to pass (reading an empty collection would report zero procs, a silent wrong answer).
 */
import type { Db } from 'mongodb';
import { InvalidArgumentError, UnknownKindError } from '../../machines/errors.js';
import { MongoProcStore } from '../../persistence/mongodb/mongo-proc-store.js';
import type { ProcstateModule } from './kinds-module.js';
import { UsageError } from './options.js';

/** Where a kind's procs are: its collection, and for a child kind the key naming its parent. */
export interface KindPlace {
  readonly name: string;
  readonly collection: string;
  readonly parentKey?: string | undefined;
}

/** A store on `db` for the kinds, each in its collection. */
export function storeForKinds(db: Db, kinds: readonly KindPlace[]): MongoProcStore {
  return new MongoProcStore({
    db,
    kinds: Object.fromEntries(kinds.map((kind) => [kind.name, { documents: db.collection(kind.collection), parentKey: kind.parentKey }])),
  });
}

/** Where each kind of a module is: the module's `collections`, else the kind's name. */
export function placesOf(module: ProcstateModule): KindPlace[] {
  return module.kinds.map((kind) => ({ name: kind.name, collection: module.collections?.[kind.name] ?? kind.name, parentKey: kind.parent?.key }));
}

/** The kind a command is about, as far as the command line tells, with its child kinds. */
export interface KindInfo extends KindPlace {
  /** Its child kinds, when a module says. */
  readonly children: readonly (KindPlace & { readonly parentKey: string })[];
}

/**
 * Resolves a kind to its collection: the module's `collections`, else `--collection`, else,
 * when the module defines the kind, the kind's name (as `procstate worker` does).
 * @throws UnknownKindError when the module does not define the kind
 * @throws UsageError when neither a module nor `--collection` is given
 */
export function resolveKind(kind: string, module: ProcstateModule | undefined, collection: string | undefined, command: string): KindInfo {
  if (module === undefined) {
    if (collection === undefined) {
      throw new UsageError(`${command} cannot know which collection holds the procs of kind ${JSON.stringify(kind)}: pass --module FILE (a kinds module, with \`collections\`) or --collection NAME.`);
    }
    return { name: kind, collection, children: [] };
  }
  const definition = module.kinds.find((candidate) => candidate.name === kind);
  if (definition === undefined) throw new UnknownKindError(kind, `the module defines ${module.kinds.map((candidate) => JSON.stringify(candidate.name)).join(', ')}`);
  const collectionOf = (name: string) => module.collections?.[name] ?? (name === kind ? collection : undefined) ?? name;
  return {
    name: kind,
    collection: collectionOf(kind),
    parentKey: definition.parent?.key,
    children: module.kinds.flatMap((candidate) => (candidate.parent?.kind === kind ? [{ name: candidate.name, collection: collectionOf(candidate.name), parentKey: candidate.parent.key }] : [])),
  };
}

/**
 * Checks that every named collection exists in `db`.
 * @throws InvalidArgumentError naming the missing one and the collections that do exist
 */
export async function assertCollectionsExist(db: Db, names: readonly string[], hint: string): Promise<void> {
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((info) => String(info.name)));
  for (const name of names) {
    if (existing.has(name)) continue;
    const shown = [...existing].filter((candidate) => !candidate.startsWith('system.')).sort().slice(0, 12);
    throw new InvalidArgumentError(
      `database ${JSON.stringify(db.databaseName)} has no collection ${JSON.stringify(name)} (it has ${shown.length === 0 ? 'none' : shown.join(', ')}); ${hint}`,
    );
  }
}
