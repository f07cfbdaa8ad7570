/**
 * The package as a user installs it: `npm pack`, then the tarball installed into fresh consumer
 * projects: once with the peers a user of MongoDB and Agenda installs, and the test tools (no
 * ioredis, no @statelyai/inspect); once with no optional peer at all; once with fast-check and
 * vitest only. Every CLI command runs from there against the test server, the README's two code
 * samples run and type-check with `skipLibCheck: false`, the docs' testing examples and the
 * contract suites run with the installed vitest, and a missing peer is named with the command
 * to install it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, ROOT, runToEnd, type CliResult } from '../helpers/cli.js';
import { databaseName, mongoUri, useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const work = mkdtempSync(join(tmpdir(), 'procstate-consumer-'));
const run = promisify(execFile);

/** The version of a package in this repository's node_modules, so that installs come from npm's cache. */
function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** A fresh project with the tarball and `peers` installed. */
async function consumer(name: string, tarball: string, peers: readonly string[]): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }));
  const packages = [tarball, ...peers.map((peer) => `${peer}@${installedVersion(peer)}`)];
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages], { cwd: dir, timeout: 300_000 });
  return dir;
}

/** Runs the installed `procstate` binary in `dir`. */
async function procstate(dir: string, args: readonly string[]): Promise<CliResult> {
  return runToEnd(join(dir, 'node_modules', '.bin', 'procstate'), args, { cwd: dir });
}

/** The README's ```ts block under a heading. */
function readmeSample(heading: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`## ${heading}`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (at === -1 || block === undefined) throw new Error(`README has no ts sample under "## ${heading}"`);
  return block;
}

/** Type-checks files of a consumer with its own installed packages and no skipLibCheck. */
async function typecheck(dir: string, files: readonly string[]): Promise<CliResult> {
  const tsconfig = {
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
    files,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  return runToEnd(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir });
}

const KINDS = `import { defineKind, ProcessResult } from 'procstate';

export const kinds = [
  defineKind({
    name: 'upload',
    processes: { process_upload: { run: async (ctx) => {
      await ctx.startChildren('entry', [0, 1, 2].map((n) => ({ id: \`\${ctx.id}-\${n}\`, process: 'process_entry' })));
      return ProcessResult.WAITING_FOR_RESULT;
    } } },
  }),
  defineKind({ name: 'entry', parent: { kind: 'upload', key: 'upload_id' }, processes: { process_entry: { child: true, run: (ctx) => ctx.setStep('parsed') } } }),
];
export const collections = { upload: 'uploads', entry: 'entries' };
`;

/** How a user creates procs: from code, with the installed package. */
const CREATE = `import { MongoClient } from 'mongodb';
import { createProcRuntime } from 'procstate';
import { MongoProcStore } from 'procstate/persistence/mongodb';
import { kinds } from './kinds.mjs';

const [uri, name] = process.argv.slice(2);
const client = await new MongoClient(uri).connect();
const db = client.db(name);
const store = new MongoProcStore({ db, kinds: { upload: 'uploads', entry: { documents: db.collection('entries'), parentKey: 'upload_id' } } });
await store.ensureIndexes();
const runtime = createProcRuntime({ kinds, store });
for (const id of ['u1', 'seed']) await runtime.create('upload', id);
await runtime.close();
await client.close();
`;

let tarball = '';
let withPeers = '';
let bare = '';
let testing = '';

