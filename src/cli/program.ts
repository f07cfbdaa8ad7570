/**
 * The commands of `procstate` and their options, on commander: each command has its own
 * `--help`, numbers are parsed strictly with ranges, and every value reaches the command it
 * belongs to already checked. What a command does lives in its own module, loaded on use.
 */
import { Command, Option } from 'commander';
import { PROCESS_STATUSES, type ProcessStatus } from '../../machines/process-status.js';
import { procMachineToDot, procMachineToJson, procMachineToMermaid } from '../../machines/diagram.js';
import type { JsonValue } from '../define-kind.js';
import { redactUri } from '../redact.js';
import { packageVersion } from '../version.js';
import { createLogger, type Logger, type LogLevel } from '../runtime/logger.js';
import {
  addJsonOption,
  addLocationOptions,
  addServerOptions,
  choiceOption,
  ExitCode,
  jsonValue,
  MAX_TIMER_MS,
  MIN_LEASE_MS,
  UsageError,
  wholeNumber,
  type LocationOptions,
} from './options.js';
import { requirePeers } from './peers.js';
import { signalExitCode } from './signals.js';

/** Where a command writes; the process's streams unless a test gives others. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number };
}

/** Sets the exit code a command ends with. */
type Finish = (code: number) => void;

interface GlobalOptions {
  readonly logFormat: 'text' | 'json';
  readonly logLevel: LogLevel;
}

