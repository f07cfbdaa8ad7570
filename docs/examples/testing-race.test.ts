import fc from 'fast-check';
import { createProcRuntime, defineKind } from 'procstate';
import { MemoryProcStore } from 'procstate/persistence';
import { ControlledScheduler, VirtualClock } from 'procstate/testing';
import { expect, it } from 'vitest';

function twoWorkers(kind: Parameters<typeof createProcRuntime>[0]['kinds'][number]) {
  const clock = new VirtualClock();
  const queue = new ControlledScheduler({ clock });
  const store = new MemoryProcStore();
  const workers = [queue, queue.worker()].map((scheduler, n) =>
    createProcRuntime({ kinds: [kind], store, scheduler, clock: clock.now, worker: `w${n}`, sweepIntervalMs: 0 }),
  );
  return { clock, queue, workers };
}

it('a job delivered to two workers at once runs its function once, whichever goes first', async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      let runs = 0;
      const job = defineKind({ name: 'job', processes: { work: { run: () => void (runs += 1) } } });
      const { queue, workers } = twoWorkers(job);
      for (const worker of workers) await worker.start();
      await workers[0]!.create('job', 'j1');
      await workers[0]!.call('job', 'j1', 'work');
      const [queued] = queue.undelivered;
      // fast-check decides which delivery starts first; the seed it prints replays the order.
      const deliveries = [0, 1].map((worker) => s.schedule(Promise.resolve(`to w${worker}`)).then(() => queue.deliver(queued!, { worker })));
      await s.waitFor(Promise.all(deliveries));
      expect(runs).toBe(1);
      expect((await workers[0]!.get('job', 'j1')).process_status).toBe('SUCCESS');
      for (const worker of workers) await worker.close({ drainTimeoutMs: 0 });
    }),
  );
});

it('a hard time limit falls due on the virtual clock, not after real minutes', async () => {
  const job = defineKind({
    name: 'job',
    processes: { work: { hardTimeoutMs: 300_000, run: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))) } },
  });
  const { clock, queue, workers } = twoWorkers(job);
  await workers[0]!.start();
  await workers[0]!.create('job', 'j1');
  await workers[0]!.call('job', 'j1', 'work');
  const running = queue.deliver(queue.undelivered[0]!); // runs until its limit
  const timeout = await queue.waitForJob((queued) => queued.type === 'timeout');
  expect(queue.undelivered).not.toContain(timeout); // not due for five (virtual) minutes
  clock.advance(300_001);
  expect(queue.undelivered).toContain(timeout);
  await queue.deliver(timeout);
  await running;
  const proc = await workers[0]!.get('job', 'j1');
  expect(proc.process_status).toBe('FAILURE');
  expect(proc.errors).toEqual(['task timeout occurred']);
  await workers[0]!.close({ drainTimeoutMs: 0 });
});
