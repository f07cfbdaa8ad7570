/**
 * procstate's own version, read from its package.json, for whoever reports it (`--version`, the
 * meter that metrics are recorded under). Read on demand rather than at import: importing
 * procstate does no I/O.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version of the package.json above this file (src/ in the repository, dist/src/ in the
 * package), or `unknown` when none names procstate. Never throws.
 */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'procstate' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json here (or not JSON): look further up.
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
