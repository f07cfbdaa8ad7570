/**
 * `procstate dashboard`: the dashboard on MongoDB, served until SIGINT or SIGTERM. With a kinds
 * module it knows every kind, its children and its processes, and with a token it acts through
 * a runtime (which only produces jobs: workers run them). Without a module it finds the kinds
 * from their ledgers and is read-only.
 */
import { readFile } from 'node:fs/promises';
import type { Db } from 'mongodb';
import { InvalidArgumentError } from '../../machines/errors.js';
import { DEFAULT_LEDGER_SUFFIX } from '../../persistence/mongodb/mongo-proc-store.js';
import { KIND_PATTERN } from '../../persistence/validate.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import { createDashboardHandler } from '../dashboard/dashboard-handler.js';
import type { DashboardKind } from '../dashboard/dashboard-data.js';
import { serveDashboard, type DashboardServer } from '../dashboard/serve-dashboard.js';
import { redactUri } from '../redact.js';
import type { RuntimeLogger } from '../runtime/logger.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';
import { connectClient, databaseFromUri } from './connect.js';
import { assertCollectionsExist, placesOf, storeForKinds, type KindPlace } from './kind-store.js';
import { loadModule, type ProcstateModule } from './kinds-module.js';
import { UsageError } from './options.js';

/** Options of {@link runDashboard}. */
export interface DashboardCommandOptions {
  readonly uri: string;
  readonly database?: string | undefined;
  readonly modulePath?: string | undefined;
  readonly serverTimeoutMs?: number | undefined;
  readonly port: number;
  readonly host: string;
  readonly tokenFile?: string | undefined;
  readonly refreshMs: number;
  readonly stuckAfterMs: number;
  readonly json: boolean;
}

/** Reads the admin token: the file's first line, at least 16 characters. */
async function readToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--token-file ${JSON.stringify(path)} cannot be read: ${(error as Error).message}`);
  }
  const token = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (token.length < 16) throw new UsageError(`--token-file ${JSON.stringify(path)} must hold a token of at least 16 characters on its first line (e.g. \`openssl rand -hex 24 > ${path}\`).`);
  return token;
}

/**
 * Kinds found from their ledgers (a collection with `<collection>_transitions` beside it), when
 * no module names them. Ledger records do not store their kind (the collection is the kind's),
 * so each is shown under its collection's name.
 */
async function discoverKinds(db: Db): Promise<KindPlace[]> {
  const names = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((info) => String(info.name)));
  return [...names]
    .filter((name) => name.endsWith(DEFAULT_LEDGER_SUFFIX) && names.has(name.slice(0, -DEFAULT_LEDGER_SUFFIX.length)))
    .map((name) => name.slice(0, -DEFAULT_LEDGER_SUFFIX.length))
    .filter((collection) => KIND_PATTERN.test(collection))
    .sort()
    .map((collection) => ({ name: collection, collection }));
}

/** What the dashboard reads (and with a token acts through), and how to let go of it. */
interface DashboardSource {
  readonly databaseName: string;
  readonly kinds: readonly DashboardKind[];
  readonly reads: { readonly runtime: ProcRuntime } | { readonly store: ProcStore };
  close(): Promise<void>;
}

/**
 * With a token: one runtime on the module's kinds (it only produces jobs). Without: a store on
 * the module's kinds, or on the kinds found from their ledgers. Collections that do not exist
 * are an error either way.
 */
async function openSource(options: DashboardCommandOptions, module: ProcstateModule | undefined, token: string | undefined, logger: RuntimeLogger): Promise<DashboardSource> {
  const hint = 'pass --db, or a --module whose `collections` name them.';
  if (token !== undefined && module !== undefined) {
    const { openMongoRuntime } = await import('./mongo-runtime.js');
    const open = await openMongoRuntime({
      uri: options.uri,
      module,
      database: options.database,
      serverTimeoutMs: options.serverTimeoutMs,
      work: false,
      sweepIntervalMs: 0,
      mustExist: { collections: placesOf(module).map((place) => place.collection), hint },
      logger,
    });
    try {
      await open.runtime.start();
    } catch (error) {
      await open.close(0);
      throw error;
    }
    return { databaseName: open.databaseName, kinds: module.kinds, reads: { runtime: open.runtime }, close: () => open.close(5_000) };
  }
  const client = await connectClient(options.uri, options.serverTimeoutMs);
  try {
    const databaseName = options.database ?? databaseFromUri(options.uri) ?? module?.database ?? 'procstate';
    const db = client.db(databaseName);
    let places: KindPlace[];
    if (module === undefined) {
      places = await discoverKinds(db);
      if (places.length === 0) {
        throw new InvalidArgumentError(`database ${JSON.stringify(databaseName)} holds no procstate kinds (no collection with a ledger beside it); pass --db, or --module FILE with the kinds.`);
      }
    } else {
      places = placesOf(module);
      await assertCollectionsExist(db, places.map((place) => place.collection), hint);
    }
    const kinds = module?.kinds ?? places.map((place) => ({ name: place.name }));
    return { databaseName, kinds, reads: { store: storeForKinds(db, places) }, close: () => client.close() };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** Serves the dashboard until `stopped` resolves; says where on `say`. */
export async function runDashboard(options: DashboardCommandOptions, say: (line: string) => void, logger: RuntimeLogger, stopped: Promise<unknown>): Promise<void> {
  const module = options.modulePath === undefined ? undefined : await loadModule(options.modulePath);
  const token = options.tokenFile === undefined ? undefined : await readToken(options.tokenFile);
  if (token !== undefined && module === undefined) throw new UsageError('--token-file needs --module FILE: actions go through a runtime on the kinds.');
  const source = await openSource(options, module, token, logger);
  let server: DashboardServer | undefined;
  try {
    const { databaseName, kinds } = source;
    const handler = createDashboardHandler({ ...source.reads, kinds, token, refreshMs: options.refreshMs, stuckAfterMs: options.stuckAfterMs, onError: (error: unknown) => logger.error('a dashboard read failed', { error }) });
    try {
      server = await serveDashboard(handler, { port: options.port, host: options.host });
    } catch (error) {
      handler.close();
      throw error;
    }
    const mode = token === undefined ? 'read-only (no --token-file)' : 'actions with the token';
    say(options.json ? JSON.stringify({ url: server.url, database: databaseName, kinds: kinds.map((kind) => kind.name), actions: token !== undefined }) : `procstate dashboard on ${server.url} — ${kinds.map((kind) => kind.name).join(', ')} in ${databaseName} at ${redactUri(options.uri)}, ${mode}${module === undefined ? '; without --module kinds are named by their collections and children are not linked' : ''}`);
    await stopped;
  } finally {
    // Closing the server closes the handler too.
    await server?.close();
    await source.close();
  }
}
