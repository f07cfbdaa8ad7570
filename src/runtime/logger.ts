/**
 * Where procstate reports what it cannot throw to a caller (background work: job handlers,
 * heartbeats, document copies, the sweep; runs whose results were dropped), and the one
 * structured logger the runtime and the command line share.
 */
import { redactText } from '../redact.js';
import { errorText } from './texts.js';

/** Where the runtime reports trouble it cannot throw to a caller (background work). */
export interface RuntimeLogger {
  /** Something went wrong that procstate handled, e.g. a fenced run whose results were dropped. */
  warn(message: string, details?: Record<string, unknown>): void;
  /** Background work failed, e.g. a job handler, a heartbeat or a document copy. */
  error(message: string, details?: Record<string, unknown>): void;
  /** What a process is doing (a worker started, a drain began). */
  info?(message: string, details?: Record<string, unknown>): void;
  /** Detail for whoever debugs procstate itself. */
  debug?(message: string, details?: Record<string, unknown>): void;
}

/** Severity of a log line, least first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. @defaultValue `'info'` */
  readonly level?: LogLevel | undefined;
  /** `text`: `<time> <name> <level> <message> <details as JSON>`; `json`: one JSON object per line. @defaultValue `'text'` */
  readonly format?: 'text' | 'json' | undefined;
  /** Who is logging, e.g. `procstate worker host:123`. @defaultValue `'procstate'` */
  readonly name?: string | undefined;
  /** Where each line goes (it ends with a newline). @defaultValue standard error */
  readonly write?: ((line: string) => void) | undefined;
  /** The clock of the lines' times. @defaultValue `() => new Date()` */
  readonly now?: (() => Date) | undefined;
}

/** A logger with every level. */
export interface Logger extends Required<RuntimeLogger> {
  readonly level: LogLevel;
}

/**
 * A logger of lines on standard error (or `write`), as text or JSON lines. Credentials of any
 * URI in a message or its details are removed before a line is written.
 *
 * @example
 * ```ts
 * const logger = createLogger({ format: 'json', level: 'warn' });
 * const runtime = createProcRuntime({ kinds, logger });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const threshold = LEVELS.indexOf(level);
  const name = options.name ?? 'procstate';
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const json = options.format === 'json';
  const log = (at: LogLevel) => (message: string, details?: Record<string, unknown>) => {
    if (LEVELS.indexOf(at) < threshold) return;
    const time = now().toISOString();
    const line = json
      ? JSON.stringify({ time, level: at, name, msg: message, ...details }, jsonSafe)
      : `${time} ${name} ${at} ${message}${details === undefined ? '' : ` ${JSON.stringify(details, jsonSafe)}`}`;
    write(`${redactText(line)}\n`);
  };
  return { level, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Errors as their text (JSON.stringify makes `{}` of them), bigints as strings. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return errorText(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** The runtime's default: text lines on standard error from `warn` up. */
export const defaultLogger: RuntimeLogger = createLogger({ level: 'warn' });

/** Reports a failure of background work: `<context> failed` with the error's text. */
export function reportError(logger: RuntimeLogger, error: unknown, context: string): void {
  logger.error(`${context} failed`, { error: errorText(error) });
}
