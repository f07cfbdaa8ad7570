/**
 * Input checks that run before anything reaches a store, so that no filter is ever built from
 * unchecked input (an id like `{ $ne: null }` is refused here, with a typed error).
 */
import { InvalidArgumentError } from '../machines/errors.js';
import type { ProcRef } from '../machines/proc-context.js';
import type { FieldFilter } from './records.js';
import { PROC_FIELD_NAMES } from './records.js';

/** Longest proc id accepted. */
export const MAX_ID_LENGTH = 512;

/** What a kind name may be. */
export const KIND_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Checks a kind name: a letter, then letters, digits, `_` or `-`, at most 64 characters. */
export function assertKindName(kind: unknown): asserts kind is string {
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
    throw new InvalidArgumentError(`A kind name must match ${KIND_PATTERN}, got ${describe(kind)}.`);
  }
}

/** Checks a proc id: a non-empty string of at most 512 characters without NUL. */
export function assertProcId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || id.includes('\u0000')) {
    throw new InvalidArgumentError(
      `A proc id must be a non-empty string of at most ${MAX_ID_LENGTH} characters without NUL, got ${describe(id)}.`,
    );
  }
}

/** Checks a proc reference (kind and id). */
export function assertProcRef(ref: unknown): asserts ref is ProcRef {
  if (typeof ref !== 'object' || ref === null) throw new InvalidArgumentError(`A proc reference must be an object, got ${describe(ref)}.`);
  const { kind, id } = ref as Record<string, unknown>;
  assertKindName(kind);
  assertProcId(id);
}

/** Checks a field name used in a filter: a plain identifier, never an operator or a path. */
export function assertFieldName(field: unknown): asserts field is string {
  if (typeof field !== 'string' || !FIELD_PATTERN.test(field)) {
    throw new InvalidArgumentError(`A field name must match ${FIELD_PATTERN}, got ${describe(field)}.`);
  }
}

/** Checks a one-field equality filter. */
export function assertFieldFilter(where: unknown): asserts where is FieldFilter {
  if (typeof where !== 'object' || where === null) throw new InvalidArgumentError(`A field filter must be an object, got ${describe(where)}.`);
  const { field, value } = where as Record<string, unknown>;
  assertFieldName(field);
  assertProcId(value);
}

/** Checks a sequence number: a positive safe integer. */
export function assertSeq(seq: unknown): asserts seq is number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new InvalidArgumentError(`A sequence number must be a positive integer, got ${describe(seq)}.`);
  }
}

/** Largest JSON text accepted for process arguments or user fields, in characters. */
export const MAX_PAYLOAD_CHARS = 256 * 1024;

/**
 * Checks that a value is plain JSON (objects, arrays, strings, finite numbers, booleans, null)
 * and returns its JSON text. `undefined`, functions, symbols, bigints, NaN, Infinity, class
 * instances and cycles are refused rather than silently changed by `JSON.stringify`.
 */
export function encodeJsonArgument(value: unknown, what: string): string {
  assertPlainJson(value, what, new Set());
  const text = JSON.stringify(value);
  if (text.length > MAX_PAYLOAD_CHARS) {
    throw new InvalidArgumentError(`${what} is ${text.length} characters of JSON; the limit is ${MAX_PAYLOAD_CHARS}.`);
  }
  return text;
}

function assertPlainJson(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`${path} is ${value}, which JSON cannot represent.`);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new InvalidArgumentError(`${path} contains a cycle.`);
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, index) => assertPlainJson(item, `${path}[${index}]`, seen));
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          throw new InvalidArgumentError(`${path} is an instance of ${(value as object).constructor?.name ?? 'a class'}, not plain JSON.`);
        }
        for (const [key, item] of Object.entries(value)) assertPlainJson(item, `${path}.${key}`, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      throw new InvalidArgumentError(`${path} is ${typeof value}, which is not JSON.`);
  }
}

/**
 * Checks user fields given at creation: plain JSON values (and Dates), keys that are plain
 * identifiers and none of procstate's own field names.
 */
export function assertUserFields(fields: unknown): asserts fields is Readonly<Record<string, unknown>> {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields) || Object.getPrototypeOf(fields) !== Object.prototype) {
    throw new InvalidArgumentError(`Fields must be a plain object, got ${describe(fields)}.`);
  }
  for (const [key, value] of Object.entries(fields)) {
    assertFieldName(key);
    if (key === '_id' || PROC_FIELD_NAMES.includes(key)) {
      throw new InvalidArgumentError(`Field ${JSON.stringify(key)} is procstate's own and cannot be set by the caller.`);
    }
    if (!(value instanceof Date)) encodeJsonArgument(value, `Field ${key}`);
  }
}
