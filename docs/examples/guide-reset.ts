import { createProcRuntime, defineKind } from 'procstate';

const seen: string[] = [];
const upload = defineKind({
  name: 'upload',
  processes: {
    process_upload: {
      run: async (ctx) => {
        await ctx.setStep('Matching');
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)); // hangs until fenced
        seen.push(`aborted by ${(ctx.signal.reason as Error).name}`);
        await ctx.setStep('Still here').catch((error: Error) => seen.push(`setStep refused: ${error.name}`));
      },
    },
  },
});

const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
await runtime.waitFor('upload', 'u1', (proc) => proc.current_process_step === 'Matching');

await runtime.reset('upload', 'u1').catch((error: Error) => console.log(error.name, error.message));
const stopped = await runtime.terminate('upload', 'u1'); // NOMAD's `uploads stop --kill`
console.log(stopped.process_status, stopped.last_status_message);
const reset = await runtime.reset('upload', 'u1');
console.log(reset.process_status, reset.current_process, reset.errors.length);
await runtime.close(); // waits for the fenced function to return
console.log(seen.join('; '));
