/**
 * How the command line reads values: whole numbers in a range, JSON, one of a set, and the
 * options every command on MongoDB shares. Parsers throw commander's `InvalidArgumentError`,
 * which commander reports with the option's name and the command's usage (exit 64).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

/** Exit codes of the CLI. */
export const ExitCode = Object.freeze({ OK: 0, ERROR: 1, ATTENTION: 2, USAGE: 64 } as const);

/** The longest delay a Node.js timer takes (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A lease shorter than this expires between two heartbeats of a busy worker and fences healthy runs. */
export const MIN_LEASE_MS = 1_000;

/**
 * A parser of whole decimal numbers from `min` to `max`: `1e3`, `0x10`, `1.5`, ` 7` and the
 * empty string are refused, not coerced.
 */
export function wholeNumber(min: number, max: number, why?: string): (value: string) => number {
  return (value) => {
    const parsed = /^(0|[1-9][0-9]*)$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}${why === undefined ? '' : ` (${why})`}.`);
    }
    return parsed;
  };
}

/** A parser of a JSON text. */
export function jsonValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`must be JSON: ${error instanceof Error ? error.message : String(error)}.`);
  }
}

/** An option taking one of `choices`. */
export function choiceOption<T extends string>(flags: string, description: string, choices: readonly T[], fallback?: T): Option {
  const option = new Option(flags, description).choices(choices);
  return fallback === undefined ? option : option.default(fallback);
}

/** The options of every command that reads or writes procs on MongoDB. */
interface ServerOptions {
  readonly uri: string;
  readonly db?: string | undefined;
  readonly serverTimeoutMs: number;
}

/** Adds `--uri`, `--db` and `--server-timeout-ms`; `--uri` is required unless `uriRequired` is false. */
export function addServerOptions(command: Command, uriRequired = true): Command {
  const uri = new Option('--uri <mongodb-uri>', 'MongoDB connection string (credentials are never printed)');
  command.addOption(uriRequired ? uri.makeOptionMandatory() : uri);
  command.option('--db <name>', "database; wins over the URI's database (default: the URI's, else the module's, else procstate)");
  command.option('--server-timeout-ms <ms>', 'give up on an unreachable server after this long', wholeNumber(100, 600_000), 10_000);
  return command;
}

/** The options of commands that find a kind's collection. */
export interface LocationOptions extends ServerOptions {
  readonly module?: string | undefined;
  readonly collection?: string | undefined;
}

/** Adds `--module` and `--collection` besides the server options. */
export function addLocationOptions(command: Command): Command {
  addServerOptions(command);
  command.option('--module <file>', 'a kinds module exporting `kinds` (and `collections`); a .ts module needs a TypeScript loader (node --import tsx)');
  command.option('--collection <name>', "the kind's collection, when no module names it");
  return command;
}

/** Adds `--json`. */
export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print machine-readable JSON on stdout', false);
}

/** A command line the CLI cannot act on (exit 64, with the command's usage). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
