import * as v from 'valibot';
import { z } from 'zod';
import { createProcRuntime, defineKind, InvalidArgumentError, ProcessResult } from 'procstate';

// valibot for the entries: their arguments, and the fields of their documents.
const entry = defineKind({
  name: 'entry',
  parent: { kind: 'upload', key: 'upload_id' },
  fields: v.object({ upload_id: v.string(), mainfile: v.pipe(v.string(), v.minLength(1)) }),
  processes: {
    process_entry: {
      child: true,
      args: v.object({ parser: v.picklist(['vasp', 'exciting']) }),
      run: async (ctx) => {
        const { mainfile } = await ctx.fields(); // typed, and checked with the schema
        await ctx.setStep(`Parsing ${mainfile} with ${ctx.args.parser}`);
      },
    },
  },
});

// zod for the upload; `children` types ctx.startChildren by the entries' schemas.
const upload = defineKind({
  name: 'upload',
  children: [entry],
  processes: {
    process_upload: {
      args: z.object({ mainfiles: z.array(z.string()).min(1), parser: z.enum(['vasp', 'exciting']).default('vasp') }),
      run: async (ctx) => {
        // ctx.args is the schema's output: { mainfiles: string[]; parser: 'vasp' | 'exciting' }
        await ctx.startChildren(
          'entry',
          ctx.args.mainfiles.map((mainfile, n) => ({ id: `${ctx.id}-${n}`, process: 'process_entry', args: { parser: ctx.args.parser }, fields: { mainfile } })),
        );
        return ProcessResult.WAITING_FOR_RESULT;
      },
    },
  },
});

const runtime = createProcRuntime({ kinds: [upload, entry] });
await runtime.start();
await runtime.create('upload', 'u1');
try {
  await runtime.call('upload', 'u1', 'process_upload', { mainfiles: [] });
} catch (error) {
  if (!(error instanceof InvalidArgumentError)) throw error;
  console.log(JSON.stringify(error.issues)); // the schema's issues; nothing was recorded
}
console.log((await runtime.history('upload', 'u1')).map((record) => record.cause).join(' → '));
await runtime.call('upload', 'u1', 'process_upload', { mainfiles: ['OUTCAR', 'vasprun.xml'] });
console.log((await runtime.waitForCompletion('upload', 'u1')).process_status, (await runtime.get('entry', 'u1-1')).current_process_step);
await runtime.close();
