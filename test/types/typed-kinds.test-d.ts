/**
 * Type tests: a runtime typed by its kinds. Compiled by the type check (test/unit/typecheck.test.ts
 * runs `tsc` over the project): each `@ts-expect-error` line must be an error, so a regression that
 * lets a misuse compile fails the build, and the lines without it must compile.
 * Nothing here runs.
 */
import * as v from 'valibot';
import { z } from 'zod';
import { createProcRuntime, defineKind, ProcessResult, typedArgs, type JsonValue, type ProcRuntime } from '../../src/index.js';

const entry = defineKind({
  name: 'entry',
  parent: { kind: 'upload', key: 'upload_id' },
  fields: z.object({ upload_id: z.string(), mainfile: z.string().optional() }),
  processes: {
    process_entry: {
      args: z.object({ mainfile: z.string(), level: z.number().int() }),
      run: async (ctx) => {
        const mainfile: string = ctx.args.mainfile;
        const level: number = ctx.args.level;
        // @ts-expect-error not an argument of process_entry
        void ctx.args.parser;
        await ctx.setStep(`${mainfile} ${level}`);
      },
    },
    reprocess: { args: v.optional(v.object({ force: v.boolean() })), run: async (ctx) => void (ctx.args satisfies { force: boolean } | null) },
    untyped: { run: async (ctx) => void (ctx.args as JsonValue) },
    clean: { args: z.undefined(), run: async () => undefined },
  },
});

const upload = defineKind({
  name: 'upload',
  children: [entry],
  processes: {
    process_upload: {
      args: typedArgs<{ entries: number }>(),
      run: async (ctx) => {
        const entries: number = ctx.args.entries;
        await ctx.startChild('entry', 'e1', 'process_entry', { mainfile: 'a.out', level: 0 });
        await ctx.startChild('entry', 'e1', 'process_entry', { mainfile: 'a.out', level: 0 }, { upload_id: ctx.id });
        await ctx.startChild('entry', 'e2', 'clean');
        await ctx.startChild('entry', 'e3', 'untyped', [1, 'two']);
        await ctx.startChildren('entry', [
          { id: 'e4', process: 'process_entry', args: { mainfile: 'b.out', level: 1 } },
          { id: 'e5', process: 'reprocess' },
        ]);
        // @ts-expect-error a child kind that is not a child of upload
        await ctx.startChild('upload', 'e1', 'process_upload', { entries: 1 });
        // @ts-expect-error unknown process of the child kind
        await ctx.startChild('entry', 'e1', 'proces_entry', { mainfile: 'a.out', level: 0 });
        // @ts-expect-error wrong argument type
        await ctx.startChild('entry', 'e1', 'process_entry', { mainfile: 'a.out', level: '0' });
        // @ts-expect-error missing argument
        await ctx.startChild('entry', 'e1', 'process_entry');
        // @ts-expect-error arguments where the process takes none
        await ctx.startChild('entry', 'e1', 'clean', { any: 1 });
        // @ts-expect-error a child start with arguments of another process
        await ctx.startChildren('entry', [{ id: 'e6', process: 'process_entry', args: { force: true } }]);
        // @ts-expect-error a field the child's schema does not have the type of
        await ctx.createChild('entry', 'e7', { upload_id: 7 });
        // @ts-expect-error counts of a kind that is not a child
        await ctx.childCounts('upload');
        void entries;
        return ProcessResult.WAITING_FOR_RESULT;
      },
    },
  },
});

const runtime = createProcRuntime({ kinds: [upload, entry] });
export async function typed(): Promise<void> {
  await runtime.create('upload', 'u1');
  await runtime.create('entry', 'e1', { parent: 'u1', fields: { upload_id: 'u1' } });
  await runtime.call('upload', 'u1', 'process_upload', { entries: 3 });
  await runtime.call('entry', 'e1', 'reprocess');
  await runtime.call('entry', 'e1', 'reprocess', { force: true });
  await runtime.call('entry', 'e1', 'untyped', { anything: ['json'] });
  await runtime.call('entry', 'e1', 'untyped');
  await runtime.call('entry', 'e1', 'clean');
  await runtime.callMany('entry', [{ id: 'e1', process: 'process_entry', args: { mainfile: 'c', level: 2 } }, { id: 'e2', process: 'clean' }]);
  await runtime.waitForCompletion('upload', 'u1');

  // @ts-expect-error unknown kind
  await runtime.call('uplaod', 'u1', 'process_upload', { entries: 3 });
  // @ts-expect-error unknown process (a typo)
  await runtime.call('upload', 'u1', 'proces_upload', { entries: 3 });
  // @ts-expect-error a process of another kind
  await runtime.call('upload', 'u1', 'process_entry', { mainfile: 'a', level: 0 });
  // @ts-expect-error wrong argument type
  await runtime.call('upload', 'u1', 'process_upload', { entries: '3' });
  // @ts-expect-error missing argument
  await runtime.call('upload', 'u1', 'process_upload');
  // @ts-expect-error arguments where the process takes none
  await runtime.call('entry', 'e1', 'clean', null);
  // @ts-expect-error a field of the wrong type at creation
  await runtime.create('entry', 'e2', { parent: 'u1', fields: { upload_id: 2 } });
  // @ts-expect-error unknown kind elsewhere too
  await runtime.get('entries', 'e1');
  // @ts-expect-error bulk calls are typed per process
  await runtime.callMany('entry', [{ id: 'e1', process: 'process_entry', args: { mainfile: 'c' } }]);
}

// A typed runtime is a ProcRuntime (for code that takes any runtime, such as the dashboard).
export const anyRuntime: ProcRuntime = runtime;

// Kinds without schemas or literal names keep the untyped API: names are strings, arguments JSON.
const loose: Parameters<typeof createProcRuntime>[0]['kinds'] = [upload, entry];
const untyped = createProcRuntime({ kinds: loose });
export async function untypedCalls(kind: string, process: string): Promise<void> {
  await untyped.call(kind, 'u1', process, { any: ['json', 1] });
  await untyped.call(kind, 'u1', process);
  // @ts-expect-error still JSON only
  await untyped.call(kind, 'u1', process, new Date());
}

// A call takes the schema's input; the process receives its output (defaults applied).
const withDefaults = defineKind({
  name: 'report',
  fields: z.object({ title: z.string(), pages: z.number().default(1) }),
  processes: {
    render: {
      args: z.object({ format: z.enum(['pdf', 'html']).default('pdf') }),
      run: async (ctx) => {
        const format: 'pdf' | 'html' = ctx.args.format;
        const { title, pages }: { title: string; pages: number } = await ctx.fields();
        void [format, title, pages];
      },
    },
  },
});
const reports = createProcRuntime({ kinds: [withDefaults] });
export async function inputAndOutput(): Promise<void> {
  await reports.create('report', 'r1', { fields: { title: 'Q3' } });
  await reports.call('report', 'r1', 'render', {});
  await reports.call('report', 'r1', 'render', { format: 'html' });
  // @ts-expect-error not one of the enum's values
  await reports.call('report', 'r1', 'render', { format: 'docx' });
  // @ts-expect-error a required field missing at creation
  await reports.create('report', 'r2', { fields: { pages: 2 } });
}
