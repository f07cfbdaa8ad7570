/**
 * Run-time schemas (Standard Schema) on the embedded runtime, with zod and valibot: arguments
 * and fields that fail are refused with the schema's issues before anything is written, and a
 * process receives the schema's output.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createProcRuntime,
  defineKind,
  InvalidArgumentError,
  InvalidDefinitionError,
  ProcessResult,
  typedArgs,
  type ProcRuntime,
} from '../../src/index.js';

function kinds(seen: unknown[]) {
  const entry = defineKind({
    name: 'entry',
    parent: { kind: 'upload', key: 'upload_id' },
    fields: v.object({ upload_id: v.string(), mainfile: v.optional(v.pipe(v.string(), v.minLength(1))) }),
    processes: {
      process_entry: {
        child: true,
        args: v.object({ level: v.pipe(v.number(), v.integer()) }),
        run: async (ctx) => {
          seen.push({ entry: ctx.id, args: ctx.args, fields: await ctx.fields() });
        },
      },
      checked_later: {
        args: v.objectAsync({ code: v.pipeAsync(v.string(), v.checkAsync(async (code) => code.startsWith('c-'), 'a code starts with c-')) }),
        run: async (ctx) => void seen.push({ entry: ctx.id, args: ctx.args }),
      },
    },
  });
  const upload = defineKind({
    name: 'upload',
    children: [entry],
    fields: z.object({ upload_name: z.string().min(3) }),
    processes: {
      process_upload: {
        args: z.object({ entries: z.number().int().nonnegative(), label: z.string().default('unlabelled') }),
        run: async (ctx) => {
          seen.push({ upload: ctx.id, args: ctx.args });
          await ctx.startChildren(
            'entry',
            Array.from({ length: ctx.args.entries }, (_, index) => ({ id: `${ctx.id}-${index}`, process: 'process_entry' as const, args: { level: index % 2 } })),
          );
          return ProcessResult.WAITING_FOR_RESULT;
        },
      },
      bad_fan_out: {
        run: async (ctx) => {
          await ctx.startChildren('entry', [
            { id: `${ctx.id}-ok`, process: 'process_entry', args: { level: 0 } },
            { id: `${ctx.id}-bad`, process: 'process_entry', args: { level: 0.5 } },
          ]);
        },
      },
      summarise: { local: true, args: typedArgs<{ text: string }>(), run: async (ctx) => ctx.args.text.toUpperCase() },
    },
  });
  return [upload, entry] as const;
}

async function started(seen: unknown[]) {
  const runtime = createProcRuntime({ kinds: kinds(seen), sweepIntervalMs: 0 });
  await runtime.start();
  return runtime;
}

async function expectRefused(work: Promise<unknown>, issues: Array<{ path: string; message?: string }>): Promise<InvalidArgumentError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  const refused = error as InvalidArgumentError;
  expect(refused.constructor).toBe(InvalidArgumentError);
  expect(refused.issues.map((issue) => issue.path)).toEqual(issues.map((issue) => issue.path));
  for (const [index, issue] of issues.entries()) if (issue.message !== undefined) expect(refused.issues[index]?.message).toContain(issue.message);
  return refused;
}

describe('schemas of arguments and fields', () => {
  it('refuses arguments that fail the schema with its issues, and records nothing', async () => {
    const seen: unknown[] = [];
    const runtime = await started(seen);
    await runtime.create('upload', 'u1', { fields: { upload_name: 'first upload' } });
    const before = await runtime.history('upload', 'u1');
    const error = await expectRefused(runtime.call('upload', 'u1', 'process_upload', { entries: -1 } as never), [{ path: 'entries' }]);
    expect(error.message).toMatch(/^The arguments of upload\.process_upload do not match the schema: entries: /);
    await expectRefused(runtime.call('upload', 'u1', 'process_upload', { entries: 'two' } as never), [{ path: 'entries' }]);
    await expectRefused((runtime as ProcRuntime).call('upload', 'u1', 'process_upload'), [{ path: '' }]);
    expect(await runtime.history('upload', 'u1')).toEqual(before);
    expect(seen).toEqual([]);
    await runtime.close();
  });

  it("gives the process the schema's output, typed, and validates children's arguments and fields", async () => {
    const seen: unknown[] = [];
    const runtime = await started(seen);
    await runtime.create('upload', 'u2', { fields: { upload_name: 'second upload' } });
    await runtime.call('upload', 'u2', 'process_upload', { entries: 2 });
    const done = await runtime.waitForCompletion('upload', 'u2');
    expect(done.process_status).toBe('SUCCESS');
    expect(seen[0]).toEqual({ upload: 'u2', args: { entries: 2, label: 'unlabelled' } });
    expect(seen.slice(1).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { entry: 'u2-0', args: { level: 0 }, fields: { upload_id: 'u2' } },
      { entry: 'u2-1', args: { level: 1 }, fields: { upload_id: 'u2' } },
    ]);
    await runtime.close();
  });

  it('refuses a fan-out with one bad child before writing any child', async () => {
    const seen: unknown[] = [];
    const runtime = await started(seen);
    await runtime.create('upload', 'u3', { fields: { upload_name: 'third upload' } });
    await runtime.call('upload', 'u3', 'bad_fan_out');
    const done = await runtime.waitForCompletion('upload', 'u3');
    expect(done.process_status).toBe('FAILURE');
    expect(done.errors.join()).toContain('InvalidArgumentError: The arguments of entry.process_entry do not match the schema: level: ');
    expect(await runtime.find('entry', 'u3-ok')).toBeUndefined();
    expect(await runtime.find('entry', 'u3-bad')).toBeUndefined();
    await runtime.close();
  });

  it('refuses fields that fail the kind schema at creation, one or many, and writes nothing', async () => {
    const runtime = await started([]);
    await expectRefused(runtime.create('upload', 'u4', { fields: { upload_name: 'no' } }), [{ path: 'upload_name' }]);
    await expectRefused(runtime.create('upload', 'u4'), [{ path: 'upload_name' }]);
    expect(await runtime.find('upload', 'u4')).toBeUndefined();
    await runtime.create('upload', 'u5', { fields: { upload_name: 'fifth upload' } });
    await expectRefused(
      runtime.createMany('entry', [
        { id: 'e-good', parent: 'u5' },
        { id: 'e-bad', parent: 'u5', fields: { mainfile: '' } },
      ]),
      [{ path: 'mainfile' }],
    );
    expect(await runtime.find('entry', 'e-good')).toBeUndefined();
    await expectRefused(runtime.callMany('entry', [{ id: 'e-good', process: 'process_entry', args: { level: 1.5 } }]), [{ path: 'level' }]);
    await runtime.close();
  });

  it('waits for an asynchronous schema, and refuses with its message', async () => {
    const seen: unknown[] = [];
    const runtime = await started(seen);
    await runtime.create('upload', 'u6', { fields: { upload_name: 'sixth upload' } });
    await runtime.create('entry', 'e6', { parent: 'u6' });
    await expectRefused(runtime.call('entry', 'e6', 'checked_later', { code: 'x-1' }), [{ path: 'code', message: 'a code starts with c-' }]);
    await runtime.call('entry', 'e6', 'checked_later', { code: 'c-1' });
    await runtime.waitForCompletion('entry', 'e6');
    expect(seen).toEqual([{ entry: 'e6', args: { code: 'c-1' } }]);
    expect(await runtime.runLocal('upload', 'u6', 'summarise', { text: 'done' })).toBe('DONE');
    await runtime.close();
  });

  it('refuses definitions whose schemas or children are malformed', () => {
    expect(() => defineKind({ name: 'k', processes: { p: { args: { parse: () => 1 } as never, run: () => undefined } } })).toThrow(InvalidDefinitionError);
    expect(() => defineKind({ name: 'k', fields: z.string() as never, processes: {} }).name).not.toThrow();
    const orphan = defineKind({ name: 'orphan', processes: {} });
    expect(() => defineKind({ name: 'k', children: [orphan], processes: {} })).toThrow(InvalidDefinitionError);
    const child = defineKind({ name: 'child', parent: { kind: 'k', key: 'k_id' }, processes: {} });
    const parent = defineKind({ name: 'k', children: [child], processes: {} });
    expect(() => createProcRuntime({ kinds: [parent] })).toThrow(InvalidDefinitionError);
    expect(() => createProcRuntime({ kinds: [parent, child] })).not.toThrow();
  });
});
