/**
 * Credentials out of everything procstate prints: URIs in options, and URIs inside error
 * messages and log lines (a driver's error names the server it could not reach).
 */

/** A URI with any user name and password replaced by `***`; never throws. */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_match, scheme: string) => `${scheme}***@`);
}

/** Removes credentials of every URI that appears inside a text (error messages, logs). */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^@/\s?#]*)@/gi, (_match, scheme: string) => `${scheme}***@`);
}
