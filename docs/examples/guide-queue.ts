import { createProcRuntime, defineKind, ProcessAlreadyRunningError } from 'procstate';

let release = () => {};
const released = new Promise<void>((resolve) => (release = resolve));
const ran: string[] = [];

const upload = defineKind({
  name: 'upload',
  processes: {
    process_upload: { run: async (ctx) => { ran.push(ctx.process); await released; } },
    edit_metadata: { run: async (ctx) => { ran.push(`${ctx.process} ${JSON.stringify(ctx.args)}`); } },
    delete_upload: { blocking: true, run: async (ctx) => { ran.push(ctx.process); } },
  },
});

const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
await runtime.call('upload', 'u1', 'edit_metadata', { title: 'x' }); // queued behind process_upload
const queued = await runtime.call('upload', 'u1', 'delete_upload'); // queued, and closes the queue
console.log(queued.current_process, '|', queued.queue.map((call) => call.process).join(', '));
try {
  await runtime.call('upload', 'u1', 'edit_metadata');
} catch (error) {
  console.log(error instanceof ProcessAlreadyRunningError, (error as Error).message);
}
release();
await runtime.waitFor('upload', 'u1', (proc) => proc.current_process === 'delete_upload' && !proc.process_running);
console.log(ran.join(' → '));
await runtime.close();
