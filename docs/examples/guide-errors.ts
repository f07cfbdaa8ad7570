import { createProcRuntime, defineKind, ProcessFailure } from 'procstate';

class ParserError extends Error {
  override readonly name = 'ParserError'; // errors are recorded as `<name>: <message>`
}

const entry = defineKind({
  name: 'entry',
  processes: {
    throws: { run: () => { throw new ParserError('unexpected end of data'); } },
    process_failure: { run: () => { throw new ProcessFailure('no mainfile found', 'upload is empty'); } },
    records_error: { run: (ctx) => { ctx.recordError('one file was skipped'); } }, // runs on, then fails
    warns: { run: (ctx) => { ctx.warn('no code version'); } },
    returns_value: { run: () => 42 }, // only local processes may return a value
  },
});

const runtime = createProcRuntime({ kinds: [entry] });
await runtime.start();
for (const process of Object.keys(entry.processes) as Array<keyof typeof entry.processes>) {
  await runtime.create('entry', process);
  await runtime.call('entry', process, process);
  const done = await runtime.waitForCompletion('entry', process);
  console.log(`${done.process_status} | ${done.last_status_message} | ${JSON.stringify({ errors: done.errors, warnings: done.warnings })}`);
}
await runtime.close();
