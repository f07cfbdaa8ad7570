import { createProcRuntime, defineKind, InvalidDefinitionError } from 'procstate';

const upload = defineKind({
  name: 'upload',
  leaseMs: 30_000, // every run of this kind renews its lease each 10 s
  processes: {
    process_upload: {
      softTimeoutMs: 200, // then ctx.signal aborts and the function should give up
      hardTimeoutMs: 5_000, // then the proc fails whatever the function does
      run: async (ctx) => {
        await ctx.setStep('Matching');
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)); // far too slow
        throw ctx.signal.reason;
      },
    },
    publish_upload: { blocking: true, clearQueueOnFailure: false, run: () => {} },
  },
});

try {
  defineKind({ name: 'entry', processes: { parse: { local: true, child: true, run: () => {} } } });
} catch (error) {
  console.log(error instanceof InvalidDefinitionError, (error as Error).message);
}

const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
const done = await runtime.waitForCompletion('upload', 'u1');
console.log(done.process_status, done.last_status_message);
await runtime.close();
