#!/usr/bin/env node
/**
 * The `procstate` command line: parses arguments, builds what the command needs, prints,
 * and maps the outcome to an exit code. No business logic lives here.
 */
import { parseArgs } from 'node:util';
import { ProcstateError } from '../errors.js';
import { procMachineToDot, procMachineToJson, procMachineToMermaid } from '../../machines/diagram.js';
import { runDemo } from './demo.js';
import { redactText } from './format.js';

/** Exit codes of the CLI. */
export const ExitCode = Object.freeze({ OK: 0, ERROR: 1, ATTENTION: 2, USAGE: 64 } as const);

/** A command line the CLI cannot act on. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const HELP = `procstate — explicit, persisted process status

Usage:
  procstate demo [--entries N] [--seed S] [--step-ms MS] [--json]
      Process one upload with N entries (default 300) on the embedded store and
      summarise it. --json prints a machine-readable summary.
  procstate diagram [--format mermaid|json|dot]
      Print the proc machine: a Mermaid or DOT diagram, or its JSON definition
      (importable into Stately's editor).
  procstate help
`;

function integer(value: string | undefined, fallback: number, name: string, min = 0): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min) throw new UsageError(`--${name} must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  return parsed;
}

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      entries: { type: 'string' },
      seed: { type: 'string' },
      'step-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const summary = await runDemo(
    {
      entries: integer(values.entries, 300, 'entries'),
      seed: integer(values.seed, 1, 'seed'),
      stepMs: integer(values['step-ms'], 2, 'step-ms'),
      json: values.json ?? false,
    },
    { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
  );
  return summary.upload.process_status === 'SUCCESS' ? ExitCode.OK : ExitCode.ATTENTION;
}

function diagram(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { format: { type: 'string', default: 'mermaid' } }, strict: true });
  const renderers: Record<string, () => string> = { mermaid: procMachineToMermaid, json: procMachineToJson, dot: procMachineToDot };
  const render = renderers[values.format ?? 'mermaid'];
  if (render === undefined) throw new UsageError(`--format must be mermaid, json or dot, got ${JSON.stringify(values.format)}`);
  process.stdout.write(render());
  return ExitCode.OK;
}

/** Runs the CLI with `argv` (without node and script) and resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'demo':
        return await demo(rest);
      case 'diagram':
        return diagram(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return ExitCode.OK;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    const usage = error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    const text = error instanceof ProcstateError ? `${error.name} (${error.code}): ${error.message}` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`procstate: ${redactText(text)}\n${usage ? 'Run `procstate help` for usage.\n' : ''}`);
    return usage ? ExitCode.USAGE : ExitCode.ERROR;
  }
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('main.ts') || invoked.endsWith('main.js') || invoked.endsWith('procstate')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`procstate: ${redactText(String(error))}\n`);
      process.exitCode = ExitCode.ERROR;
    },
  );
}
