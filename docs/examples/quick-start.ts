import { createProcRuntime, defineKind, ProcessResult } from 'procstate';

const entry = defineKind({
  name: 'entry',
  parent: { kind: 'upload', key: 'upload_id' },
  processes: { process_entry: { child: true, run: async (ctx) => ctx.setStep('Parsing mainfile') } },
});
const upload = defineKind({
  name: 'upload',
  children: [entry], // so that ctx.startChildren takes only entries and their processes
  processes: { process_upload: { run: async (ctx) => {
    await ctx.startChildren('entry', [1, 2, 3].map((n) => ({ id: `${ctx.id}-${n}`, process: 'process_entry' })));
    return ProcessResult.WAITING_FOR_RESULT; // `join` runs once no entry is processing
  } } },
  join: async (ctx) => ctx.setStep('Cleanup'),
});

const runtime = createProcRuntime({ kinds: [upload, entry] }); // embedded store and scheduler
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
const done = await runtime.waitForCompletion('upload', 'u1', { timeoutMs: 10_000 });
console.log(done.process_status, done.last_status_message); // SUCCESS Process process_upload completed successfully
await runtime.close();

// Kinds, processes and arguments are checked by the compiler: a typo does not compile.
// @ts-expect-error "proces_upload" is not a process of kind "upload"
export const typo = () => runtime.call('upload', 'u1', 'proces_upload');
