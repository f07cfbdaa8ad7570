import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runDemo, type DemoSummary } from '../../../src/cli/demo.js';
import { planEntries } from '../../../src/demo/demo-kinds.js';

describe('the demo', () => {
  it('processes an upload over two levels: entries fail and warn as the seed says, the upload succeeds', async () => {
    let text = '';
    const summary = await runDemo({ entries: 60, seed: 7, stepMs: 1, json: false }, { write: (chunk) => { text += chunk; }, isTTY: false });
    const plan = planEntries('demo-upload-7', { entries: 60, seed: 7, stepMs: 1 });
    expect(summary.upload.process_status).toBe('SUCCESS');
    expect(summary.entries.total).toBe(60);
    expect(summary.entries.byStatus.FAILURE).toBe(plan.filter((entry) => entry.fails).length);
    expect(summary.entries.byStatus.SUCCESS).toBe(60 - summary.entries.byStatus.FAILURE);
    expect(summary.entries.withWarnings).toBe(plan.filter((entry) => entry.warns).length);
    expect(summary.history.filter((line) => line.cause === 'join.started')).toHaveLength(2);
    expect(summary.history.map((line) => line.to).at(-1)).toBe('SUCCESS');
    expect(text).toContain('transition history of upload demo-upload-7');
    expect(text).toMatch(/entries \d+\/60 done/);
  });

  it('on a narrow terminal, the progress line is cut to fit and never wraps', async () => {
    const writes: string[] = [];
    await runDemo({ entries: 40, seed: 2, stepMs: 1, json: false }, { write: (chunk) => void writes.push(chunk), isTTY: true, columns: 40 });
    const progress = writes.filter((chunk) => chunk.startsWith('\r\x1b[2K')).map((chunk) => chunk.slice('\r\x1b[2K'.length));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) expect(line.length, line).toBeLessThanOrEqual(39);
    expect(progress.some((line) => line.endsWith('…'))).toBe(true);
  });

  it('runs from the command line and prints a JSON summary', async () => {
    const { stdout } = await promisify(execFile)('node', ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts', 'demo', '--entries', '25', '--seed', '3', '--json'], {
      cwd: new URL('../../..', import.meta.url),
    });
    const summary = JSON.parse(stdout) as DemoSummary;
    expect(summary.upload.process_status).toBe('SUCCESS');
    expect(summary.entries.total).toBe(25);
    expect(summary.expected.failures).toBe(summary.entries.byStatus.FAILURE);
  }, 60_000);

  it('rejects a malformed option with a usage error', async () => {
    const result = await promisify(execFile)('node', ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts', 'demo', '--entries', 'many'], {
      cwd: new URL('../../..', import.meta.url),
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/option '--entries <n>' argument 'many' is invalid\. must be a whole number from 1 to 100000/);
  }, 60_000);
});
