/**
 * The scheduler contract: what every {@link Scheduler} must do for the runtime on top of it to
 * keep its guarantees — deliver each job at least once and as dispatched, a scheduled one not
 * before its time; say which runs are queued or running; drain within its timeout. A
 * scheduler adapter's test file calls {@link describeSchedulerContract} with its own factory
 * (vitest runs it); procstate runs it on the in-process scheduler and the Agenda scheduler.
 *
 * Duplicates are allowed (the ledger makes a second start a no-op); losing a job is not.
 * The {@link ControlledScheduler} is exempt: it delivers only when a test says so.
 */
import { randomUUID } from 'node:crypto';
import { runKey, type JobDelivery, type JobHandler, type ProcJob, type Scheduler } from '../scheduler.js';
import { vitest } from './peers.js';

const { afterEach, describe, expect, it } = vitest;

/** What a scheduler adapter gives the contract. */
export interface SchedulerContractOptions {
  /** Shown in test names. */
  readonly name: string;
  /**
   * A scheduler on the queue named `queue`. Each test uses a new queue name; a durable
   * scheduler made twice with one name must share that queue (two workers, one job store).
   */
  createScheduler(queue: string): Promise<Scheduler>;
  /** Releases what the schedulers of one test made (after they were drained). */
  cleanup?(): Promise<void>;
  /**
   * Jobs outlive the scheduler that dispatched them: another scheduler on the same queue
   * delivers them (a job store such as Agenda's). @defaultValue false
   */
  readonly durable?: boolean | undefined;
  /** How long a delivery may take to arrive (a polling scheduler's interval and then some). @defaultValue 20000 */
  readonly deliveryTimeoutMs?: number | undefined;
}

interface Delivered {
  readonly job: ProcJob;
  readonly delivery: JobDelivery;
  readonly at: number;
}

