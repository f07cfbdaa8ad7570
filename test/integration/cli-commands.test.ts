/**
 * The command line as a user meets it: help and version, strict numbers, usage errors (64),
 * errors that say what to pass instead of empty answers, the commands that list and change
 * procs, clean shutdown of `demo --uri` on SIGINT, and a runtime on Agenda that lets its
 * process exit after `close()`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { collections, kinds, planEntries } from '../../src/demo/demo-kinds.js';
import { createProcRuntime } from '../../src/index.js';
import { cli, exitOf, ROOT, spawnCli } from '../helpers/cli.js';
import { databaseName, mongoUri, useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const UPLOAD = 'cli-commands-upload';
const ENTRIES = 30;
/** A seed whose plan has a failing entry, so that `history` has an error to show. */
const SEED = [...Array(100).keys()].find((seed) => planEntries(UPLOAD, { entries: ENTRIES, seed, stepMs: 0 }).some((entry) => entry.fails)) as number;
const COMMANDS = ['demo', 'worker', 'migrate', 'history', 'inspect', 'status', 'list', 'call', 'reset', 'terminate', 'dashboard', 'diagram'];

const where = () => ['--uri', mongoUri(), '--db', database.name, '--module', 'src/demo/demo-kinds.ts'];

beforeAll(async () => {
  const store = new MongoProcStore({
    db: database.db,
    kinds: { upload: collections['upload'] as string, entry: { documents: database.db.collection(collections['entry'] as string), parentKey: 'upload_id' } },
  });
  await store.ensureIndexes();
  const runtime = createProcRuntime({ kinds, store, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
  await runtime.start();
  await runtime.create('upload', UPLOAD);
  await runtime.call('upload', UPLOAD, 'process_upload', { entries: ENTRIES, seed: SEED, stepMs: 0 });
  await runtime.waitForCompletion('upload', UPLOAD, { timeoutMs: 120_000 });
  await runtime.close();
}, 180_000);

describe('help, version and usage errors', () => {
  it('every command has --help (exit 0, its own usage); --version prints the package version', async () => {
    for (const command of COMMANDS) {
      const result = await cli([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toContain(`Usage: procstate ${command}`);
    }
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    const manifest = (await import('../../package.json', { with: { type: 'json' } })) as { default: { version: string } };
    expect(version.stdout.trim()).toBe(manifest.default.version);
  }, 180_000);

  it('numbers are parsed strictly, with ranges, and a refusal is a usage error (64) with the usage', async () => {
    for (const [option, value] of [
      ['--entries', ''],
      ['--entries', '1e3'],
      ['--entries', '0x10'],
      ['--entries', '2.5'],
      ['--step-ms', '3000000000'],
    ] as const) {
      const result = await cli(['demo', option, value]);
      expect(result.code, `${option} ${JSON.stringify(value)}`).toBe(64);
      expect(result.stderr).toContain(`argument '${value}' is invalid. must be a whole number`);
      expect(result.stderr).toContain('Usage: procstate demo');
    }
    const lease = await cli(['worker', '--uri', mongoUri(), '--module', 'src/demo/demo-kinds.ts', '--lease-ms', '1']);
    expect(lease.code).toBe(64);
    expect(lease.stderr).toContain('must be a whole number from 1000 to 2147483647 (a shorter lease expires between heartbeats and fences healthy runs)');
  }, 120_000);

  it('a malformed URI is a usage error, not the driver raw text with exit 1', async () => {
    const result = await cli(['status', '--kind', 'upload', '--collection', 'uploads', '--uri', 'mongodb://user:sekret@a:b:c/']);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('--uri is not a MongoDB connection string');
    expect(result.stderr).not.toContain('sekret');
  });

  it('an unreachable server gives up after --server-timeout-ms, naming the server without its password', async () => {
    const result = await cli(['status', '--kind', 'upload', '--collection', 'uploads', '--uri', 'mongodb://me:sekret@127.0.0.1:1/', '--server-timeout-ms', '300']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PersistenceError (PERSISTENCE_FAILURE): cannot connect to mongodb://***@127.0.0.1:1/ within 300 ms');
    expect(result.stderr).not.toContain('sekret');
  });

  it('an unreachable Redis says why, not "Connection is closed."', async () => {
    const name = databaseName('cli_redis');
    const result = await cli(['demo', '--uri', mongoUri(), '--db', name, '--redis', 'redis://:pw@127.0.0.1:1', '--entries', '1']);
    await database.client.db(name).dropDatabase();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot connect to Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1: connect ECONNREFUSED/);
    expect(result.stderr).not.toContain(':pw@');
  });

  it('a kinds module that does not load names the file and the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procstate-module-'));
    const file = join(dir, 'kinds.mjs');
    writeFileSync(file, 'export const kinds = [\n  {\n    name: "x",,\n  },\n];\n');
    const result = await cli(['status', '--kind', 'x', ...where().slice(0, 4), '--module', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`InvalidArgumentError (INVALID_ARGUMENT): --module ${file} failed to load at ${file}:3`);
    expect(result.stderr).toContain('SyntaxError');
  });
});

describe('no silent wrong answers', () => {
  it('a kind whose collection nobody named is a usage error that says what to pass', async () => {
    const result = await cli(['status', '--kind', 'upload', '--uri', mongoUri(), '--db', database.name]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('status cannot know which collection holds the procs of kind "upload": pass --module FILE');
  });

  it('a collection that does not exist is an error listing those that do', async () => {
    const result = await cli(['status', '--kind', 'upload', '--uri', mongoUri(), '--db', database.name, '--collection', 'upload']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`database "${database.name}" has no collection "upload" (it has`);
    expect(result.stderr).toContain('uploads');
    // Commands that change procs check before anything is made (an index would create the collection).
    const empty = databaseName('cli_empty');
    const reset = await cli(['reset', 'upload', 'u1', '--uri', mongoUri(), '--db', empty, '--module', 'src/demo/demo-kinds.ts']);
    expect(reset.code).toBe(1);
    expect(reset.stderr).toContain(`database "${empty}" has no collection "uploads" (it has none)`);
    expect(await database.client.db(empty).listCollections().toArray()).toEqual([]);
  });

  it('a kind the module does not define is an UnknownKindError naming the kinds it does', async () => {
    const result = await cli(['list', 'uplaod', ...where()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('UnknownKindError (UNKNOWN_KIND): Unknown kind "uplaod": the module defines "upload", "entry"');
  });

  it('migrate on collections that do not exist fails instead of reporting success', async () => {
    const result = await cli(['migrate', '--uri', mongoUri(), '--db', database.name, '--parents', 'no_uploads', '--children', 'no_entries']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`has no collection "no_uploads"`);
    expect(result.stdout).not.toContain('Migration finished');
  });

  it('inspect with no inspector listening fails instead of printing "replayed"', async () => {
    const result = await cli(['inspect', 'upload', UPLOAD, ...where(), '--inspector', 'ws://127.0.0.1:1', '--step-ms', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no inspector answers at ws://127.0.0.1:1');
    expect(result.stdout).not.toContain('replayed');
    const json = await cli(['inspect', 'upload', UPLOAD, ...where(), '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse((await cli(['inspect', 'upload', UPLOAD, ...where(), '--format', 'json'])).stdout));
  });
});

describe('listing and changing procs', () => {
  it('list pages through a kind by status and parent, in id order', async () => {
    const all = JSON.parse((await cli(['list', 'entry', ...where(), '--parent', UPLOAD, '--limit', '1000', '--json'])).stdout) as { procs: Array<{ id: string; process_status: string }>; next: string | null };
    expect(all.procs).toHaveLength(ENTRIES);
    expect(all.next).toBeNull();
    const ids = all.procs.map((proc) => proc.id);
    expect(ids).toEqual([...ids].sort());
    const pages: string[] = [];
    let after: string | null = null;
    do {
      const page = JSON.parse((await cli(['list', 'entry', ...where(), '--parent', UPLOAD, '--limit', '7', '--json', ...(after === null ? [] : ['--after', after])])).stdout) as { procs: Array<{ id: string }>; next: string | null };
      pages.push(...page.procs.map((proc) => proc.id));
      after = page.next;
    } while (after !== null);
    expect(pages).toEqual(ids);
    const failed = JSON.parse((await cli(['list', 'entry', ...where(), '--status', 'FAILURE', '--json'])).stdout) as { procs: Array<{ process_status: string }> };
    expect(failed.procs.length).toBe(all.procs.filter((proc) => proc.process_status === 'FAILURE').length);
    expect(failed.procs.length).toBeGreaterThan(0);
    const wrong = await cli(['list', 'entry', ...where(), '--status', 'DONE']);
    expect(wrong.code).toBe(64);
  }, 120_000);

  it('history shows the error text of a failure without --json', async () => {
    const failed = JSON.parse((await cli(['list', 'entry', ...where(), '--status', 'FAILURE', '--limit', '1', '--json'])).stdout) as { procs: Array<{ id: string }> };
    const id = failed.procs[0]?.id as string;
    const history = await cli(['history', 'entry', id, ...where()]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/RUNNING -> FAILURE.*ParserError: could not parse the mainfile/);
  });

  it('terminate, reset and call are recorded transitions, visible in the ledger', async () => {
    const id = 'cli-admin-upload';
    const store = new MongoProcStore({ db: database.db, kinds: { upload: 'uploads' } });
    const runtime = createProcRuntime({ kinds, store, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
    await runtime.create('upload', id);
    await runtime.close();

    const call = await cli(['call', 'upload', id, 'process_upload', '--args', JSON.stringify({ entries: 0, seed: 1, stepMs: 0 }), ...where(), '--json']);
    expect(call.stderr).toBe('');
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ id, process_status: 'PENDING', current_process: 'process_upload' });
    const terminate = await cli(['terminate', 'upload', id, '--reason', 'stopped by an operator', ...where(), '--json']);
    expect(terminate.code).toBe(0);
    expect(JSON.parse(terminate.stdout)).toMatchObject({ process_status: 'FAILURE', errors: ['stopped by an operator'], last_status_message: 'Process process_upload failed: stopped by an operator' });
    const reset = await cli(['reset', 'upload', id, ...where()]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain(`upload ${id}: READY`);
    const causes = (await store.readTransitions({ kind: 'upload', id })).map((record) => record.cause);
    expect(causes).toEqual(['created', 'process.called', 'run.stopped', 'proc.reset']);

    const unknown = await cli(['call', 'upload', id, 'process_uplaod', ...where()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('UnknownProcessError');
    const withoutModule = await cli(['reset', 'upload', id, '--uri', mongoUri(), '--db', database.name, '--collection', 'uploads']);
    expect(withoutModule.code).toBe(64);
    expect(withoutModule.stderr).toContain('reset needs --module FILE');
    const badJson = await cli(['call', 'upload', id, 'process_upload', '--args', '{nope', ...where()]);
    expect(badJson.code).toBe(64);
    expect((await store.readTransitions({ kind: 'upload', id })).map((record) => record.cause)).toEqual(causes);
  }, 120_000);
});

/** The first line a running command prints on stdout, parsed as JSON. */
function firstJsonLine(child: ReturnType<typeof spawnCli>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(JSON.parse(stdout.slice(0, end)) as Record<string, unknown>);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing a line: ${stderr}`)));
  });
}

describe('dashboard', () => {
  it('serves the kinds of a module with actions through the runtime, and stops on SIGINT', async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'procstate-token-')), 'token');
    writeFileSync(tokenFile, 'cli-dashboard-token-0123456789\n');
    const child = spawnCli(['dashboard', ...where(), '--port', '0', '--token-file', tokenFile, '--json']);
    try {
      const started = await firstJsonLine(child);
      expect(started).toMatchObject({ database: database.name, kinds: ['upload', 'entry'], actions: true });
      const url = started['url'] as string;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const overview = (await (await fetch(new URL('api/overview', url))).json()) as { kinds: Array<{ name: string; total: number }> };
      const stored = [['upload', await database.db.collection('uploads').countDocuments()], ['entry', await database.db.collection('entries').countDocuments()]];
      expect(stored[1]).toEqual(['entry', ENTRIES]);
      expect(overview.kinds.map((kind) => [kind.name, kind.total])).toEqual(stored);
      const entry = `${UPLOAD}-entry-00000`;
      const before = await database.db.collection('entries_transitions').countDocuments({ proc: entry });
      const refused = await fetch(new URL(`api/procs/entry/${entry}/reset`, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(refused.status).toBe(401);
      const reset = await fetch(new URL(`api/procs/entry/${entry}/reset`, url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-procstate-token': 'cli-dashboard-token-0123456789' }, body: '{}' });
      expect(reset.status).toBe(200);
      expect(await reset.json()).toMatchObject({ id: entry, process_status: 'READY' });
      expect(await database.db.collection('entries_transitions').countDocuments({ proc: entry })).toBe(before + 1);
      child.kill('SIGINT');
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);

  it('without a module finds the kinds from their ledgers and is read-only; an empty database or a short token is refused', async () => {
    const child = spawnCli(['dashboard', '--uri', mongoUri(), '--db', database.name, '--port', '0', '--json']);
    try {
      const started = await firstJsonLine(child);
      expect(started).toMatchObject({ kinds: ['entries', 'uploads'], actions: false });
      const action = await fetch(new URL(`api/procs/uploads/${UPLOAD}/reset`, started['url'] as string), { method: 'POST', headers: { 'content-type': 'application/json', 'x-procstate-token': 'anything-at-all-here' }, body: '{}' });
      expect(action.status).toBe(403);
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const empty = await cli(['dashboard', '--uri', mongoUri(), '--db', databaseName('cli_empty'), '--port', '0']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('holds no procstate kinds');
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'procstate-token-')), 'token');
    writeFileSync(tokenFile, 'short\n');
    const short = await cli(['dashboard', ...where(), '--token-file', tokenFile]);
    expect(short.code).toBe(64);
    expect(short.stderr).toContain('at least 16 characters');
  }, 120_000);

  it('demo --dashboard serves the demo upload while it runs, and stays up until SIGINT', async () => {
    const child = spawnCli(['demo', '--dashboard', '--port', '0', '--entries', '20', '--step-ms', '0', '--json']);
    try {
      const started = await firstJsonLine(child);
      const url = started['dashboard'] as string;
      expect(started['upload']).toBe(`${url}#/proc/upload/demo-upload-1`);
      let status = '';
      for (let round = 0; round < 300 && status !== 'SUCCESS'; round += 1) {
        const page = (await (await fetch(new URL('api/procs/upload/demo-upload-1', url))).json()) as { status?: string };
        status = page.status ?? '';
        if (status !== 'SUCCESS') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe('SUCCESS');
      const children = (await (await fetch(new URL('api/procs/upload/demo-upload-1', url))).json()) as { children: Array<{ kind: string; counts: Record<string, number> }> };
      expect(children.children.map((child) => child.kind)).toEqual(['entry']);
      expect(Object.values(children.children[0]?.counts ?? {}).reduce((a, b) => a + b, 0)).toBe(20);
      child.kill('SIGINT');
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});

describe('shutdown', () => {
  it('demo --uri drains on SIGINT: no job is left locked by it and no run is left RUNNING', async () => {
    const name = databaseName('cli_sigint');
    const child = spawnCli(['demo', '--uri', mongoUri(), '--db', name, '--entries', '400', '--step-ms', '20', '--concurrency', '4']);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const db = database.client.db(name);
    try {
      // Interrupt once entries are being processed.
      for (let round = 0; round < 600; round += 1) {
        if ((await db.collection('entries').countDocuments({ process_status: 'SUCCESS' })) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      child.kill('SIGINT');
      const code = await exitOf(child);
      expect(stderr).toContain('drained; upload demo-upload-1-');
      expect(code).toBe(130);
      expect(await db.collection('procstate_jobs').countDocuments({ lockedAt: { $ne: null } })).toBe(0);
      expect(await db.collection('entries').countDocuments({ process_status: 'RUNNING' })).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await db.dropDatabase().catch(() => undefined);
    }
  }, 180_000);

  /** Runs the close fixture; its status line and how long it lived after its close returned. */
  async function closeFixture(mode: 'exit' | 'natural', lockLifetimeMs: number): Promise<{ status: string; afterCloseMs: number }> {
    const name = databaseName('cli_close');
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/fixtures/close-exits.ts', mongoUri(), name, mode, String(lockLifetimeMs)], { cwd: ROOT, timeout: 60_000 });
      const ended = Date.now();
      const [status, closed] = stdout.trim().split('\n');
      return { status: status ?? '', afterCloseMs: ended - Number(closed?.replace('closed ', '')) };
    } finally {
      await database.client.db(name).dropDatabase().catch(() => undefined);
    }
  }

  it('a process that ran Agenda jobs ends at once after close({ exit: true }), whatever the lock lifetime', async () => {
    // With Agenda's default lock lifetime its liveness timer would hold the process five minutes.
    const { status } = await closeFixture('exit', 600_000);
    expect(status).toBe('SUCCESS');
  }, 90_000);

  it('without exit it ends by itself once Agenda\'s liveness check of its last job has run: procstate holds nothing', async () => {
    const { status, afterCloseMs } = await closeFixture('natural', 4_000);
    expect(status).toBe('SUCCESS');
    // Reported, not asserted: the linger is Agenda's (docs/operations.md), about lockLifetimeMs / 2 after the job started.
    console.info(`the process lived ${afterCloseMs} ms after its close (lockLifetimeMs 4000)`);
  }, 90_000);
});
