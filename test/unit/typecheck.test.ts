import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The whole project type-checks, including docs/examples: examples in the docs compile or CI fails.
describe('type check', () => {
  it('passes for src, machines, persistence, tests, benchmarks and docs/examples', async () => {
    const result = await promisify(execFile)('node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: new URL('../..', import.meta.url) }).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});
