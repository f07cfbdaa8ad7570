/**
 * The kinds module a command is given with `--module`: which kinds exist, their collections,
 * and which kinds are children of which.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../../machines/errors.js';
import type { KindDefinition } from '../define-kind.js';

/**
 * What a module given to `procstate worker --module` exports.
 *
 * @example
 * ```ts
 * // kinds.ts
 * export const kinds = [upload, entry];
 * export const collections = { upload: 'uploads', entry: 'entries' };
 * ```
 */
export interface ProcstateModule {
  /** The kinds the worker handles. */
  readonly kinds: readonly KindDefinition[];
  /** Collection of each kind. @defaultValue the kind's name */
  readonly collections?: Readonly<Record<string, string>>;
  /** Database name, when neither `--db` nor the URI names one. */
  readonly database?: string;
}

/** Where in `path` an import error points (`file:line:column`), when its stack says. */
function locationIn(error: unknown, file: string): string | undefined {
  const stack = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : '';
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // ESM syntax errors name the file as a URL on the stack's first line.
  const line = new RegExp(`(?:file://)?${escaped}:(\\d+(?::\\d+)?)`).exec(stack)?.[1];
  return line === undefined ? undefined : `${file}:${line}`;
}

/**
 * Where the syntax error of a JavaScript file is: Node.js reports it to a dynamic import without
 * the location (it prints it only for an uncaught error), so ask `node --check`, on this error
 * path only.
 */
function syntaxErrorLocation(file: string): string | undefined {
  if (!/\.[cm]?js$/.test(file)) return undefined;
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const first = check.stderr?.split('\n', 1)[0] ?? '';
  return first.startsWith(`${file}:`) ? first : undefined;
}

/**
 * Loads and checks a kinds module.
 * @throws InvalidArgumentError when the file is missing, does not load (with its file and line
 * when the error names them), or exports no `kinds`
 */
export async function loadModule(path: string): Promise<ProcstateModule> {
  const file = resolve(path);
  if (!existsSync(file)) throw new InvalidArgumentError(`--module ${path}: no such file.`);
  let loaded: Partial<ProcstateModule>;
  try {
    loaded = (await import(pathToFileURL(file).href)) as Partial<ProcstateModule>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new InvalidArgumentError(`--module ${path}: Node.js cannot load this file type by itself; a .ts module needs a TypeScript loader (run the CLI with \`node --import tsx\`, or compile the module to .js).`, { cause: error });
    }
    const where = locationIn(error, file) ?? (error instanceof SyntaxError ? syntaxErrorLocation(file) : undefined);
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new InvalidArgumentError(`--module ${path} failed to load${where === undefined ? '' : ` at ${where}`}: ${text}`, { cause: error });
  }
  if (!Array.isArray(loaded.kinds) || loaded.kinds.length === 0) {
    throw new InvalidArgumentError(`--module ${path} must export \`kinds\`, a non-empty array of kind definitions.`);
  }
  return loaded as ProcstateModule;
}
