#!/usr/bin/env node
/**
 * The `procstate` command line: parses arguments, builds what the command needs, prints,
 * and maps the outcome to an exit code. No business logic lives here.
 */
import { parseArgs } from 'node:util';
import { ProcstateError } from '../../machines/errors.js';
import { procMachineToDot, procMachineToJson, procMachineToMermaid } from '../../machines/diagram.js';
import { collections, kinds } from '../demo/demo-kinds.js';
import { runDemo } from './demo.js';
import { redactUri } from './format.js';
import { stderrLogger } from './logger.js';
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
               [--uri MONGODB_URI [--db NAME] [--redis REDIS_URL] [--concurrency N]]
      Process one upload with N entries (default 300) and summarise it: on the
      embedded store, or with --uri on MongoDB with Agenda workers (this process
      is one; start more with \`procstate worker --module <the demo's kinds>\`).
      --json prints a machine-readable summary.
  procstate worker --uri MONGODB_URI --module FILE [--db NAME] [--redis REDIS_URL]
                   [--concurrency N] [--lease-ms MS] [--lease-grace-ms MS] [--lock-lifetime-ms MS]
                   [--poll-ms MS] [--sweep-interval-ms MS] [--drain-timeout-ms MS]
                   [--name NAME]
      Handle jobs for the kinds FILE exports (\`kinds\`, optional \`collections\`)
      until SIGTERM or SIGINT, then drain: stop taking jobs and let running ones
      finish (up to --drain-timeout-ms, default 30000).
  procstate migrate --uri MONGODB_URI --db NAME --parents COLLECTION --children COLLECTION
                    [--parent-key upload_id] [--parent-kind KIND] [--child-kind KIND]
                    [--dry-run] [--lenient] [--batch-size N] [--concurrency N] [--json]
                    [--lock-ttl-ms MS]
      Migrate documents of NOMAD's tasks model (tasks_status, current_task) to
      process_status, a parent with all its children at a time, keeping every old
      value in each document's first ledger record. Exit code 0 when everything is
      migrated (or already was), 2 when some units need attention, 1 on an error.
      See docs/migration.md.
  procstate history KIND ID --uri MONGODB_URI [--db NAME] [--module FILE | --collection NAME] [--json]
      The proc's transitions: time, from -> to, cause, step, worker.
  procstate inspect KIND ID --uri MONGODB_URI [--db NAME] [--module FILE | --collection NAME]
                    [--inspector ws://127.0.0.1:8080] [--step-ms MS] [--format json]
      Replay the proc's stored history into a WebSocket inspector (the relay of
      @statelyai/inspect/server, which the Stately UI connects to), step by step;
      --format json prints the same records instead.
  procstate status --kind KIND --uri MONGODB_URI [--id ID] [--db NAME]
                   [--module FILE | --collection NAME] [--json]
      Procs of a kind by status; with --id, one proc and its children by status.
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

function optionalInteger(value: string | undefined, name: string, min = 1): number | undefined {
  return value === undefined ? undefined : integer(value, 0, name, min);
}

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      entries: { type: 'string' },
      seed: { type: 'string' },
      'step-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
      uri: { type: 'string' },
      db: { type: 'string' },
      redis: { type: 'string' },
      concurrency: { type: 'string' },
    },
    strict: true,
  });
  const seed = integer(values.seed, 1, 'seed');
  const options = {
    entries: integer(values.entries, 300, 'entries'),
    seed,
    stepMs: integer(values['step-ms'], 2, 'step-ms'),
    json: values.json ?? false,
  };
  const output = { write: (text: string) => process.stdout.write(text), isTTY: process.stdout.isTTY === true };
  if (values.uri === undefined) {
    const summary = await runDemo(options, output);
    return summary.upload.process_status === 'SUCCESS' ? ExitCode.OK : ExitCode.ATTENTION;
  }
  // Loaded only here, so that the embedded demo needs none of the optional database packages.
  const { openMongoRuntime } = await import('./mongo-runtime.js');
  const open = await openMongoRuntime({
    uri: values.uri,
    module: { kinds, collections },
    database: values.db,
    redis: values.redis,
    concurrency: optionalInteger(values.concurrency, 'concurrency') ?? 8,
    logger: stderrLogger('procstate demo'),
  });
  try {
    await open.runtime.start();
    const summary = await runDemo(
      {
        ...options,
        runtime: open.runtime,
        uploadId: `demo-upload-${seed}-${Date.now().toString(36)}`,
        storeLabel: `MongoDB at ${redactUri(values.uri)} (database ${open.databaseName}) with Agenda workers`,
      },
      output,
    );
    return summary.upload.process_status === 'SUCCESS' ? ExitCode.OK : ExitCode.ATTENTION;
  } finally {
    await open.close(10_000);
  }
}

async function worker(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      uri: { type: 'string' },
      module: { type: 'string' },
      db: { type: 'string' },
      redis: { type: 'string' },
      concurrency: { type: 'string' },
      'lease-ms': { type: 'string' },
      'lease-grace-ms': { type: 'string' },
      'lock-lifetime-ms': { type: 'string' },
      'poll-ms': { type: 'string' },
      'sweep-interval-ms': { type: 'string' },
      'drain-timeout-ms': { type: 'string' },
      name: { type: 'string' },
    },
    strict: true,
  });
  if (values.uri === undefined) throw new UsageError('worker needs --uri (a MongoDB connection string)');
  if (values.module === undefined) throw new UsageError('worker needs --module (a file exporting `kinds`)');
  const { runWorker } = await import('./worker.js');
  return runWorker({
    uri: values.uri,
    modulePath: values.module,
    database: values.db,
    redis: values.redis,
    concurrency: optionalInteger(values.concurrency, 'concurrency') ?? 8,
    leaseMs: optionalInteger(values['lease-ms'], 'lease-ms'),
    leaseGraceMs: optionalInteger(values['lease-grace-ms'], 'lease-grace-ms', 0),
    lockLifetimeMs: optionalInteger(values['lock-lifetime-ms'], 'lock-lifetime-ms'),
    pollMs: optionalInteger(values['poll-ms'], 'poll-ms'),
    sweepIntervalMs: optionalInteger(values['sweep-interval-ms'], 'sweep-interval-ms', 0),
    drainTimeoutMs: integer(values['drain-timeout-ms'], 30_000, 'drain-timeout-ms'),
    name: values.name,
  });
}

function diagram(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { format: { type: 'string', default: 'mermaid' } }, strict: true });
  const renderers: Record<string, () => string> = { mermaid: procMachineToMermaid, json: procMachineToJson, dot: procMachineToDot };
  const render = renderers[values.format ?? 'mermaid'];
  if (render === undefined) throw new UsageError(`--format must be mermaid, json or dot, got ${JSON.stringify(values.format)}`);
  process.stdout.write(render());
  return ExitCode.OK;
}

async function migrate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      uri: { type: 'string' },
      db: { type: 'string' },
      parents: { type: 'string' },
      children: { type: 'string' },
      'parent-key': { type: 'string', default: 'upload_id' },
      'parent-kind': { type: 'string' },
      'child-kind': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      lenient: { type: 'boolean', default: false },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      'lock-ttl-ms': { type: 'string' },
    },
    strict: true,
  });
  for (const required of ['uri', 'db', 'parents', 'children'] as const) {
    if (values[required] === undefined) throw new UsageError(`migrate needs --${required}`);
  }
  const { runMigrate } = await import('./migrate.js');
  return runMigrate({
    uri: values.uri as string,
    database: values.db as string,
    parents: values.parents as string,
    children: values.children as string,
    parentKey: values['parent-key'] ?? 'upload_id',
    parentKind: values['parent-kind'],
    childKind: values['child-kind'],
    dryRun: values['dry-run'] ?? false,
    lenient: values.lenient ?? false,
    batchSize: integer(values['batch-size'], 100, 'batch-size', 1),
    concurrency: integer(values.concurrency, 4, 'concurrency', 1),
    json: values.json ?? false,
    lockTtlMs: optionalInteger(values['lock-ttl-ms'], 'lock-ttl-ms'),
  });
}

const locationOptions = {
  uri: { type: 'string' },
  db: { type: 'string' },
  module: { type: 'string' },
  collection: { type: 'string' },
} as const;

function location(values: { uri?: string | undefined; db?: string | undefined; module?: string | undefined; collection?: string | undefined }) {
  if (values.uri === undefined) throw new UsageError('--uri (a MongoDB connection string) is required');
  return { uri: values.uri, database: values.db, modulePath: values.module, collection: values.collection };
}

function kindAndId(positionals: string[], command: string): [string, string] {
  const [kind, id] = positionals;
  if (kind === undefined || id === undefined || positionals.length > 2) throw new UsageError(`${command} needs KIND and ID`);
  return [kind, id];
}

async function history(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...locationOptions, json: { type: 'boolean', default: false } }, strict: true });
  const [kind, id] = kindAndId(positionals, 'history');
  const { runHistory } = await import('./read-commands.js');
  process.stdout.write(await runHistory(location(values), kind, id, values.json ?? false));
  return ExitCode.OK;
}

async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...locationOptions, inspector: { type: 'string', default: 'ws://127.0.0.1:8080' }, 'step-ms': { type: 'string' }, format: { type: 'string' } },
    strict: true,
  });
  const [kind, id] = kindAndId(positionals, 'inspect');
  if (values.format !== undefined && values.format !== 'json') throw new UsageError(`--format must be json, got ${JSON.stringify(values.format)}`);
  const { runInspect } = await import('./read-commands.js');
  const text = await runInspect(
    location(values),
    kind,
    id,
    { json: values.format === 'json', inspectorUrl: values.inspector ?? 'ws://127.0.0.1:8080', stepMs: integer(values['step-ms'], 400, 'step-ms') },
    (line) => process.stderr.write(`${line}\n`),
  );
  process.stdout.write(text);
  return ExitCode.OK;
}

async function status(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...locationOptions, kind: { type: 'string' }, id: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
  if (values.kind === undefined) throw new UsageError('status needs --kind');
  const { runStatus } = await import('./read-commands.js');
  process.stdout.write(await runStatus(location(values), values.kind, values.id, values.json ?? false));
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
      case 'worker':
        return await worker(rest);
      case 'migrate':
        return await migrate(rest);
      case 'history':
        return await history(rest);
      case 'inspect':
        return await inspect(rest);
      case 'status':
        return await status(rest);
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
      // Exit explicitly: a driver's idle sockets must not keep a finished command alive.
      process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`procstate: ${redactText(String(error))}\n`);
      process.exit(ExitCode.ERROR);
    },
  );
}
