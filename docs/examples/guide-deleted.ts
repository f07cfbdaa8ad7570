import { createProcRuntime, defineKind, ProcessResult } from 'procstate';

const upload = defineKind({
  name: 'upload',
  processes: {
    delete_upload: {
      run: async (ctx) => {
        await ctx.setStep('Deleting files');
        return ProcessResult.DELETED; // procstate removes the document and writes nothing more
      },
    },
  },
});

const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();
// waitFor would wait for the proc to exist again: a deletion is seen as a transition to null.
const deleted = new Promise<void>((resolve) => runtime.subscribe((notice) => notice.to === null && resolve()));
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'delete_upload');
await deleted;
console.log(await runtime.find('upload', 'u1'));
console.log((await runtime.history('upload', 'u1')).map((record) => `${record.seq} ${record.cause} ${record.to}`).join(', '));
console.log((await runtime.create('upload', 'u1')).seq); // a new proc with the same id continues the ledger
await runtime.close();
