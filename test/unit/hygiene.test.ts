/**
 * Code hygiene that a review would otherwise have to catch: no dead exports or unused files
 * (knip), and imports that flow one way — machines → persistence → src, and inside the runtime
 * from the public commands down to the commit step, never back up.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder)).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The project files a file imports (relative imports only), as paths from the root, `.ts`. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => relative(ROOT, resolve(dirname(join(ROOT, file)), name)).replace(/\.js$/, '.ts'));
}

/** The runtime's modules, bottom first: a module may import only from lower layers. */
const RUNTIME_LAYERS: readonly (readonly string[])[] = [
  ['texts', 'slots', 'turns', 'exit-process'],
  ['logger', 'metrics'],
  ['kind-registry', 'notices'],
  ['commit'],
  ['active-run', 'child-counts'],
  ['effects'],
  ['calls'],
  ['run-context'],
  ['execute-run'],
  ['job-handlers', 'sweep', 'wait-for'],
  ['proc-runtime'],
  ['create-proc-runtime'],
];

function runtimeLayer(file: string): number | undefined {
  const match = /^src\/runtime\/([a-z-]+)\.ts$/.exec(file);
  if (match === null) return undefined;
  const layer = RUNTIME_LAYERS.findIndex((names) => names.includes(match[1] as string));
  return layer === -1 ? undefined : layer;
}

describe('imports flow one way', () => {
  it('machines/ imports nothing of persistence/ or src/, persistence/ nothing of src/', () => {
    const upward: string[] = [];
    for (const file of sourceFiles('machines')) for (const target of importsOf(file)) if (!target.startsWith('machines/')) upward.push(`${file} → ${target}`);
    for (const file of sourceFiles('persistence')) for (const target of importsOf(file)) if (target.startsWith('src/')) upward.push(`${file} → ${target}`);
    expect(upward).toEqual([]);
  });

  it('inside src/runtime/ every module has a layer and imports only from layers below it', () => {
    const files = sourceFiles('src/runtime');
    expect(files.filter((file) => runtimeLayer(file) === undefined)).toEqual([]);
    const upward: string[] = [];
    for (const file of files) {
      const layer = runtimeLayer(file) as number;
      for (const target of importsOf(file)) {
        const below = runtimeLayer(target);
        if (below !== undefined && below >= layer) upward.push(`${file} → ${target}`);
        if (target.startsWith('src/cli/') || target.startsWith('src/agenda/')) upward.push(`${file} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });
});

describe('knip', () => {
  it('finds no unused file, export, type or dependency', async () => {
    const result = await promisify(execFile)('node', ['node_modules/knip/bin/knip.js', '--no-progress'], { cwd: ROOT }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 180_000);
});
