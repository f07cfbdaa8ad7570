import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const guide = read('docs/guide.md');
const examples = readdirSync(new URL('docs/examples/', root)).filter((file) => /^guide-.*\.ts$/.test(file)).sort();

/** The first ```text block after the example's code in the guide: what the guide says it prints. */
function shownOutput(file: string): string | undefined {
  const at = guide.indexOf(read(`docs/examples/${file}`));
  if (at < 0) return undefined;
  return /```text\n([\s\S]*?)```/.exec(guide.slice(at))?.[1];
}

// Every example in docs/guide.md is a file the type check compiles and this test runs, so the
// guide cannot show code that does not compile, or output the code does not print.
describe('docs/guide.md', () => {
  it('has examples, each a docs/examples/guide-*.ts file shown verbatim with its output', () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const file of examples) {
      expect(guide, file).toContain(read(`docs/examples/${file}`));
      expect(shownOutput(file), file).toBeDefined();
    }
  });

  it.concurrent.each(examples)('%s runs, exits by itself and prints what the guide shows', async (file) => {
    const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', `docs/examples/${file}`], { cwd: root, timeout: 60_000 });
    expect(stdout).toBe(shownOutput(file));
  }, 60_000);
});
