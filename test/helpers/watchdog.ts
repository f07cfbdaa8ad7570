/**
 * A watchdog for long waits in tests and benchmarks: when the wait runs out, it fails with the
 * state of the database server — does it still answer, and what are its PostgreSQL connections
 * doing — instead of hanging or failing with a bare timeout. FerretDB's pool deadlock (all its
 * PostgreSQL connections idle, nothing answering) is then visible at a glance.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';

const run = promisify(execFile);

/** What the server looks like now, in a few lines. Never throws. */
async function describeServer(uri: string): Promise<string> {
  const lines: string[] = [];
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000, socketTimeoutMS: 3_000, maxPoolSize: 1 });
  const started = performance.now();
  try {
    await client.db('admin').command({ ping: 1 });
    lines.push(`the server answers ping in ${(performance.now() - started).toFixed(0)} ms`);
  } catch (error) {
    lines.push(`the server does not answer ping: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await client.close().catch(() => undefined);
  }
  // The project's FerretDB keeps its data in the local PostgreSQL; a real mongod has none of this.
  try {
    const { stdout } = await run(
      'psql',
      ['-h', '127.0.0.1', '-U', 'root', '-d', 'postgres', '-tAc', "select coalesce(datname, '-'), state, count(*) from pg_stat_activity where backend_type = 'client backend' group by 1, 2 order by 1, 2"],
      { timeout: 5_000 },
    );
    lines.push(`PostgreSQL connections (database|state|count): ${stdout.trim().split('\n').join(', ') || 'none'}`);
  } catch (error) {
    lines.push(`PostgreSQL could not be asked: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  return lines.join('\n');
}

/** An error whose message carries the server's state at the moment a wait ran out. */
export class WatchdogError extends Error {
  override readonly name = 'WatchdogError';
}

/**
 * Resolves with `work`, or fails after `timeoutMs` with a {@link WatchdogError} that describes
 * the server. The work itself is not cancelled (its own timeouts stop it).
 */
export async function watched<T>(label: string, uri: string, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void describeServer(uri).then((state) => reject(new WatchdogError(`${label}: no result within ${Math.round(timeoutMs / 1000)} s\n${state}`)));
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
