import { createInspector } from '@statelyai/inspect';
import { createProcRuntime, defineKind } from 'procstate';

// An inspector with an adapter that prints; createWebSocketInspector's adapter sends to Stately's UI.
const inspector = createInspector({
  send: (event) => {
    if (event.type === '@xstate.actor') console.log(`actor ${event.name}`);
    if (event.type === '@xstate.snapshot') console.log(`  ${event.event.type} → ${(event.snapshot as { value?: string }).value}`);
  },
});

const upload = defineKind({ name: 'upload', processes: { process_upload: { run: (ctx) => ctx.setStep('Matching') } } });
const runtime = createProcRuntime({ kinds: [upload], inspect: inspector.inspect });
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
await runtime.waitForCompletion('upload', 'u1');
await runtime.close();
