import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

  it('docs/dashboard.md carries the dashboard examples verbatim, and the serving one prints what it shows', async () => {
    const page = read('docs/dashboard.md');
    for (const file of readdirSync(new URL('../../docs/examples/', import.meta.url)).filter((name) => name.startsWith('dashboard-'))) {
      expect(page, file).toContain(read(`docs/examples/${file}`));
    }
    const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', 'docs/examples/dashboard-serve.ts'], { cwd: new URL('../..', import.meta.url), timeout: 60_000 });
    expect(page).toContain(`prints\n\n\`\`\`text\n${stdout}\`\`\``);
  }, 60_000);

  it('the quick start runs and prints what its comment says', async () => {
    const { stdout } = await promisify(execFile)('node', ['node_modules/tsx/dist/cli.mjs', 'docs/examples/quick-start.ts'], { cwd: new URL('../..', import.meta.url) });
    expect(stdout.trim()).toBe('SUCCESS Process process_upload completed successfully');
  }, 60_000);

  it('docs/testing.md carries the testing examples verbatim (the *.test.ts ones run in the unit project), and the bug it shows is found as it says', async () => {
    const page = read('docs/testing.md');
    for (const file of readdirSync(new URL('../../docs/examples/', import.meta.url)).filter((name) => name.startsWith('testing-'))) {
      expect(page, file).toContain(read(`docs/examples/${file}`));
    }
    const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', 'docs/examples/testing-bug.ts'], { cwd: new URL('../..', import.meta.url), timeout: 60_000 });
    expect(stdout).toContain('is SUCCESS after its join while 1 of its children is still processing');
    expect(page).toContain(`It prints:\n\n\`\`\`text\n${stdout}\`\`\``);
  }, 60_000);
});
