/**
 * Ending the process on purpose, once what was written to stdout and stderr has left: a bare
 * `process.exit()` drops output still buffered for a pipe.
 */

/** Exits with `code` (else `process.exitCode`, else 0) after stdout and stderr are flushed. */
export function exitProcess(code?: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