/** Builds the program; `finish` receives each command's exit code. */
export function buildProgram(io: CliIo, finish: Finish): Command {
  const program = new Command('procstate')
    .description('Explicit, persisted process status: XState machines, a transition ledger on MongoDB, Agenda workers.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(choiceOption('--log-format <format>', 'log lines as text or JSON lines (on stderr)', ['text', 'json'], 'text'))
    .addOption(choiceOption('--log-level <level>', 'least severe log lines shown', ['debug', 'info', 'warn', 'error'], 'info'));

  const logger = (name: string): Logger => {
    const { logFormat, logLevel } = program.opts<GlobalOptions>();
    return createLogger({ name, format: logFormat, level: logLevel, write: (line) => void io.stderr.write(line) });
  };
  const print = (text: string) => void io.stdout.write(text);

  // ----- demo -------------------------------------------------------------------------------
  addServerOptions(
    program
      .command('demo')
      .summary('process one upload on the embedded store, or on MongoDB with --uri')
      .description('Process one upload with N entries and summarise it: on the embedded store, or with --uri on MongoDB with Agenda workers (this process is one; start more with `procstate worker`).')
      .option('--entries <n>', 'entries of the upload', wholeNumber(1, 100_000), 300)
      .option('--seed <n>', 'seed of the simulated work', wholeNumber(0, 2 ** 31 - 1), 1)
      .option('--step-ms <ms>', 'upper bound of one simulated work step', wholeNumber(0, 60_000), 2),
    false,
  )
    .option('--redis <url>', 'Redis for job notifications across processes (needs ioredis)')
    .option('--concurrency <n>', 'jobs this process handles at once (with --uri)', wholeNumber(1, 1_000), 8)
    .option('--drain-timeout-ms <ms>', 'on SIGINT or SIGTERM, how long running jobs may take to finish', wholeNumber(0, MAX_TIMER_MS), 10_000)
    .option('--json', 'print a machine-readable summary (with npm: npm start --silent -- --json)', false)
    .option('--dashboard', 'serve the dashboard on the demo\'s runtime, and keep it open after the upload until SIGINT', false)
    .option('--port <n>', 'the dashboard\'s port (0: any free one)', wholeNumber(0, 65_535), 4000)
    .option('--host <address>', 'the address the dashboard listens on', '127.0.0.1')
    .action(async (options: { entries: number; seed: number; stepMs: number; uri?: string; db?: string; serverTimeoutMs: number; redis?: string; concurrency: number; drainTimeoutMs: number; json: boolean; dashboard: boolean; port: number; host: string }, command: Command) => {
      const { runDemo, DemoInterrupted } = await import('./demo.js');
      // With the dashboard open, entries take long enough to be seen moving, unless told otherwise.
      const stepMs = options.dashboard && command.getOptionValueSource('stepMs') === 'default' ? 150 : options.stepMs;
      const demo = { entries: options.entries, seed: options.seed, stepMs, json: options.json };
      const output = { write: (text: string) => void io.stdout.write(text), isTTY: io.stdout.isTTY === true, columns: io.stdout.columns };
      if (options.uri === undefined && options.dashboard) {
        if (options.redis !== undefined) throw new UsageError('--redis needs --uri: the embedded store runs in this process only.');
        const { kinds } = await import('../demo/demo-kinds.js');
        const { createProcRuntime } = await import('../runtime/create-proc-runtime.js');
        const { serveDemoDashboard } = await import('./demo-dashboard.js');
        const { nextSignal } = await import('./signals.js');
        const runtime = createProcRuntime({ kinds, sweepIntervalMs: 0 });
        await runtime.start();
        const { server, token } = await serveDemoDashboard(runtime, kinds, options.port, options.host);
        const uploadId = `demo-upload-${options.seed}`;
        const stopped = nextSignal();
        const abort = new AbortController();
        void stopped.then(() => abort.abort());
        try {
          print(options.json ? `${JSON.stringify({ dashboard: server.url, token, upload: `${server.url}#/proc/upload/${uploadId}` })}\n` : `dashboard: ${server.url}  (admin token for actions: ${token})\nthe upload: ${server.url}#/proc/upload/${uploadId}\n`);
          const summary = await runDemo({ ...demo, runtime, uploadId, signal: abort.signal }, output);
          if (!options.json) print(`the dashboard stays open on ${server.url}; Ctrl-C stops it\n`);
          await stopped;
          finish(summary.upload.process_status === 'SUCCESS' ? ExitCode.OK : ExitCode.ATTENTION);
        } catch (error) {
          if (!(error instanceof DemoInterrupted)) throw error;
          if (output.isTTY) output.write('\n');
          finish(signalExitCode(await stopped));
        } finally {
          await server.close();
          await runtime.close();
        }
        return;
      }
      if (options.uri === undefined) {
        if (options.redis !== undefined) throw new UsageError('--redis needs --uri: the embedded store runs in this process only.');
        const summary = await runDemo(demo, output);
        finish(summary.upload.process_status === 'SUCCESS' ? ExitCode.OK : ExitCode.ATTENTION);
        return;
      }
      if (options.dashboard) throw new UsageError('--dashboard runs on the embedded store; with --uri, run `procstate dashboard --uri … --module …` beside the demo.');
      await requirePeers(['mongodb', 'agenda', '@agendajs/mongo-backend'], 'procstate demo --uri');
      const { collections, kinds } = await import('../demo/demo-kinds.js');
      const { openMongoRuntime } = await import('./mongo-runtime.js');
      const log = logger('procstate demo');
      const open = await openMongoRuntime({
        uri: options.uri,
        module: { kinds, collections },
        database: options.db,
        redis: options.redis,
        concurrency: options.concurrency,
        serverTimeoutMs: options.serverTimeoutMs,
        logger: log,
      });
      const abort = new AbortController();
      let signalled: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled !== undefined) {
          log.warn(`${signal} again, exiting without waiting for the drain`);
          process.exit(signalExitCode(signal));
        }
        signalled = signal;
        log.info(`${signal}: stopping; running jobs may finish for up to ${options.drainTimeoutMs} ms, jobs not started go back to the queue`);
        abort.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const uploadId = `demo-upload-${options.seed}-${Date.now().toString(36)}`;
      try {
        await open.runtime.start();
        const summary = await runDemo(
          { ...demo, runtime: open.runtime, uploadId, signal: abort.signal, storeLabel: `MongoDB at ${redactUri(options.uri)} (database ${open.databaseName}) with Agenda workers` },
          output,
        );
        finish(summary.upload.process_status === 'SUCCESS' ? ExitCode.OK : ExitCode.ATTENTION);
      } catch (error) {
        if (!(error instanceof DemoInterrupted) || signalled === undefined) throw error;
        if (output.isTTY) output.write('\n');
        finish(signalExitCode(signalled));
      } finally {
        const upload = signalled === undefined ? undefined : await open.runtime.find('upload', uploadId).catch(() => undefined);
        await open.close(options.drainTimeoutMs);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (signalled !== undefined) log.info(`drained; upload ${uploadId} was ${upload?.process_status ?? 'not created'}; \`procstate worker\` processes carry it on`);
      }
    });

  // ----- worker -----------------------------------------------------------------------------
  addServerOptions(
    program
      .command('worker')
      .summary('handle jobs for the kinds of a module until SIGTERM or SIGINT, then drain')
      .description('Handle jobs for the kinds FILE exports (`kinds`, optional `collections`) until SIGTERM or SIGINT, then drain: stop taking jobs and let running ones finish.')
      .requiredOption('--module <file>', 'a kinds module; a .ts module needs a TypeScript loader (node --import tsx)'),
  )
    .option('--redis <url>', 'Redis for job notifications across processes (needs ioredis)')
    .option('--concurrency <n>', 'jobs handled at once', wholeNumber(1, 1_000), 8)
    .option('--lease-ms <ms>', "a run's lease; renewed while it runs", wholeNumber(MIN_LEASE_MS, MAX_TIMER_MS, `a shorter lease expires between heartbeats and fences healthy runs`))
    .option('--lease-grace-ms <ms>', 'how long past its lease a run counts as alive', wholeNumber(0, MAX_TIMER_MS))
    .option('--lock-lifetime-ms <ms>', "Agenda's lock lifetime: after it, a dead worker's job is delivered again", wholeNumber(MIN_LEASE_MS, MAX_TIMER_MS))
    .option('--poll-ms <ms>', "Agenda's polling interval", wholeNumber(50, MAX_TIMER_MS))
    .option('--sweep-interval-ms <ms>', 'how often to look for lost runs (0: never)', wholeNumber(0, MAX_TIMER_MS))
    .option('--drain-timeout-ms <ms>', 'on SIGINT or SIGTERM, how long running jobs may take to finish', wholeNumber(0, MAX_TIMER_MS), 30_000)
    .option('--name <name>', "this worker's name in the ledger (default: host:pid)")
    .action(async (options: { uri: string; db?: string; serverTimeoutMs: number; module: string; redis?: string; concurrency: number; leaseMs?: number; leaseGraceMs?: number; lockLifetimeMs?: number; pollMs?: number; sweepIntervalMs?: number; drainTimeoutMs: number; name?: string }) => {
      const { runWorker } = await import('./worker.js');
      finish(await runWorker({ ...options, modulePath: options.module, database: options.db, logger }));
    });

  // ----- migrate ----------------------------------------------------------------------------
  addServerOptions(
    program
      .command('migrate')
      .summary("migrate documents of NOMAD's tasks model to process_status")
      .description("Migrate documents of NOMAD's tasks model (tasks_status, current_task) to process_status, a parent with all its children at a time, keeping every old value in each document's first ledger record. Exit 0 when everything is migrated, 2 when some units need attention, 1 on an error. See docs/migration.md.")
      .requiredOption('--parents <collection>', 'the parents (uploads)')
      .requiredOption('--children <collection>', 'the children (entries)'),
  )
    .option('--parent-key <field>', "the children's field naming their parent", 'upload_id')
    .option('--parent-kind <kind>', 'kind recorded for parents (default: the collection name)')
    .option('--child-kind <kind>', 'kind recorded for children (default: the collection name)')
    .option('--dry-run', 'report what would be done; write nothing', false)
    .option('--lenient', 'migrate what can be migrated of inconsistent units; the ledger records say what was assumed', false)
    .option('--batch-size <n>', 'documents per read and write', wholeNumber(1, 10_000), 100)
    .option('--concurrency <n>', 'units migrated at once', wholeNumber(1, 64), 4)
    .option('--lock-ttl-ms <ms>', "how long another run's lock counts as alive without a heartbeat", wholeNumber(1_000, MAX_TIMER_MS))
    .option('--json', 'print the report as JSON', false)
    .action(async (options: { uri: string; db?: string; serverTimeoutMs: number; parents: string; children: string; parentKey: string; parentKind?: string; childKind?: string; dryRun: boolean; lenient: boolean; batchSize: number; concurrency: number; lockTtlMs?: number; json: boolean }) => {
      const { runMigrate } = await import('./migrate.js');
      finish(await runMigrate({ ...options, database: options.db, columns: io.stderr.isTTY === true ? io.stderr.columns : undefined, showProgress: io.stderr.isTTY === true, write: print, progress: (text) => void io.stderr.write(text) }));
    });

  // ----- read commands ----------------------------------------------------------------------
  addJsonOption(
    addLocationOptions(
      program
        .command('history')
        .summary("a proc's transitions")
        .description("The proc's transitions: time, from -> to, cause, step, worker, errors.")
        .argument('<kind>', "the proc's kind")
        .argument('<id>', "the proc's id"),
    ),
  ).action(async (kind: string, id: string, options: LocationOptions & { json: boolean }) => {
    const { runHistory } = await import('./read-commands.js');
    print(await runHistory(location(options), kind, id, options.json));
  });

  addLocationOptions(
    program
      .command('inspect')
      .summary("replay a proc's history into an XState inspector")
      .description("Replay the proc's stored history into a WebSocket inspector (the relay of @statelyai/inspect/server), step by step; --format json prints the records instead.")
      .argument('<kind>', "the proc's kind")
      .argument('<id>', "the proc's id"),
  )
    .option('--inspector <url>', 'the inspector to replay into', 'ws://127.0.0.1:8080')
    .option('--step-ms <ms>', 'pause between transitions', wholeNumber(0, 60_000), 400)
    .addOption(new Option('--format <format>', 'print the replay records instead of sending them').choices(['json']))
    .option('--json', 'the same as --format json', false)
    .action(async (kind: string, id: string, options: LocationOptions & { inspector: string; stepMs: number; format?: 'json'; json: boolean }) => {
      const { runInspect } = await import('./read-commands.js');
      print(await runInspect(location(options), kind, id, { json: options.json || options.format === 'json', inspectorUrl: options.inspector, stepMs: options.stepMs }, (line) => void io.stderr.write(`${line}\n`)));
    });

  addJsonOption(addLocationOptions(program.command('status').summary('procs of a kind by status, or one proc and its children').description('Procs of a kind by status; with --id, one proc and its children by status.').requiredOption('--kind <kind>', 'the kind')))
    .option('--id <id>', 'one proc')
    .action(async (options: LocationOptions & { kind: string; id?: string; json: boolean }) => {
      const { runStatus } = await import('./read-commands.js');
      print(await runStatus(location(options), options.kind, options.id, options.json));
    });

  addJsonOption(
    addLocationOptions(
      program
        .command('list')
        .summary("ids of a kind's procs by status, paged")
        .description('Ids of the procs of a kind in some statuses, in id order, a page at a time (continue with --after the last id).')
        .argument('<kind>', 'the kind'),
    ),
  )
    .addOption(new Option('--status <status...>', 'statuses to list (default: all)').choices(PROCESS_STATUSES))
    .option('--parent <id>', 'only the children of this parent')
    .option('--after <id>', 'only ids after this one (the last id of the previous page)')
    .option('--limit <n>', 'procs per page', wholeNumber(1, 10_000), 100)
    .action(async (kind: string, options: LocationOptions & { status?: ProcessStatus[]; parent?: string; after?: string; limit: number; json: boolean }) => {
      const { runList } = await import('./read-commands.js');
      print(await runList(location(options), kind, { statuses: options.status ?? PROCESS_STATUSES, parent: options.parent, after: options.after, limit: options.limit, json: options.json }));
    });

  // ----- commands that change a proc --------------------------------------------------------
  const adminCommand = (name: string, summary: string, description: string) =>
    addJsonOption(addLocationOptions(program.command(name).summary(summary).description(`${description} A recorded transition through the runtime, never a raw update; needs --module (the kinds).`)));

  adminCommand('call', 'call a process of a proc', 'Call a process of a proc: start it, or queue it behind the running one; a worker (`procstate worker`) runs it.')
    .argument('<kind>', "the proc's kind")
    .argument('<id>', "the proc's id")
    .argument('<process>', 'the process to call')
    .option('--args <json>', "the process's arguments, as JSON", jsonValue)
    .action(async (kind: string, id: string, process: string, options: LocationOptions & { args?: unknown; json: boolean }) => {
      const { callAction, runAdmin } = await import('./admin-commands.js');
      print(await runAdmin(adminLocation(options, 'call'), kind, 'call', callAction(kind, id, process, options.args as JsonValue | undefined), options.json, logger('procstate call')));
    });

  adminCommand('reset', 'reset a proc to READY', 'Reset a proc to READY.')
    .argument('<kind>', "the proc's kind")
    .argument('<id>', "the proc's id")
    .option('--force', 'reset even while it is processing (its run is fenced)', false)
    .action(async (kind: string, id: string, options: LocationOptions & { force: boolean; json: boolean }) => {
      const { resetAction, runAdmin } = await import('./admin-commands.js');
      print(await runAdmin(adminLocation(options, 'reset'), kind, 'reset', resetAction(kind, id, options.force), options.json, logger('procstate reset')));
    });

  adminCommand('terminate', 'terminate a proc (FAILURE, its run fenced)', 'Terminate a proc: FAILURE with the reason, its run fenced.')
    .argument('<kind>', "the proc's kind")
    .argument('<id>', "the proc's id")
    .option('--reason <text>', 'the message recorded')
    .action(async (kind: string, id: string, options: LocationOptions & { reason?: string; json: boolean }) => {
      const { runAdmin, terminateAction } = await import('./admin-commands.js');
      print(await runAdmin(adminLocation(options, 'terminate'), kind, 'terminate', terminateAction(kind, id, options.reason), options.json, logger('procstate terminate')));
    });

  // ----- dashboard --------------------------------------------------------------------------
  addJsonOption(
    addServerOptions(
      program
        .command('dashboard')
        .summary('serve the dashboard: procs by status, a proc with its machine and ledger, actions')
        .description('Serve the web dashboard on MongoDB until SIGINT or SIGTERM: every kind by status, live; a kind\'s procs; a proc with its machine, its ledger replayed on it, its children; with --token-file, call, reset and terminate. Binds to 127.0.0.1 unless --host says otherwise.'),
    ),
  )
    .option('--module <file>', 'a kinds module (kinds, their children and processes; needed for actions); without one the kinds are found from their ledgers')
    .option('--port <n>', 'the port (0: any free one)', wholeNumber(0, 65_535), 4000)
    .option('--host <address>', 'the address to listen on; anything but loopback exposes the dashboard to the network', '127.0.0.1')
    .option('--token-file <file>', 'a file whose first line is the admin token (16+ characters); without it the dashboard is read-only')
    .option('--refresh-ms <ms>', 'how often open pages are updated', wholeNumber(100, 3_600_000), 1000)
    .option('--stuck-after-ms <ms>', 'a proc processing for longer than this shows as stuck', wholeNumber(1_000, MAX_TIMER_MS), 600_000)
    .action(async (options: { uri: string; db?: string; serverTimeoutMs: number; module?: string; port: number; host: string; tokenFile?: string; refreshMs: number; stuckAfterMs: number; json: boolean }) => {
      await requirePeers(['mongodb'], 'procstate dashboard');
      const { runDashboard } = await import('./dashboard.js');
      const { nextSignal } = await import('./signals.js');
      const stopped = nextSignal();
      await runDashboard(
        { ...options, database: options.db, modulePath: options.module },
        (line) => print(`${line}\n`),
        logger('procstate dashboard'),
        stopped,
      );
      finish(ExitCode.OK);
    });

  // ----- diagram ----------------------------------------------------------------------------
  program
    .command('diagram')
    .summary('print the proc machine as Mermaid, DOT or JSON')
    .description("Print the proc machine: a Mermaid or DOT diagram, or its JSON definition (importable into Stately's editor).")
    .addOption(choiceOption('--format <format>', 'output format', ['mermaid', 'json', 'dot'], 'mermaid'))
    .action((options: { format: 'mermaid' | 'json' | 'dot' }) => {
      print({ mermaid: procMachineToMermaid, json: procMachineToJson, dot: procMachineToDot }[options.format]());
    });

  // Set on each command: commander copies settings only to commands made after them.
  for (const command of [program, ...program.commands]) {
    command.showHelpAfterError();
    command.configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) });
  }
  return program;
}

function location(options: LocationOptions) {
  return { uri: options.uri, database: options.db, modulePath: options.module, collection: options.collection, serverTimeoutMs: options.serverTimeoutMs };
}

function adminLocation(options: LocationOptions, command: string) {
  if (options.module === undefined) throw new UsageError(`${command} needs --module FILE: the kinds (their processes and machines) decide what a transition may do.`);
  return { ...location(options), modulePath: options.module };
}
