/**
 * The types that make a runtime, and a process's context, typed by the kinds it was given:
 * which kind names exist, which processes each has, what arguments each takes, which fields
 * a kind's documents carry, which kinds are a kind's children. Types only.
 *
 * Every one of them falls back to today's untyped API when the kinds carry no literal names or
 * schemas (`readonly KindDefinition[]`): names are strings and arguments are JSON.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { JsonValue, KindDefinition, ProcessDefinition } from './define-kind.js';

/** Any list of kinds. */
export type AnyKinds = readonly KindDefinition[];

/** The names of the kinds in `K`. */
export type KindNameOf<K extends AnyKinds> = K[number]['name'];

/** The kind named `N` in `K` (any kind, when `K`'s names are plain strings). */
export type KindOf<K extends AnyKinds, N> = string extends KindNameOf<K> ? K[number] : Extract<K[number], { readonly name: N }>;

/** The names of a kind's processes. */
export type ProcessNameOf<D extends KindDefinition> = keyof D['processes'] & string;

/** Stands for "this process declared no argument type": it takes any JSON, or none. A brand, never a value. */
export interface UntypedArguments {
  readonly '~procstate.untypedArguments': never;
}

/** The argument type a call of a kind's process takes (its schema's input), or {@link UntypedArguments}. */
export type ArgumentsOf<D extends KindDefinition, P> = P extends keyof D['processes'] ? SchemaArguments<Exclude<D['processes'][P]['args'], undefined>> : UntypedArguments;

type SchemaArguments<S> = [S] extends [StandardSchemaV1<infer I, any>] ? (unknown extends I ? UntypedArguments : I) : UntypedArguments;

/**
 * The arguments a call passes after the process name: any JSON or none for an untyped
 * process, nothing for one whose schema's output is `undefined`, else the typed value
 * (optional when the type admits `undefined`).
 */
export type CallArguments<T> = [T] extends [UntypedArguments] ? [args?: JsonValue] : [T] extends [undefined] ? [] : undefined extends T ? [args?: T] : [args: T];

/** `args` of a bulk item or a child start, as {@link CallArguments} decides. */
export type ArgumentsProperty<T> = [T] extends [UntypedArguments]
  ? { readonly args?: JsonValue | undefined }
  : [T] extends [undefined]
    ? { readonly args?: undefined }
    : undefined extends T
      ? { readonly args?: T }
      : { readonly args: T };

/** The fields of a kind's documents as its processes read them: its `fields` schema's output, else any object. */
export type FieldsOf<D extends KindDefinition> = SchemaFields<Exclude<D['fields'], undefined>, 'output'>;

/**
 * The fields a new proc of kind `D` is given: its `fields` schema's input, without the parent
 * key (procstate sets it from `parent`); any object without a schema.
 */
export type NewFieldsOf<D extends KindDefinition> = string extends ParentKeyOf<D> ? SchemaFields<Exclude<D['fields'], undefined>, 'input'> : OmitParentKey<SchemaFields<Exclude<D['fields'], undefined>, 'input'>, ParentKeyOf<D>>;

type ParentKeyOf<D extends KindDefinition> = Exclude<D['parent'], undefined> extends { readonly key: infer K extends string } ? K : string;
type OmitParentKey<F, K extends string> = F extends object ? Omit<F, K> & Partial<Pick<F, Extract<K, keyof F>>> : F;
type SchemaFields<S, Side extends 'input' | 'output'> = [S] extends [StandardSchemaV1<infer I, infer O>]
  ? unknown extends (Side extends 'input' ? I : O)
    ? Readonly<Record<string, unknown>>
    : Side extends 'input'
      ? I
      : O
  : Readonly<Record<string, unknown>>;

/** One call of a bulk `callMany` on procs of kind `D`. */
export type CallItemOf<D extends KindDefinition> = { [P in ProcessNameOf<D>]: { readonly id: string; readonly process: P } & ArgumentsProperty<ArgumentsOf<D, P>> }[ProcessNameOf<D>];

/** One child of kind `D` to create (when it does not exist yet) and call. */
export type ChildStartOf<D extends KindDefinition> = {
  [P in ProcessNameOf<D>]: { readonly id: string; readonly process: P; readonly fields?: NewFieldsOf<D> | undefined } & ArgumentsProperty<ArgumentsOf<D, P>>;
}[ProcessNameOf<D>];

/**
 * What a process function receives as `ctx.args` for an argument type `T`: JSON has no
 * `undefined`, so an argument left out arrives as `null`. A process without an `args` schema
 * gets `any` (its JSON), as before kinds were typed, so existing casts keep compiling.
 */
export type ArgsInProcess<T> = unknown extends T ? any : Exclude<T, undefined> | (undefined extends T ? null : never);
