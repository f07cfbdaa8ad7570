/**
 * A lock for one migration at a time per pair of collections, safe on servers without atomic
 * filtered updates: each holder inserts its own lock document under a unique key (scope and
 * epoch), heartbeats only that document, and a successor takes over a silent holder by
 * inserting the next epoch. Two runs can never both hold the same epoch.
 */
import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { MigrationLockedError } from '../../machines/errors.js';

/** The collection with the datafix's lock documents. */
const DEFAULT_MIGRATION_LOCK_COLLECTION = 'procstate_migrations';

interface LockDocument {
  _id: string;
  scope: string;
  epoch: number;
  owner: string;
  state: 'held' | 'released';
  acquired_at: Date;
  heartbeat_at: Date;
}

/** Options of {@link acquireMigrationLock}. */
export interface MigrationLockOptions {
  readonly db: Db;
  readonly scope: string;
  readonly owner: string;
  /** A holder silent for this long is taken over. */
  readonly ttlMs: number;
  /** How long to wait for a live holder before giving up. */
  readonly waitMs: number;
  /** Told once when the lock is held by someone else and the run waits. */
  readonly onWait?: ((owner: string, heartbeatAt: Date) => void) | undefined;
}

/** A held lock. */
export interface MigrationLock {
  /** Throws when a successor took the lock over (this run was silent too long). */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes the lock of a scope, waiting for a live holder up to `waitMs`. @throws MigrationLockedError */
export async function acquireMigrationLock(options: MigrationLockOptions): Promise<MigrationLock> {
  const collection: Collection<LockDocument> = options.db.collection(DEFAULT_MIGRATION_LOCK_COLLECTION);
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    const [latest] = await collection.find({ scope: options.scope }).sort({ epoch: -1 }).limit(1).toArray();
    const silentFor = latest === undefined ? Infinity : Date.now() - latest.heartbeat_at.getTime();
    if (latest !== undefined && latest.state === 'held' && silentFor < options.ttlMs) {
      if (Date.now() > deadline) throw new MigrationLockedError(latest.owner, latest.heartbeat_at);
      if (!told) options.onWait?.(latest.owner, latest.heartbeat_at);
      told = true;
      await pause(Math.min(500, options.ttlMs / 4));
      continue;
    }
    const epoch = (latest?.epoch ?? 0) + 1;
    const now = new Date();
    const document: LockDocument = { _id: `${options.scope}#${epoch}`, scope: options.scope, epoch, owner: `${options.owner}#${randomUUID().slice(0, 8)}`, state: 'held', acquired_at: now, heartbeat_at: now };
    try {
      await collection.insertOne(document);
    } catch (error) {
      if ((error as { code?: unknown }).code === 11000) continue;
      throw error;
    }
    return holdLock(collection, document, options.ttlMs);
  }
}

function holdLock(collection: Collection<LockDocument>, document: LockDocument, ttlMs: number): MigrationLock {
  const timer = setInterval(() => {
    void collection.updateOne({ _id: document._id }, { $set: { heartbeat_at: new Date() } }).catch(() => undefined);
  }, Math.max(50, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    async assertHeld() {
      const successor = await collection.findOne({ _id: `${document.scope}#${document.epoch + 1}` });
      if (successor !== null) {
        clearInterval(timer);
        throw new MigrationLockedError(successor.owner, successor.heartbeat_at);
      }
    },
    async release() {
      clearInterval(timer);
      await collection.updateOne({ _id: document._id }, { $set: { state: 'released', heartbeat_at: new Date() } });
    },
  };
}
