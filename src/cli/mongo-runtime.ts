/**
 * The CLI's composition root for MongoDB: opens the client (the only place that does), builds
 * the store, the Agenda scheduler and, with a Redis URL, the cross-process notification channel.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { MongoProcStore } from '../../persistence/mongodb/mongo-proc-store.js';
import { AgendaScheduler } from '../agenda/agenda-scheduler.js';
import { RedisNotificationChannel } from '../agenda/redis-notification-channel.js';
import type { KindDefinition } from '../define-kind.js';
import { InvalidArgumentError } from '../../machines/errors.js';
import { createProcRuntime } from '../runtime/create-proc-runtime.js';
import type { RuntimeLogger } from '../runtime/logger.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';
import { connectClient, databaseFromUri } from './connect.js';
import { redactText } from './format.js';

/**
 * What a module given to `procstate worker --module` exports.
 *
 * @example
 * ```ts
 * // kinds.ts
 * export const kinds = [upload, entry];
 * export const collections = { upload: 'uploads', entry: 'entries' };
 * ```
 */
export interface ProcstateModule {
  /** The kinds the worker handles. */
  readonly kinds: readonly KindDefinition[];
  /** Collection of each kind. @defaultValue the kind's name */
  readonly collections?: Readonly<Record<string, string>>;
  /** Database name, when the URI names none. */
  readonly database?: string;
}

/** Loads and checks a kinds module. @throws InvalidArgumentError */
export async function loadModule(path: string): Promise<ProcstateModule> {
  const loaded = (await import(pathToFileURL(resolve(path)).href)) as Partial<ProcstateModule>;
  if (!Array.isArray(loaded.kinds) || loaded.kinds.length === 0) {
    throw new InvalidArgumentError(`${path} must export \`kinds\`, a non-empty array of kind definitions.`);
  }
  return loaded as ProcstateModule;
}

/** Options of {@link openMongoRuntime}. */
export interface MongoRuntimeOptions {
  readonly uri: string;
  readonly module: ProcstateModule;
  readonly database?: string | undefined;
  readonly redis?: string | undefined;
  readonly concurrency?: number | undefined;
  readonly leaseMs?: number | undefined;
  readonly leaseGraceMs?: number | undefined;
  readonly lockLifetimeMs?: number | undefined;
  readonly pollMs?: number | undefined;
  readonly sweepIntervalMs?: number | undefined;
  readonly name?: string | undefined;
  /** Handle jobs in this process. @defaultValue true */
  readonly work?: boolean | undefined;
  readonly logger: RuntimeLogger;
}

/** A runtime on MongoDB with everything it opened, and how to close it all. */
export interface OpenMongoRuntime {
  readonly runtime: ProcRuntime;
  readonly db: Db;
  readonly databaseName: string;
  /** Drains the runtime for up to `drainTimeoutMs`, then closes Redis and MongoDB. */
  close(drainTimeoutMs: number): Promise<void>;
}

/** A store on `db` for the kinds, each in the collection `collectionOf` names, children with their parent key. */
export function storeForKinds(db: Db, kinds: readonly Pick<KindDefinition, 'name' | 'parent'>[], collectionOf: (kind: string) => string): MongoProcStore {
  return new MongoProcStore({
    db,
    kinds: Object.fromEntries(kinds.map((kind) => [kind.name, { documents: db.collection(collectionOf(kind.name)), parentKey: kind.parent?.key }])),
  });
}

/** Connects and builds a runtime on MongoDB and Agenda. @throws PersistenceError when the server does not answer */
export async function openMongoRuntime(options: MongoRuntimeOptions): Promise<OpenMongoRuntime> {
  const client = await connectClient(options.uri);
  let redis: Redis | undefined;
  try {
    const databaseName = options.database ?? databaseFromUri(options.uri) ?? options.module.database ?? 'procstate';
    const db = client.db(databaseName);
    const { kinds } = options.module;
    const store = storeForKinds(db, kinds, (kind) => options.module.collections?.[kind] ?? kind);
    await store.ensureIndexes();
    let notificationChannel: RedisNotificationChannel | undefined;
    if (options.redis !== undefined) {
      redis = new Redis(options.redis, { lazyConnect: true, maxRetriesPerRequest: 3 });
      redis.on('error', (error: Error) => options.logger.warn('redis', { error: redactText(error.message) }));
      await redis.connect();
      notificationChannel = new RedisNotificationChannel({ client: redis });
    }
    const scheduler = new AgendaScheduler({
      db,
      concurrency: options.concurrency,
      pollMs: options.pollMs,
      lockLifetimeMs: options.lockLifetimeMs,
      notificationChannel,
      name: options.name,
      work: options.work,
    });
    const runtime = createProcRuntime({
      kinds,
      store,
      scheduler,
      leaseMs: options.leaseMs,
      leaseGraceMs: options.leaseGraceMs,
      sweepIntervalMs: options.sweepIntervalMs,
      worker: options.name,
      logger: options.logger,
    });
    return {
      runtime,
      db,
      databaseName,
      close: async (drainTimeoutMs) => {
        await runtime.close({ drainTimeoutMs });
        redis?.disconnect();
        await client.close();
      },
    };
  } catch (error) {
    redis?.disconnect();
    await client.close();
    throw error;
  }
}
