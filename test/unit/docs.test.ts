import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { procMachineToMermaid } from '../../machines/index.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs stay true to the code', () => {
  it('docs/diagram.md and the README carry the diagram generated from the machine', () => {
    const block = `\`\`\`mermaid\n${procMachineToMermaid()}\`\`\``;
    expect(read('docs/diagram.md')).toContain(block);
    expect(read('README.md')).toContain(block);
  });

  it('the README carries docs/examples/*.ts verbatim (which the type check compiles)', () => {
    for (const file of ['quick-start.ts', 'on-mongodb.ts']) {
      expect(read('README.md')).toContain(read(`docs/examples/${file}`));
    }
  });

  it('the quick start runs and prints what its comment says', async () => {
    const { stdout } = await promisify(execFile)('node', ['node_modules/tsx/dist/cli.mjs', 'docs/examples/quick-start.ts'], { cwd: new URL('../..', import.meta.url) });
    expect(stdout.trim()).toBe('SUCCESS Process process_upload completed successfully');
  }, 60_000);
});
