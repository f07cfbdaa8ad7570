import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { AgendaScheduler, RedisNotificationChannel } from '../../src/agenda/index.js';
import {
  CorruptDocumentError,
  createProcRuntime,
  defineKind,
  ProcessResult,
  RunFencedError,
  type JobHandler,
  type KindDefinition,
  type ProcRuntime,
  type ProcRuntimeOptions,
} from '../../src/index.js';
import { unique } from '../contract/runtime-scenarios.contract.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const quiet = { warn: () => undefined, error: () => undefined };
const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (open.length > 0) await (open.pop() as () => Promise<void>)();
});

let fresh = 0;
function storeFor(kinds: readonly KindDefinition[], suffix: string): MongoProcStore {
  return new MongoProcStore({
    db: database.db,
    kinds: Object.fromEntries(kinds.map((kind) => [kind.name, { documents: database.db.collection(`${kind.name}_${suffix}`), parentKey: kind.parent?.key }])),
    leaseCollection: `leases_${suffix}`,
  });
}

async function runtimeOn(kinds: readonly KindDefinition[], suffix: string, options: Partial<ProcRuntimeOptions> = {}): Promise<ProcRuntime> {
  const store = storeFor(kinds, suffix);
  await store.ensureIndexes();
  const runtime = createProcRuntime({ kinds, store, sweepIntervalMs: 0, logger: quiet, ...options });
  await runtime.start();
  open.push(() => runtime.close({ drainTimeoutMs: 3_000 }));
  return runtime;
}

function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Deliberately blocks the event loop: no heartbeat can run, as in a stalled worker.
  }
}

describe('Agenda delivers a job twice', () => {
  it('after its lock expires mid-run: the process function still runs once per start', async () => {
    fresh += 1;
    const suffix = `dup${fresh}`;
    const invocations = database.db.collection(`invocations_${suffix}`);
    const kinds = [
      defineKind({
        name: 'job',
        processes: {
          slow: {
            run: async (ctx) => {
              await invocations.insertOne({ proc: ctx.id, start: ctx.proc.seq, worker: ctx.proc.worker_hostname });
              await new Promise((resolve) => setTimeout(resolve, 2_500));
            },
          },
        },
      }),
    ];
    let deliveries = 0;
    const runtimes: ProcRuntime[] = [];
    for (const name of ['a', 'b']) {
      // Agenda's lock lasts 300 ms and the run's heartbeat (which touches it) comes every 20 s:
      // Agenda re-delivers the running job, to this worker or the other.
      const scheduler = new AgendaScheduler({ db: database.db, collection: `jobs_${suffix}`, lockLifetimeMs: 300, pollMs: 200, name });
      const start = scheduler.start.bind(scheduler);
      scheduler.start = (handler: JobHandler) => start((job, delivery) => {
        deliveries += 1;
        return handler(job, delivery);
      });
      runtimes.push(await runtimeOn(kinds, suffix, { scheduler, worker: name, leaseMs: 60_000 }));
    }
    const [first] = runtimes as [ProcRuntime, ProcRuntime];
    const id = unique('slow');
    await first.create('job', id);
    await first.call('job', id, 'slow');
    const done = await first.waitForCompletion('job', id, { timeoutMs: 30_000 });
    expect(done.process_status).toBe('SUCCESS');
    expect(deliveries).toBeGreaterThanOrEqual(2);
    const history = await first.history('job', id);
    const starts = history.filter((record) => record.cause === 'worker.started');
    expect(starts).toHaveLength(1);
    expect(await invocations.countDocuments({ proc: id })).toBe(1);
  });
});

describe('a worker whose lease expired', () => {
  it('cannot write anything: not a step, not a child, not its completion', async () => {
    fresh += 1;
    const suffix = `lease${fresh}`;
    const attempts: string[] = [];
    let stall = true;
    const kinds = [
      defineKind({
        name: 'upload',
        processes: {
          process: {
            run: async (ctx) => {
              await ctx.setStep('before the stall');
              if (stall) busyWait(900);
              for (const [what, write] of [
                ['step', () => ctx.setStep('after the stall')],
                ['message', () => ctx.setStatusMessage('still here')],
                ['child', () => ctx.startChild('entry', `${ctx.id}-late`, 'process_entry')],
                ['call', () => ctx.call('upload', ctx.id, 'process')],
              ] as const) {
                await write().then(
                  () => attempts.push(`${what}: written`),
                  (error: unknown) => attempts.push(`${what}: ${error instanceof RunFencedError ? 'fenced' : String(error)}`),
                );
              }
              expect(() => ctx.warn('late warning')).toThrow(RunFencedError);
              return ProcessResult.WAITING_FOR_RESULT;
            },
          },
        },
      }),
      defineKind({ name: 'entry', parent: { kind: 'upload', key: 'upload_id' }, processes: { process_entry: { child: true, run: async () => undefined } } }),
    ];
    const worker = await runtimeOn(kinds, suffix, { leaseMs: 300, worker: 'stalled' });
    const id = unique('stalled');
    await worker.create('upload', id);
    await worker.call('upload', id, 'process');
    await worker.waitFor('upload', id, () => attempts.length === 4, { timeoutMs: 20_000 });
    expect(attempts).toEqual(['step: fenced', 'message: fenced', 'child: fenced', 'call: fenced']);

    // Another worker's sweep finds the expired lease and fails the proc; the stalled run's
    // completion is never recorded.
    const sweeper = await runtimeOn(kinds, suffix, { leaseMs: 300, leaseGraceMs: 0, worker: 'sweeper' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await sweeper.sweep()).workersLost).toBe(1);
    const failed = await sweeper.get('upload', id);
    expect(failed.process_status).toBe('FAILURE');
    expect(failed.errors[0]).toMatch(/^process failed due to worker lost: the lease of stalled expired/);
    const history = await sweeper.history('upload', id);
    expect(history.map((record) => record.cause)).toEqual(['created', 'process.called', 'worker.started', 'run.progressed', 'worker.lost']);
    expect(await sweeper.find('entry', `${id}-late`)).toBeUndefined();
  });
});

