#!/usr/bin/env node
/**
 * The `procstate` command line: runs the program and maps the outcome to an exit code. Usage
 * errors exit 64 with the command's usage; procstate's errors print their name and code.
 */
import { CommanderError } from 'commander';
import { ProcstateError } from '../../machines/errors.js';
import { redactText } from '../redact.js';
import { exitProcess } from '../runtime/exit-process.js';
import { ExitCode, UsageError } from './options.js';
import { buildProgram, type CliIo } from './program.js';

/** Runs the CLI with `argv` (without node and script) and resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let code: number = ExitCode.OK;
  const program = buildProgram(io, (finished) => {
    code = finished;
  });
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    if (argv.length === 0) io.stdout.write(program.helpInformation());
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end here too, with exit code 0; commander printed the rest.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    if (error instanceof UsageError) {
      const command = program.commands.find((candidate) => candidate.name() === argv[0]);
      io.stderr.write(`procstate: ${redactText(error.message)}\n\n${(command ?? program).helpInformation()}`);
      return ExitCode.USAGE;
    }
    const text = error instanceof ProcstateError ? `${error.name} (${error.code}): ${error.message}` : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    io.stderr.write(`procstate: ${redactText(text)}\n`);
    return ExitCode.ERROR;
  }
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('main.ts') || invoked.endsWith('main.js') || invoked.endsWith('procstate')) {
  // Exit once the command is done: what procstate opened is closed by then, but a kinds module
  // may hold connections of its own (a worker's module that writes elsewhere), and a finished
  // command must not wait for them, nor for Agenda's liveness timers (`CloseOptions.exit`).
  main(process.argv.slice(2)).then(exitProcess, (error: unknown) => {
    process.stderr.write(`procstate: ${redactText(String(error))}\n`);
    exitProcess(ExitCode.ERROR);
  });
}
