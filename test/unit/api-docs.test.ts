import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'procstate-api-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(relative(dir, path), readFileSync(path, 'utf8'));
  }
  return found;
}

// The reference is generated, then committed so it can be read without a build; this test is
// what keeps the committed copy equal to the TSDoc. Fix a failure with `scripts/api-docs.sh`.
describe('docs/api', () => {
  it('is what scripts/api-docs.sh generates from the TSDoc now', async () => {
    await promisify(execFile)('bash', ['scripts/api-docs.sh', '--out', out], { cwd: root });
    const generated = files(out);
    const committed = files(join(root, 'docs/api'));
    expect([...committed.keys()].sort()).toEqual([...generated.keys()].sort());
    const differing = [...generated].filter(([path, text]) => committed.get(path) !== text).map(([path]) => path);
    expect(differing).toEqual([]);
  }, 120_000);
});
