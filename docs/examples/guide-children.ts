import { createProcRuntime, defineKind, ProcessResult } from 'procstate';

const upload = defineKind({
  name: 'upload',
  processes: {
    process_upload: {
      run: async (ctx) => {
        await ctx.setStep('Parsing level 0');
        await ctx.createChild('entry', 'e3', { mainfile: 'c.json' }); // READY: the join does not wait for it
        await ctx.startChildren('entry', [
          { id: 'e1', process: 'process_entry', fields: { mainfile: 'a.json' } },
          { id: 'e2', process: 'process_entry', fields: { mainfile: 'broken.json' } },
        ]);
        return ProcessResult.WAITING_FOR_RESULT;
      },
    },
  },
  // Runs once no entry is processing, on a worker, holding the upload in RUNNING again.
  join: async (ctx) => {
    const { processed, failed } = await ctx.childCounts('entry');
    console.log(`join after ${ctx.proc.current_process_step}: ${processed} processed, ${failed} failed`);
    if (ctx.proc.current_process_step !== 'Parsing level 0') return ctx.setStep('Cleanup');
    await ctx.setStep('Parsing level 1');
    await ctx.startChild('entry', 'e3', 'process_entry');
    return ProcessResult.WAITING_FOR_RESULT; // another level: the join runs again
  },
});

const entry = defineKind({
  name: 'entry',
  parent: { kind: 'upload', key: 'upload_id' }, // entry documents carry upload_id
  processes: {
    process_entry: {
      child: true,
      run: async (ctx) => {
        if ((await ctx.document())?.['mainfile'] === 'broken.json') throw new Error('unexpected end of data');
      },
    },
  },
});

const runtime = createProcRuntime({ kinds: [upload, entry] });
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
const done = await runtime.waitForCompletion('upload', 'u1');
console.log(done.process_status, done.current_process_step); // a failed entry does not fail the upload
const e2 = await runtime.get('entry', 'e2');
console.log(e2.process_status, e2.errors.join(), e2.parent?.id);
await runtime.close();
