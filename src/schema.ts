/**
 * Run-time schemas for process arguments and proc fields, through Standard Schema: the one
 * interface zod, valibot, arktype and others implement (`~standard.validate`), so procstate
 * checks values with the user's library without depending on any of them. The argument type of
 * a process is the schema's output type.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidArgumentError, issueText, type ValidationIssue } from '../machines/errors.js';

export type { StandardSchemaV1 };

/** True when `value` implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  if (value === null) return false;
  const standard = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard'];
  return typeof standard === 'object' && standard !== null && standard.version === 1 && typeof standard.validate === 'function';
}

/** A schema's issues with their paths as dotted text (`files.0.path`). */
function issuesOf(result: StandardSchemaV1.FailureResult): ValidationIssue[] {
  return result.issues.map((issue) => ({
    path: (issue.path ?? []).map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment)).join('.'),
    message: issue.message,
  }));
}

/**
 * Checks `value` with `schema` and returns the schema's output.
 * @throws InvalidArgumentError with the schema's issues, naming `what`
 */
export async function validated<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, what: string, where: { readonly kind?: string; readonly id?: string } = {}): Promise<T> {
  const result = await checked(schema, value);
  if ('issues' in result) throw new InvalidArgumentError(`${what} do not match the schema: ${result.issues.map(issueText).join('; ')}.`, { ...where, issues: result.issues });
  return result.value;
}

/** `value` checked with `schema` (synchronous or not): its output, or its issues. */
export async function checked<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): Promise<{ readonly value: T } | { readonly issues: ValidationIssue[] }> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  return result.issues === undefined ? { value: result.value } : { issues: issuesOf(result) };
}

/**
 * A Standard Schema that only types a process's arguments: it accepts any value (procstate
 * checks that arguments are plain JSON anyway) and gives the process the type `T`. For kinds
 * whose arguments need a type but no run-time check beyond JSON:
 *
 * @example
 * ```ts
 * const upload = defineKind({
 *   name: 'upload',
 *   processes: { process_upload: { args: typedArgs<{ entries: number }>(), run: async (ctx) => ctx.setStep(`${ctx.args.entries} entries`) } },
 * });
 * ```
 */
export function typedArgs<T>(): StandardSchemaV1<T, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'procstate',
      validate: (value) => ({ value: value as T }),
    },
  };
}
