import { createProcRuntime, defineKind } from 'procstate';

let release = () => {};
const released = new Promise<void>((resolve) => (release = resolve));

const upload = defineKind({
  name: 'upload',
  processes: {
    // Runs in the caller, which gets its return value; always blocking.
    rename: { local: true, run: async (ctx) => `renamed to ${(ctx.args as { name: string }).name}` },
    process_upload: { run: () => released },
  },
});

const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();
await runtime.create('upload', 'u1');
console.log(await runtime.runLocal<string>('upload', 'u1', 'rename', { name: 'my data' }));
const proc = await runtime.get('upload', 'u1');
console.log(proc.process_status, proc.last_status_message, proc.worker_hostname);

await runtime.call('upload', 'u1', 'process_upload');
await runtime.runLocal('upload', 'u1', 'rename', { name: 'x' }).catch((error: Error) => console.log(error.name, error.message));
await runtime.call('upload', 'u1', 'rename').catch((error: Error) => console.log(error.name, error.message));
release();
await runtime.waitForCompletion('upload', 'u1');
await runtime.close();