/** A handler that records deliveries, and a way to wait for them. */
function recorder(hold?: (job: ProcJob) => Promise<void>) {
  const delivered: Delivered[] = [];
  const waiters = new Set<() => void>();
  const handler: JobHandler = async (job, delivery) => {
    delivered.push({ job, delivery, at: Date.now() });
    for (const wake of waiters) wake();
    await hold?.(job);
  };
  const until = async (what: string, condition: () => boolean, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; delivered so far: ${JSON.stringify(delivered.map((entry) => entry.job))}`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        waiters.add(wake);
        timer = setTimeout(wake, Math.min(left, 100));
      });
    }
  };
  return { delivered, handler, until };
}

function gate(): { readonly promise: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Registers the contract's tests for one scheduler adapter. */
export function describeSchedulerContract(options: SchedulerContractOptions): void {
  const timeoutMs = options.deliveryTimeoutMs ?? 20_000;
  const testTimeout = timeoutMs * 3 + 10_000;
  describe(`Scheduler contract: ${options.name}`, () => {
    let made: Scheduler[] = [];
    const scheduler = async (queue: string) => {
      const created = await options.createScheduler(queue);
      made.push(created);
      return created;
    };
    const run = (id: string, callId = 'c1'): ProcJob => ({ type: 'run', kind: 'upload', id, callId, seq: 2 });

    afterEach(async () => {
      for (const each of made) await each.drain(1_000);
      made = [];
      await options.cleanup?.();
    });

    it('delivers every dispatched job at least once, as it was dispatched, under the id dispatch returned', async () => {
      const s = await scheduler(`q-${randomUUID()}`);
      const { delivered, handler, until } = recorder();
      await s.start(handler);
      const jobs: ProcJob[] = [
        run('p1'),
        { type: 'runs', kind: 'entry', parent: { kind: 'upload', id: 'p1' }, runs: [{ id: 'e1', callId: 'c1', seq: 2 }, { id: 'e2', callId: 'c2' }] },
        { type: 'join', kind: 'upload', id: 'p2' },
        { type: 'timeout', kind: 'upload', id: 'p3', runId: 'r1', limit: 'soft' },
      ];
      const ids = await s.dispatch(jobs);
      expect(ids).toHaveLength(jobs.length);
      expect(new Set(ids).size).toBe(jobs.length);
      for (const id of ids) expect(typeof id).toBe('string');
      await until('every job', () => ids.every((id) => delivered.some((entry) => entry.delivery.jobId === id)), timeoutMs);
      for (const [index, id] of ids.entries()) {
        expect(delivered.find((entry) => entry.delivery.jobId === id)?.job).toEqual(jobs[index]);
      }
      expect(await s.dispatch([])).toEqual([]);
    }, testTimeout);

    it('delivers a scheduled job, never before its time', async () => {
      const s = await scheduler(`q-${randomUUID()}`);
      const { delivered, handler, until } = recorder();
      await s.start(handler);
      const at = new Date(Date.now() + 1_500);
      const id = await s.schedule({ type: 'timeout', kind: 'upload', id: 'p1', runId: 'r1', limit: 'hard' }, at);
      expect(typeof id).toBe('string');
      await until('the scheduled job', () => delivered.length > 0, timeoutMs + 1_500);
      expect(delivered[0]?.delivery.jobId).toBe(id);
      // By the wall clock, which `at` is on (a timer's own clock may run a little ahead of it).
      expect(delivered[0]?.at).toBeGreaterThanOrEqual(at.getTime());
    }, testTimeout);

    it('reports a run as queued or running from its dispatch until its handler returned, then not', async () => {
      const s = await scheduler(`q-${randomUUID()}`);
      const held = gate();
      const { delivered, handler, until } = recorder(() => held.promise);
      const before = await s.queuedRuns();
      await s.dispatch([run('p1', 'c7'), { type: 'runs', kind: 'entry', runs: [{ id: 'e1', callId: 'c8' }] }]);
      const queued = await s.queuedRuns();
      if (before === undefined) {
        // A scheduler that cannot tell says so every time.
        expect(queued).toBeUndefined();
        held.open();
        return;
      }
      expect([...(queued ?? [])].sort()).toEqual([runKey('entry', 'e1', 'c8'), runKey('upload', 'p1', 'c7')].sort());
      await s.start(handler);
      await until('both jobs to be running', () => delivered.length >= 2, timeoutMs);
      expect((await s.queuedRuns())?.has(runKey('upload', 'p1', 'c7'))).toBe(true);
      held.open();
      const deadline = Date.now() + timeoutMs;
      let after = await s.queuedRuns();
      while ((after?.size ?? 0) > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await s.queuedRuns();
      }
      expect([...(after ?? [])]).toEqual([]);
    }, testTimeout);

    it('drains: waits for a running handler, and says how many still run when the timeout ends first', async () => {
      const s = await scheduler(`q-${randomUUID()}`);
      const quick = gate();
      const { delivered, handler, until } = recorder(() => quick.promise);
      await s.start(handler);
      await s.dispatch([run('p1')]);
      await until('the job', () => delivered.length === 1, timeoutMs);
      let finished = false;
      void quick.promise.then(() => {
        finished = true;
      });
      setTimeout(() => quick.open(), 200);
      expect(await s.drain(timeoutMs)).toBe(0);
      expect(finished).toBe(true);

      const slow = gate();
      const other = await scheduler(`q-${randomUUID()}`);
      const second = recorder(() => slow.promise);
      await other.start(second.handler);
      await other.dispatch([run('p2')]);
      await second.until('the job', () => second.delivered.length === 1, timeoutMs);
      expect(await other.drain(200)).toBe(1);
      slow.open();
    }, testTimeout);

    it('keeps delivering after a handler failed', async () => {
      const s = await scheduler(`q-${randomUUID()}`);
      const { delivered, handler, until } = recorder(async (job) => {
        if (job.type === 'run' && job.id === 'bad') throw new Error('the handler failed');
      });
      await s.start(handler);
      await s.dispatch([run('bad')]);
      await until('the failing job', () => delivered.length >= 1, timeoutMs);
      const [id] = await s.dispatch([run('good')]);
      await until('the next job', () => delivered.some((entry) => entry.delivery.jobId === id), timeoutMs);
    }, testTimeout);

    it.skipIf(options.durable !== true)('delivers a job from another scheduler on the same queue once the one that dispatched it is gone', async () => {
      const queue = `q-${randomUUID()}`;
      const dispatcher = await scheduler(queue);
      const [id] = await dispatcher.dispatch([run('p1')]);
      await dispatcher.drain(1_000);
      const worker = await scheduler(queue);
      const { delivered, handler, until } = recorder();
      await worker.start(handler);
      await until('the job', () => delivered.some((entry) => entry.delivery.jobId === id), timeoutMs);
    }, testTimeout);
  });
}