describe('documents edited by hand', () => {
  it('give a typed error on load and are not overwritten by the runtime or the sweep', async () => {
    fresh += 1;
    const suffix = `edited${fresh}`;
    const kinds = [defineKind({ name: 'upload', processes: { process: { run: async () => undefined } } })];
    const runtime = await runtimeOn(kinds, suffix);
    // A sweeper whose clock is ahead examines records at once instead of after the settle time.
    const sweeper = await runtimeOn(kinds, suffix, { clock: () => new Date(Date.now() + 10_000) });
    const collection = database.db.collection<{ _id: string }>(`upload_${suffix}`);
    const edits: Array<[string, Record<string, unknown>]> = [
      ['unknown status', { $set: { process_status: 'STUCK' } }],
      ['wrong type', { $set: { errors: 'none' } }],
      ['missing field', { $unset: { queue: '' } }],
      ['status changed by hand', { $set: { process_status: 'SUCCESS' } }],
    ];
    for (const [what, edit] of edits) {
      const id = unique(what.replaceAll(' ', '-'));
      await runtime.create('upload', id, { fields: { upload_name: what } });
      await collection.updateOne({ _id: id }, edit);
      const before = await collection.findOne({ _id: id });
      await expect(runtime.get('upload', id)).rejects.toBeInstanceOf(CorruptDocumentError);
      await expect(runtime.call('upload', id, 'process')).rejects.toBeInstanceOf(CorruptDocumentError);
      await expect(runtime.reset('upload', id, { force: true })).rejects.toBeInstanceOf(CorruptDocumentError);
      await sweeper.sweep();
      expect(await collection.findOne({ _id: id })).toEqual(before);
      expect(await runtime.history('upload', id)).toHaveLength(1);
    }
    // A processing document is one the sweep does examine: it reports it and leaves it alone.
    const id = unique('pending-edited');
    await runtime.create('upload', id);
    await collection.updateOne({ _id: id }, { $set: { process_status: 'PENDING', errors: 'none' } });
    const before = await collection.findOne({ _id: id });
    const report = await sweeper.sweep();
    expect(report.corrupt).toBeGreaterThanOrEqual(1);
    expect(await collection.findOne({ _id: id })).toEqual(before);
  });
});

describe('dispatch across processes', () => {
  it('a job saved by one runtime starts on another through Redis, without waiting for a poll', async () => {
    fresh += 1;
    const suffix = `redis${fresh}`;
    const kinds = [defineKind({ name: 'job', processes: { work: { run: async () => undefined } } })];
    const clients = [new Redis('redis://127.0.0.1:6379', { lazyConnect: true }), new Redis('redis://127.0.0.1:6379', { lazyConnect: true })];
    for (const client of clients) await client.connect();
    open.push(async () => {
      for (const client of clients) client.disconnect();
    });
    const channel = `procstate:test:${suffix}`;
    // Polling every ten minutes: only a notification can start the job within the test.
    const worker = new AgendaScheduler({
      db: database.db,
      collection: `jobs_${suffix}`,
      pollMs: 600_000,
      name: 'worker',
      notificationChannel: new RedisNotificationChannel({ client: clients[0] as Redis, channel }),
    });
    const producer = new AgendaScheduler({
      db: database.db,
      collection: `jobs_${suffix}`,
      pollMs: 600_000,
      name: 'producer',
      work: false,
      notificationChannel: new RedisNotificationChannel({ client: clients[1] as Redis, channel }),
    });
    await runtimeOn(kinds, suffix, { scheduler: worker, worker: 'worker' });
    const caller = await runtimeOn(kinds, suffix, { scheduler: producer, worker: 'producer' });
    const id = unique('remote');
    await caller.create('job', id);
    await caller.call('job', id, 'work');
    const done = await caller.waitForCompletion('job', id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ process_status: 'SUCCESS', worker_hostname: 'worker' });
  });
});
