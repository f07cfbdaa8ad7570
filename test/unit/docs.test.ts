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

  it('the README quick start is docs/examples/quick-start.ts (which the type check compiles)', () => {
    const example = read('docs/examples/quick-start.ts').replace("'../../src/index.js'", "'procstate'");
    expect(read('README.md')).toContain(example);
  });

  it('the quick start runs and prints what its comment says', async () => {
    const { stdout } = await promisify(execFile)('node', ['node_modules/tsx/dist/cli.mjs', 'docs/examples/quick-start.ts'], { cwd: new URL('../..', import.meta.url) });
    expect(stdout.trim()).toBe('SUCCESS Process process_upload completed successfully');
  }, 60_000);
});
