import { createProcRuntime, defineKind } from 'procstate';

const entry = defineKind({
  name: 'entry',
  processes: { process_entry: { run: async (ctx) => ctx.setStep(`parsing ${ctx.id}`) } },
});

const runtime = createProcRuntime({ kinds: [entry] });
await runtime.start();
await runtime.create('entry', 'e2');
const created = await runtime.createMany('entry', [{ id: 'e1' }, { id: 'e2' }, { id: 'e3', fields: { mainfile: 'e3.out' } }]);
console.log(created.map((result) => (result.ok ? `${result.id} ${result.proc.process_status}` : `${result.id} ${result.error.name}`)).join(', '));
const called = await runtime.callMany('entry', ['e1', 'e2', 'e3'].map((id) => ({ id, process: 'process_entry' })));
console.log(called.every((result) => result.ok));
for (const id of ['e1', 'e2', 'e3']) await runtime.waitForCompletion('entry', id);
console.log(JSON.stringify(await runtime.countByStatus('entry')));
try {
  await runtime.callMany('entry', [{ id: 'e1', process: 'process_entry' }, { id: 'e1', process: 'process_entry' }]);
} catch (error) {
  console.log((error as Error).name, (error as Error).message);
}
await runtime.close();
