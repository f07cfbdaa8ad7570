import { createProcRuntime, defineKind } from 'procstate';

const upload = defineKind({ name: 'upload', processes: { process_upload: { run: (ctx) => ctx.setStep('Matching') } } });
const runtime = createProcRuntime({ kinds: [upload] });

// Called synchronously after each transition this runtime commits; a throwing listener is logged, not fatal.
const unsubscribe = runtime.subscribe((notice) => {
  console.log(`${notice.kind} ${notice.id} #${notice.seq} ${notice.cause}: ${notice.from} → ${notice.to} (${notice.proc?.last_status_message})`);
});
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
await runtime.waitForCompletion('upload', 'u1');
unsubscribe();
await runtime.close();
