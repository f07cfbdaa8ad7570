import { createProcRuntime, defineKind, ProcessResult } from './src/index.js';
const upload = defineKind({
  name: 'upload',
  processes: {
    process_upload: {
      run: async (ctx) => {
        await ctx.setStep('Matching');
        await ctx.startChildren('entry', Array.from({ length: 20 }, (_, i) => ({ id: `e${i}`, process: 'process_entry', args: { i } })));
        await ctx.setStep('Waiting for results (level 0)');
        return ProcessResult.WAITING_FOR_RESULT;
      },
    },
  },
  join: async (ctx) => { await ctx.setStep('Cleanup'); const c = await ctx.childCounts(); console.log('join counts', c.processed, c.failed); },
});
const entry = defineKind({
  name: 'entry',
  parent: { kind: 'upload', key: 'upload_id' },
  processes: { process_entry: { child: true, clearQueueOnFailure: false, run: async (ctx) => {
    await ctx.setStep('Parsing mainfile');
    if ((ctx.args as any).i % 7 === 3) throw new TypeError('bad file');
    if ((ctx.args as any).i % 5 === 1) ctx.warn('odd');
  } } },
});
const rt = createProcRuntime({ kinds: [upload, entry] });
await rt.start();
await rt.create('upload', 'u1', { fields: { upload_name: 'test' } });
await rt.call('upload', 'u1', 'process_upload');
const done = await rt.waitForCompletion('upload', 'u1', { timeoutMs: 5000 });
console.log(done);
console.log(await rt.childCounts('upload', 'u1'));
console.log((await rt.history('upload', 'u1')).map(r => `${r.seq} ${r.from}->${r.to} ${r.cause}`));
console.log(await rt.get('entry', 'e3'));
console.log(await rt.store.readDocument({kind:'entry', id:'e1'}));
await rt.close();
