/**
 * Schemas on MongoDB: `procstate call --args` goes through the process's schema (refused with its
 * issues, nothing recorded), and a document whose fields someone changed outside procstate is
 * reported by the process that reads them, never rewritten.
 */
import { describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { createProcRuntime, type ProcRuntime } from '../../src/index.js';
import { kinds } from '../fixtures/schema-kinds.js';
import { cli } from '../helpers/cli.js';
import { mongoUri, useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const where = () => ['--uri', mongoUri(), '--db', database.name, '--module', 'test/fixtures/schema-kinds.ts'];

async function runtimeOn(): Promise<ProcRuntime> {
  const store = new MongoProcStore({ db: database.db, kinds: { upload: 'uploads' } });
  await store.ensureIndexes();
  const runtime = createProcRuntime({ kinds, store, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
  await runtime.start();
  return runtime;
}

describe('schemas on MongoDB', () => {
  it('procstate call --args is checked with the schema before anything is recorded', async () => {
    const runtime = await runtimeOn();
    await runtime.create('upload', 'u-cli', { fields: { upload_name: 'from the CLI' } });
    const before = await runtime.history('upload', 'u-cli');
    await runtime.close();

    const refused = await cli(['call', 'upload', 'u-cli', 'process_upload', '--args', '{"entries":-2}', ...where()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('InvalidArgumentError (INVALID_ARGUMENT): The arguments of upload.process_upload do not match the schema: entries: ');
    const after = await runtimeOn();
    expect(await after.history('upload', 'u-cli')).toEqual(before);
    await after.close();

    const accepted = await cli(['call', 'upload', 'u-cli', 'process_upload', '--args', '{"entries":2}', ...where(), '--json']);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({ id: 'u-cli', process_status: 'PENDING' });
  }, 120_000);

  it('a document whose fields no longer match is reported by the process that reads them, and left as it is', async () => {
    const runtime = await runtimeOn();
    await runtime.create('upload', 'u-edited', { fields: { upload_name: 'a good name' } });
    await database.db.collection('uploads').updateOne({ _id: 'u-edited' as never }, { $set: { upload_name: 7 } });
    await runtime.call('upload', 'u-edited', 'process_upload', { entries: 1 });
    const failed = await runtime.waitForCompletion('upload', 'u-edited', { timeoutMs: 60_000 });
    expect(failed.process_status).toBe('FAILURE');
    expect(failed.errors.join()).toContain('InvalidFieldsError: The fields of upload "u-edited" do not match the kind\'s schema, and were left as they are: upload_name: ');
    expect(await database.db.collection('uploads').findOne({ _id: 'u-edited' as never })).toMatchObject({ upload_name: 7 });

    await database.db.collection('uploads').updateOne({ _id: 'u-edited' as never }, { $set: { upload_name: 'a good name again' } });
    await runtime.call('upload', 'u-edited', 'process_upload', { entries: 1 });
    const done = await runtime.waitForCompletion('upload', 'u-edited', { timeoutMs: 60_000 });
    expect(done).toMatchObject({ process_status: 'SUCCESS', current_process_step: 'a good name again: 1 entries' });
    await runtime.close();
  }, 120_000);
});
