import { createProcRuntime, defineKind, type ProcessContext } from 'procstate';

let release = () => {};
const released = new Promise<void>((resolve) => (release = resolve));

const upload = defineKind({
  name: 'upload',
  processes: {
    process_upload: {
      run: async (ctx: ProcessContext<{ files: number }>) => {
        await ctx.setStep(`Matching ${ctx.args.files} files`);
        await released; // stands for the real work
      },
    },
  },
});

const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();
console.log(await runtime.find('upload', 'u1')); // undefined; `get` would throw ProcNotFoundError
await runtime.create('upload', 'u1', { fields: { upload_name: 'my data' } });
const called = await runtime.call('upload', 'u1', 'process_upload', { files: 3 });
console.log(called.process_status, called.last_status_message);
const running = await runtime.waitFor('upload', 'u1', (proc) => proc.current_process_step !== null);
console.log(running.process_status, running.current_process_step);
release();
const done = await runtime.waitForCompletion('upload', 'u1');
console.log(done.process_status, done.last_status_message, (await runtime.get('upload', 'u1')).seq);
console.log((await runtime.history('upload', 'u1')).map((record) => record.cause).join(' → '));
console.log(JSON.stringify(await runtime.countByStatus('upload')));
await runtime.close();