beforeAll(async () => {
  const { stdout } = await run('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, timeout: 300_000 });
  tarball = join(work, stdout.trim().split('\n').at(-1) as string);
  [withPeers, bare, testing] = await Promise.all([
    consumer('with-peers', tarball, ['mongodb', 'agenda', '@agendajs/mongo-backend', 'fast-check', 'vitest', '@types/node']),
    consumer('bare', tarball, ['@types/node']),
    consumer('testing', tarball, ['fast-check', 'vitest', '@types/node']),
  ]);
  for (const dir of [withPeers, bare]) writeFileSync(join(dir, 'kinds.mjs'), KINDS);
  writeFileSync(join(withPeers, 'create.mjs'), CREATE);
}, 600_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Runs vitest, as installed in `dir`, on the given test files. */
async function vitest(dir: string, files: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runToEnd(join(dir, 'node_modules', '.bin', 'vitest'), ['run', '--reporter', 'verbose', ...files], { cwd: dir, timeoutMs: 300_000, env: { ...process.env, ...env, NO_COLOR: '1' } });
}

/** Copies docs/examples files into a consumer, as a user copies them from docs/testing.md. */
function copyExamples(dir: string, files: readonly string[]): void {
  for (const file of files) writeFileSync(join(dir, file), readFileSync(join(ROOT, 'docs', 'examples', file), 'utf8'));
}

describe('the packed package, installed with mongodb, agenda and the test tools (no ioredis, no inspector)', () => {
  it('ships no test, bench or source file, and the docs examples import from procstate', () => {
    const listing = readdirSync(join(withPeers, 'node_modules', 'procstate'));
    expect(listing.sort()).toEqual(['README.md', 'dist', 'docs', 'package.json'].sort());
    // An example may import a sibling example (`./testing-kinds.js`: the user copies both), never the source.
    for (const file of readdirSync(join(withPeers, 'node_modules', 'procstate', 'docs', 'examples'))) {
      const text = readFileSync(join(withPeers, 'node_modules', 'procstate', 'docs', 'examples', file), 'utf8');
      expect(text, file).not.toMatch(/from '\.\.\//);
      for (const [, sibling] of text.matchAll(/from '\.\/([^']+)\.js'/g)) expect(readdirSync(join(withPeers, 'node_modules', 'procstate', 'docs', 'examples')), file).toContain(`${sibling}.ts`);
    }
  });

  it('runs every command against the server', async () => {
    const uri = mongoUri();
    const db = databaseName('consumer');
    const where = ['--uri', uri, '--db', db, '--module', 'kinds.mjs'];
    try {
      expect((await procstate(withPeers, ['--version'])).stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
      expect((await procstate(withPeers, ['diagram'])).stdout).toContain('stateDiagram-v2');
      const demo = await procstate(withPeers, ['demo', '--entries', '20', '--json']);
      expect(demo.code).toBe(0);
      expect(JSON.parse(demo.stdout)).toMatchObject({ upload: { process_status: 'SUCCESS' } });
      const demoDatabase = databaseName('consumer_demo');
      const demoOnServer = await procstate(withPeers, ['demo', '--uri', uri, '--db', demoDatabase, '--entries', '20', '--json']);
      await database.client.db(demoDatabase).dropDatabase();
      expect(demoOnServer.stderr).not.toContain('Error');
      expect(JSON.parse(demoOnServer.stdout)).toMatchObject({ upload: { process_status: 'SUCCESS' }, entries: { total: 20 } });

      // A worker handles what `call` records; status, list and history read the result.
      const worker = spawn(join(withPeers, 'node_modules', '.bin', 'procstate'), ['worker', ...where, '--log-format', 'json', '--poll-ms', '200'], { cwd: withPeers, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      worker.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString();
      });
      try {
        await run(process.execPath, ['create.mjs', uri, db], { cwd: withPeers, timeout: 60_000 });
        const call = await procstate(withPeers, ['call', 'upload', 'u1', 'process_upload', ...where, '--json']);
        expect(call.stderr).toBe('');
        expect(JSON.parse(call.stdout)).toMatchObject({ process_status: 'PENDING' });
        let status: { proc?: { process_status: string } } = {};
        for (let round = 0; round < 300 && status.proc?.process_status !== 'SUCCESS'; round += 1) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          status = JSON.parse((await procstate(withPeers, ['status', '--kind', 'upload', '--id', 'u1', ...where, '--json'])).stdout) as typeof status;
        }
        expect(status).toMatchObject({ proc: { process_status: 'SUCCESS' }, children: { entry: { total: 3, processed: 3 } } });
      } finally {
        worker.kill('SIGTERM');
      }
      expect(await exitOf(worker)).toBe(0);
      const lines = log.trim().split('\n').map((line) => JSON.parse(line) as { level: string; msg: string });
      expect(lines.map((line) => line.msg)).toContain('stopped');

      const list = JSON.parse((await procstate(withPeers, ['list', 'entry', '--status', 'SUCCESS', '--parent', 'u1', ...where, '--json'])).stdout) as { procs: Array<{ id: string }> };
      expect(list.procs.map((proc) => proc.id)).toEqual(['u1-0', 'u1-1', 'u1-2']);
      expect((await procstate(withPeers, ['history', 'upload', 'u1', ...where])).stdout).toContain('WAITING_FOR_RESULT -> RUNNING');
      expect(JSON.parse((await procstate(withPeers, ['inspect', 'upload', 'u1', ...where, '--format', 'json'])).stdout)[0]).toMatchObject({ type: '@xstate.actor' });
      const early = await procstate(withPeers, ['terminate', 'upload', 'seed', ...where]);
      expect(early.code).toBe(1);
      expect(early.stderr).toContain('InvalidTransitionError (INVALID_TRANSITION): upload "seed" is READY, which does not accept run.stopped.');
      // No worker runs now: the call stays PENDING until it is terminated.
      expect(JSON.parse((await procstate(withPeers, ['call', 'upload', 'seed', 'process_upload', ...where, '--json'])).stdout)).toMatchObject({ process_status: 'PENDING' });
      expect(JSON.parse((await procstate(withPeers, ['terminate', 'upload', 'seed', ...where, '--json'])).stdout)).toMatchObject({ process_status: 'FAILURE' });
      expect(JSON.parse((await procstate(withPeers, ['reset', 'upload', 'seed', ...where, '--json'])).stdout)).toMatchObject({ process_status: 'READY' });

      await database.client.db(db).collection('legacy_uploads').insertOne({ _id: 'l1', tasks_status: 'SUCCESS', current_process: 'process_upload' } as never);
      await database.client.db(db).collection('legacy_entries').insertOne({ _id: 'l1-0', upload_id: 'l1', tasks_status: 'SUCCESS', current_process: 'process_calc' } as never);
      const migrate = await procstate(withPeers, ['migrate', '--uri', uri, '--db', db, '--parents', 'legacy_uploads', '--children', 'legacy_entries', '--json']);
      expect(migrate.code).toBe(0);
      expect(JSON.parse(migrate.stdout)).toMatchObject({ units: { migrated: 1 } });

      // The peers this project did not install are named, with the command to install them.
      const inspect = await procstate(withPeers, ['inspect', 'upload', 'u1', ...where]);
      expect(inspect.code).toBe(1);
      expect(inspect.stderr).toContain('MissingPeerError (MISSING_PEER): procstate inspect (the XState inspector protocol) needs the package "@statelyai/inspect", which is not installed: npm install @statelyai/inspect');
      const redis = await procstate(withPeers, ['demo', '--uri', uri, '--db', db, '--redis', 'redis://127.0.0.1:6379', '--entries', '1']);
      expect(redis.code).toBe(1);
      expect(redis.stderr).toContain('needs the package "ioredis", which is not installed: npm install ioredis');
    } finally {
      await database.client.db(db).dropDatabase();
    }
  }, 600_000);

  it("runs the README's samples and type-checks them, and procstate/agenda, without ioredis installed", async () => {
    for (const extension of ['mts', 'mjs']) {
      writeFileSync(join(withPeers, `quick-start.${extension}`), readmeSample('Quick start'));
      writeFileSync(join(withPeers, `on-mongodb.${extension}`), readmeSample('On MongoDB, with Agenda workers'));
    }
    writeFileSync(join(withPeers, 'agenda-types.mts'), "import { AgendaScheduler, RedisNotificationChannel, type RedisPubSubClient } from 'procstate/agenda';\nexport const used: [typeof AgendaScheduler, typeof RedisNotificationChannel, RedisPubSubClient | undefined] = [AgendaScheduler, RedisNotificationChannel, undefined];\n");
    const checked = await typecheck(withPeers, ['quick-start.mts', 'on-mongodb.mts', 'agenda-types.mts']);
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    // The samples are plain JavaScript too: Node runs them as they are.
    const quick = await run(process.execPath, ['quick-start.mjs'], { cwd: withPeers, timeout: 60_000 });
    expect(quick.stdout.trim()).toBe('SUCCESS Process process_upload completed successfully');
    const name = databaseName('consumer_readme');
    const onMongo = await run(process.execPath, ['on-mongodb.mjs'], { cwd: withPeers, timeout: 60_000, env: { ...process.env, MONGODB_URI: mongoUri(), EXAMPLE_DB: name } });
    await database.client.db(name).dropDatabase();
    expect(onMongo.stdout.trim().split('\n')).toEqual(['SUCCESS', 'created → process.called → worker.started → run.progressed → run.succeeded']);
  }, 180_000);
  it('runs the store contract on MongoDB and the scheduler contract on Agenda, from procstate/testing as installed', async () => {
    copyExamples(withPeers, ['testing-contracts-mongodb.test.ts']);
    const result = await vitest(withPeers, ['testing-contracts-mongodb.test.ts'], { MONGODB_URI: mongoUri() });
    expect(result.stdout + result.stderr).toMatch(/Tests {2}36 passed \(36\)/);
    expect(result.code).toBe(0);
  }, 300_000);
});

describe('the packed package, installed with no optional peer', () => {
  it('demo, diagram and --help work; commands on MongoDB name the package to install', async () => {
    expect((await procstate(bare, ['--help'])).code).toBe(0);
    expect((await procstate(bare, ['worker', '--help'])).code).toBe(0);
    expect((await procstate(bare, ['diagram', '--format', 'dot'])).stdout).toContain('digraph');
    const demo = await procstate(bare, ['demo', '--entries', '10', '--json']);
    expect(demo.code).toBe(0);
    expect(JSON.parse(demo.stdout)).toMatchObject({ upload: { process_status: 'SUCCESS' } });
    writeFileSync(join(bare, 'kinds.ts'), KINDS);
    const typescript = await procstate(bare, ['worker', '--uri', mongoUri(), '--module', 'kinds.ts']);
    expect(typescript.code).toBe(1);
    expect(typescript.stderr).toContain('a .ts module needs a TypeScript loader (run the CLI with `node --import tsx`, or compile the module to .js)');
    const where = ['--uri', mongoUri(), '--db', 'unused', '--module', 'kinds.mjs'];
    for (const args of [['status', '--kind', 'upload', ...where], ['list', 'upload', ...where], ['history', 'upload', 'u1', ...where], ['migrate', '--uri', mongoUri(), '--db', 'unused', '--parents', 'p', '--children', 'c']]) {
      const result = await procstate(bare, args);
      expect(result.code, args[0]).toBe(1);
      expect(result.stderr, args[0]).toContain('needs the package "mongodb", which is not installed: npm install mongodb');
    }
    writeFileSync(join(bare, 'testing.mjs'), "try { await import('procstate/testing'); } catch (error) { console.log(error.name, error.message); }\n");
    expect((await run(process.execPath, ['testing.mjs'], { cwd: bare, timeout: 60_000 })).stdout.trim()).toBe(
      'MissingPeerError procstate/testing (property tests of your kinds) needs the package "fast-check", which is not installed: npm install fast-check',
    );
    for (const args of [['worker', ...where], ['demo', '--uri', mongoUri()], ['call', 'upload', 'u1', 'process_upload', ...where], ['dashboard', ...where]]) {
      const result = await procstate(bare, args);
      expect(result.code, args[0]).toBe(1);
      expect(result.stderr, args[0]).toMatch(/MissingPeerError \(MISSING_PEER\): procstate [a-z -]+ needs the package "mongodb", which is not installed: npm install mongodb/);
    }
  }, 180_000);

  it('the dashboard serves its page and assets from the installed package, and its docs example type-checks, with no peer installed', async () => {
    writeFileSync(join(bare, 'dashboard-serve.mts'), readFileSync(join(ROOT, 'docs/examples/dashboard-serve.ts'), 'utf8'));
    const checked = await typecheck(bare, ['dashboard-serve.mts']);
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    writeFileSync(
      join(bare, 'dashboard.mjs'),
      [
        "import { createProcRuntime } from 'procstate';",
        "import { createDashboardHandler, serveDashboard } from 'procstate/dashboard';",
        "import { kinds } from './kinds.mjs';",
        'const runtime = createProcRuntime({ kinds });',
        'await runtime.start();',
        'const server = await serveDashboard(createDashboardHandler({ runtime, kinds }), { port: 0 });',
        "for (const path of ['', 'assets/app.js', 'assets/style.css', 'assets/favicon.svg', 'api/meta']) {",
        '  const response = await fetch(new URL(path, server.url));',
        "  console.log(path || '/', response.status, response.headers.get('content-type'), (await response.text()).length > 100);",
        '}',
        'await server.close();',
        'await runtime.close();',
      ].join('\n'),
    );
    const served = await run(process.execPath, ['dashboard.mjs'], { cwd: bare, timeout: 60_000 });
    expect(served.stdout.trim().split('\n')).toEqual([
      '/ 200 text/html; charset=utf-8 true',
      'assets/app.js 200 text/javascript; charset=utf-8 true',
      'assets/style.css 200 text/css; charset=utf-8 true',
      'assets/favicon.svg 200 image/svg+xml true',
      'api/meta 200 application/json; charset=utf-8 true',
    ]);
  }, 120_000);

  it("the README's quick start runs and type-checks with no peer installed", async () => {
    for (const extension of ['mts', 'mjs']) writeFileSync(join(bare, `quick-start.${extension}`), readmeSample('Quick start'));
    const checked = await typecheck(bare, ['quick-start.mts']);
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    const quick = await run(process.execPath, ['quick-start.mjs'], { cwd: bare, timeout: 60_000 });
    expect(quick.stdout.trim()).toBe('SUCCESS Process process_upload completed successfully');
  }, 120_000);
});

describe('the packed package, installed with fast-check and vitest only', () => {
  it("property-tests a user's kinds, controls a race and runs the contract suites, as docs/testing.md shows, and type-checks them", async () => {
    const files = ['testing-kinds.ts', 'testing-kinds.test.ts', 'testing-race.test.ts', 'testing-contracts.test.ts'];
    copyExamples(testing, files);
    const checked = await typecheck(testing, files);
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    const result = await vitest(testing, files.filter((file) => file.endsWith('.test.ts')));
    expect(result.stdout + result.stderr).toContain('keeps every guarantee, whatever the deliveries, duplicates, drops, crashes and clock');
    // One scheduler-contract test is for durable schedulers only: skipped for the in-process one.
    expect(result.stdout + result.stderr).toMatch(/Tests {2}\d+ passed \| 1 skipped \(\d+\)/);
    expect(result.stdout + result.stderr).not.toMatch(/\d+ failed/);
    expect(result.code).toBe(0);
  }, 300_000);
});
