/**
 * The CLI's logger: one line per message on stderr, with credentials removed.
 */
import type { RuntimeLogger } from '../runtime/logger.js';
import { redactText } from './format.js';

/** A logger that writes one line per message to stderr, with credentials removed. */
export function stderrLogger(prefix: string): RuntimeLogger {
  const line = (level: string, message: string, details?: Record<string, unknown>) => {
    const extra = details === undefined ? '' : ` ${JSON.stringify(details)}`;
    process.stderr.write(`${new Date().toISOString()} ${prefix} ${level} ${redactText(message + extra)}\n`);
  };
  return { warn: (message, details) => line('warn', message, details), error: (message, details) => line('error', message, details) };
}
