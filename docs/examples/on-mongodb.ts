import { MongoClient } from 'mongodb';
import { createProcRuntime, defineKind } from 'procstate';
import { MongoProcStore } from 'procstate/persistence/mongodb';
import { AgendaScheduler } from 'procstate/agenda';

const upload = defineKind({ name: 'upload', processes: { process_upload: { run: (ctx) => ctx.setStep('Matching') } } });

const client = await new MongoClient(process.env['MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017/').connect();
const db = client.db(process.env['EXAMPLE_DB'] ?? 'nomad');
const store = new MongoProcStore({ db, kinds: { upload: 'uploads' } }); // NOMAD's fields on your documents
await store.ensureIndexes(); // explicit, never done by a constructor
const runtime = createProcRuntime({ kinds: [upload], store, scheduler: new AgendaScheduler({ db }) });
await runtime.start(); // this process is a worker too; `procstate worker` starts more
const id = `upload-${Date.now()}`;
await runtime.create('upload', id, { fields: { upload_name: 'my data' } });
await runtime.call('upload', id, 'process_upload');
console.log((await runtime.waitForCompletion('upload', id)).process_status); // SUCCESS
console.log((await runtime.history('upload', id)).map((record) => record.cause).join(' → '));
await runtime.close({ exit: true }); // drains, releases, then ends the process
