/**
 * How the runtime turns what process functions hand it into recorded text: error texts in
 * NOMAD's `<ErrorClass>: <message>` form, length limits, and argument checks for strings.
 */
import { InvalidArgumentError } from '../../machines/errors.js';

/** Longest message, step, warning or error text recorded; longer ones are cut. */
const MAX_MESSAGE_CHARS = 4096;

/** `<ErrorClass>: <message>`, NOMAD's form of a recorded error. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name !== 'Error' ? error.name : (error.constructor?.name ?? 'Error');
    return `${name}: ${error.message}`;
  }
  return String(error);
}

/** The text, cut to {@link MAX_MESSAGE_CHARS}. */
export function clip(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

/** Refuses anything but a string, naming what it was for. */
export function assertText(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${typeof value}.`);
}

/** A whole number of milliseconds (or a count) within bounds, or the fallback when absent. */
export function positive(value: number | undefined, fallback: number, name: string, allowZero = false): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 0 || (!allowZero && chosen === 0)) {
    throw new InvalidArgumentError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}.`);
  }
  return chosen;
}
