import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createWebSocketReceiver, type StatelyInspectionEvent } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { createProcRuntime, replayLedger, type ReplayRecord } from '../../src/index.js';
import { collections, kinds } from '../../src/demo/demo-kinds.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const ROOT = new URL('../..', import.meta.url).pathname;
const UPLOAD = 'cli-upload';

/** The server's URI with credentials that must never be printed (FerretDB takes them over PLAIN). */
function uriWithPassword(): string {
  const url = new URL(mongoUri());
  url.username = 'root';
  url.password = 'sekret-word';
  url.searchParams.set('authMechanism', 'PLAIN');
  return url.toString();
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

beforeAll(async () => {
  const store = new MongoProcStore({
    db: database.db,
    kinds: { upload: collections['upload'] as string, entry: { documents: database.db.collection(collections['entry'] as string), parentKey: 'upload_id' } },
  });
  const runtime = createProcRuntime({ kinds, store, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
  await runtime.start();
  await runtime.create('upload', UPLOAD);
  await runtime.call('upload', UPLOAD, 'process_upload', { entries: 12, seed: 4, stepMs: 0 });
  await runtime.waitForCompletion('upload', UPLOAD, { timeoutMs: 60_000 });
  await runtime.close();
});

describe('reading stored procs from the command line', () => {
  const where = () => ['--uri', uriWithPassword(), '--db', database.name, '--module', 'src/demo/demo-kinds.ts'];

  it('history prints the ledger, as a table and as JSON', async () => {
    const table = await cli(['history', 'upload', UPLOAD, ...where()]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/READY -> PENDING\s+process\.called/);
    expect(table.stdout).toMatch(/WAITING_FOR_RESULT -> RUNNING\s+join\.started/);
    const json = await cli(['history', 'upload', UPLOAD, ...where(), '--json']);
    const records = JSON.parse(json.stdout) as Array<{ seq: number; to: string; cause: string }>;
    expect(records.map((record) => record.seq)).toEqual(records.map((_, index) => index + 1));
    expect(records.at(-1)).toMatchObject({ to: 'SUCCESS', cause: 'run.succeeded' });
    for (const output of [table, json]) expect(output.stdout + output.stderr).not.toContain('sekret-word');
  }, 60_000);

  it('status counts procs by status, and shows one upload with its entries by status', async () => {
    const all = await cli(['status', '--kind', 'upload', ...where(), '--json']);
    expect(JSON.parse(all.stdout)).toMatchObject({ kind: 'upload', counts: { SUCCESS: 1 } });
    const one = await cli(['status', '--kind', 'upload', '--id', UPLOAD, ...where(), '--json']);
    const report = JSON.parse(one.stdout) as { proc: { process_status: string }; children: { entry: { total: number; processed: number; processing: number; failed: number } } };
    expect(report.proc.process_status).toBe('SUCCESS');
    expect(report.children.entry).toMatchObject({ total: 12, processed: 12, processing: 0 });
    const text = await cli(['status', '--kind', 'upload', '--id', UPLOAD, ...where()]);
    expect(text.stdout).toContain('entry: 12/12 processed');
    for (const output of [all, one, text]) expect(output.stdout + output.stderr).not.toContain('sekret-word');
  }, 60_000);

  it('inspect --format json prints the replay records; replaying reproduces the statuses in order', async () => {
    const json = await cli(['inspect', 'upload', UPLOAD, ...where(), '--format', 'json']);
    const replay = JSON.parse(json.stdout) as ReplayRecord[];
    const history = JSON.parse((await cli(['history', 'upload', UPLOAD, ...where(), '--json'])).stdout) as Array<{ to: string }>;
    const statuses = replay.flatMap((record) => (record.type === '@xstate.snapshot' ? [record.snapshot.value] : record.type === '@xstate.actor' ? [record.snapshot.value] : []));
    expect(statuses).toEqual(history.map((record) => record.to));
    expect(replay.every((record) => record.type !== '@xstate.snapshot' || record.consistent)).toBe(true);
    expect(replay[0]).toMatchObject({ type: '@xstate.actor', sessionId: `upload/${UPLOAD}` });
  }, 60_000);

  it('inspect replays into a WebSocket inspector, step by step', async () => {
    const port = 18_000 + Math.floor(Math.random() * 2_000);
    const server = createInspectorServer({ port, autoOpen: false });
    const received: StatelyInspectionEvent[] = [];
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const receiver = createWebSocketReceiver({ server: `ws://127.0.0.1:${port}` });
      receiver.subscribe((event) => received.push(event));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const result = await cli(['inspect', 'upload', UPLOAD, ...where(), '--inspector', `ws://127.0.0.1:${port}`, '--step-ms', '20']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('every transition is one the machine makes');
      expect(result.stdout + result.stderr).not.toContain('sekret-word');
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      server.stop();
    }
    const mine = received.filter((event) => event.sessionId === `upload/${UPLOAD}`);
    expect(mine[0]?.type).toBe('@xstate.actor');
    const snapshots = mine.filter((event) => event.type === '@xstate.snapshot').map((event) => (event as unknown as { snapshot: { value: string } }).snapshot.value);
    expect(snapshots.at(-1)).toBe('SUCCESS');
    expect(snapshots).toContain('WAITING_FOR_RESULT');
    expect(mine.filter((event) => event.type === '@xstate.event').length).toBe(snapshots.length);
  }, 60_000);

  it('a missing proc is a typed error with exit code 1, and the password stays hidden', async () => {
    const result = await cli(['history', 'upload', 'no-such-upload', ...where()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ProcNotFoundError \(PROC_NOT_FOUND\)/);
    expect(result.stderr).not.toContain('sekret-word');
  }, 60_000);

  it('replayLedger agrees with the runtime on a stored upload', async () => {
    const store = new MongoProcStore({ db: database.db, kinds: { upload: 'uploads' } });
    const records = await store.readTransitions({ kind: 'upload', id: UPLOAD });
    const replay = replayLedger('upload', UPLOAD, records);
    expect(replay.filter((record) => record.type === '@xstate.snapshot')).toHaveLength(records.length - 1);
  });
});
