/**
 * Runs the `procstate` command line from the repository, as a child process, and collects its
 * exit code and output. The one copy of this for the tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

export const ROOT = new URL('../..', import.meta.url).pathname;

/** What a finished command left. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file args` to its end, and what it left, whatever its exit code. */
export async function runToEnd(file: string, args: readonly string[], options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {}): Promise<CliResult> {
  return promisify(execFile)(file, [...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** Runs `procstate <args>` to its end. */
export async function cli(args: readonly string[], options: { readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {}): Promise<CliResult> {
  return runToEnd(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], options);
}

/** Starts `procstate <args>` and leaves it running. */
export function spawnCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with a process's exit code (128 + n for a signal n, as a shell reports it). */
export function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1)));
  });
}
