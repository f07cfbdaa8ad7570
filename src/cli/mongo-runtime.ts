/**
 * The CLI's composition root for MongoDB: opens the client (the only place that does), builds
 * the store, the Agenda scheduler and, with a Redis URL, the cross-process notification channel.
 * Agenda and its backend are loaded by whoever imports this module, after `requirePeers` said
 * they are installed; ioredis only with a Redis URL.
 */
import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { PersistenceError } from '../../machines/errors.js';
import { ServerClock } from '../../persistence/mongodb/server-clock.js';
import { AgendaScheduler } from '../agenda/agenda-scheduler.js';
import { RedisNotificationChannel } from '../agenda/redis-notification-channel.js';
import { redactText, redactUri } from '../redact.js';
import { createProcRuntime } from '../runtime/create-proc-runtime.js';
import type { RuntimeLogger } from '../runtime/logger.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';
import { connectClient, databaseFromUri } from './connect.js';
import { assertCollectionsExist, placesOf, storeForKinds } from './kind-store.js';
import type { ProcstateModule } from './kinds-module.js';
import { importPeer } from './peers.js';

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
  /** Give up on an unreachable MongoDB or Redis after this long. @defaultValue 10000 */
  readonly serverTimeoutMs?: number | undefined;
  /** Collections that must exist already (a command on existing procs), and what to say otherwise. */
  readonly mustExist?: { readonly collections: readonly string[]; readonly hint: string } | undefined;
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

/** Connects and builds a runtime on MongoDB and Agenda. @throws PersistenceError when the server does not answer */
export async function openMongoRuntime(options: MongoRuntimeOptions): Promise<OpenMongoRuntime> {
  const client = await connectClient(options.uri, options.serverTimeoutMs);
  let redis: Redis | undefined;
  let clock: ServerClock | undefined;
  try {
    const databaseName = options.database ?? databaseFromUri(options.uri) ?? options.module.database ?? 'procstate';
    const db = client.db(databaseName);
    const { kinds } = options.module;
    // Checked before the indexes are made: making an index creates its collection.
    if (options.mustExist !== undefined) await assertCollectionsExist(db, options.mustExist.collections, options.mustExist.hint);
    const store = storeForKinds(db, placesOf(options.module));
    await store.ensureIndexes();
    // Leases, ledger times and lost-worker decisions on the server's clock, not this machine's.
    clock = await ServerClock.start(db, { onError: (error) => options.logger.warn('sampling the server clock failed; the last offset stays in use', { error: redactText(String(error)) }) });
    let notificationChannel: RedisNotificationChannel | undefined;
    if (options.redis !== undefined) {
      redis = await connectRedis(options.redis, options.serverTimeoutMs ?? 10_000, options.logger);
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
      // Agenda's own errors go where the runtime's go, in the command's log format.
      logger: options.logger,
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
      clock: clock.now,
    });
    return {
      runtime,
      db,
      databaseName,
      close: async (drainTimeoutMs) => {
        await runtime.close({ drainTimeoutMs });
        clock?.stop();
        redis?.disconnect();
        await client.close();
      },
    };
  } catch (error) {
    clock?.stop();
    redis?.disconnect();
    await client.close();
    throw error;
  }
}

/**
 * Connects to Redis, or fails with the reason (ioredis itself only says `Connection is closed.`
 * once it gives up). After the first connection, ioredis reconnects by itself.
 * @throws PersistenceError when Redis does not answer within `timeoutMs`
 */
async function connectRedis(url: string, timeoutMs: number, logger: RuntimeLogger): Promise<Redis> {
  const { Redis } = await importPeer<typeof import('ioredis')>('ioredis');
  let connected = false;
  let lastError: Error | undefined;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    connectTimeout: timeoutMs,
    retryStrategy: (attempt) => (connected ? Math.min(attempt * 200, 2_000) : null),
  });
  redis.on('error', (error: Error) => {
    lastError = error;
    if (connected) logger.warn('redis', { error: redactText(error.message) });
  });
  try {
    await redis.connect();
    connected = true;
    return redis;
  } catch (error) {
    redis.disconnect();
    const reason = lastError ?? error;
    throw new PersistenceError(`cannot connect to Redis at ${redactUri(url)}: ${redactText(reason instanceof Error ? reason.message : String(reason))}`, { cause: reason });
  }
}
