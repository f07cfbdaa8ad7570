import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryProcStore } from '../../persistence/index.js';
import {
  createProcRuntime,
  defineKind,
  DispatchError,
  InProcessScheduler,
  ProcessResult,
  WaitTimeoutError,
  type KindDefinition,
  type ProcJob,
  type ProcRuntime,
  type ProcRuntimeOptions,
  type Scheduler,
  type TransitionNotice,
} from '../../src/index.js';
import { deferred, unique } from '../contract/runtime-scenarios.contract.js';
import { ControlledScheduler, type ControlledJob } from '../../src/testing/index.js';

const quiet = { warn: () => undefined, error: () => undefined };
const open: ProcRuntime[] = [];
async function start(options: Omit<ProcRuntimeOptions, 'logger'> & { logger?: ProcRuntimeOptions['logger'] }): Promise<ProcRuntime> {
  const runtime = createProcRuntime({ sweepIntervalMs: 0, logger: quiet, ...options });
  await runtime.start();
  open.push(runtime);
  return runtime;
}
afterEach(async () => {
  while (open.length > 0) await (open.pop() as ProcRuntime).close({ drainTimeoutMs: 1_000 });
});

/** A scheduler that delegates to the in-process one but can drop or refuse jobs. */
class FaultyScheduler implements Scheduler {
  readonly name = 'faulty';
  readonly inner = new InProcessScheduler();
  dropRuns = 0;
  refuse = false;
  start = (handler: Parameters<Scheduler['start']>[0]) => this.inner.start(handler);
  async dispatch(jobs: readonly ProcJob[]): Promise<string[]> {
    if (this.refuse) throw new Error('broker unreachable');
    const kept = jobs.filter((job) => {
      if (job.type !== 'run' || this.dropRuns === 0) return true;
      this.dropRuns -= 1;
      return false;
    });
    const ids = await this.inner.dispatch(kept);
    return jobs.map((job) => (kept.includes(job) ? (ids[kept.indexOf(job)] as string) : 'dropped'));
  }
  schedule = (job: ProcJob, at: Date) => this.inner.schedule(job, at);
  queuedRuns = () => this.inner.queuedRuns();
  drain = (ms: number) => this.inner.drain(ms);
}

function counted(runs: { count: number }, body: () => Promise<unknown> = async () => undefined): KindDefinition[] {
  return [
    defineKind({
      name: 'job',
      processes: {
        work: {
          run: async () => {
            runs.count += 1;
            return body();
          },
        },
      },
    }),
  ];
}

describe('at-least-once delivery', () => {
  it('runs a process function once per start although every job is delivered twice', async () => {
    const runs = { count: 0 };
    const scheduler = new InProcessScheduler({ redeliver: (job) => job.type === 'run' });
    const runtime = await start({ kinds: counted(runs, () => new Promise((resolve) => setTimeout(resolve, 5))), scheduler });
    const ids = Array.from({ length: 10 }, () => unique('dup'));
    for (const id of ids) {
      await runtime.create('job', id);
      await runtime.call('job', id, 'work');
    }
    for (const id of ids) expect((await runtime.waitForCompletion('job', id)).process_status).toBe('SUCCESS');
    await scheduler.onIdle();
    expect(runs.count).toBe(10);
    for (const id of ids) {
      const starts = (await runtime.history('job', id)).filter((record) => record.cause === 'worker.started');
      expect(starts).toHaveLength(1);
    }
  });
});

describe('stuck in PENDING (NOMAD §5, §9)', () => {
  it('dispatches a call again when its job was lost', async () => {
    const runs = { count: 0 };
    const scheduler = new FaultyScheduler();
    scheduler.dropRuns = 1;
    const runtime = await start({ kinds: counted(runs), scheduler, pendingRedispatchMs: 1, pendingFailMs: 60_000 });
    const id = unique('lost');
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await runtime.get('job', id)).process_status).toBe('PENDING');
    const report = await runtime.sweep();
    expect(report.redispatched).toBe(1);
    expect((await runtime.waitForCompletion('job', id)).process_status).toBe('SUCCESS');
    expect(runs.count).toBe(1);
  });

  it('fails a call that no worker takes in time, and leaves nothing PENDING', async () => {
    const scheduler = new FaultyScheduler();
    scheduler.dropRuns = 100;
    const runtime = await start({ kinds: counted({ count: 0 }), scheduler, pendingRedispatchMs: 1, pendingFailMs: 5 });
    const id = unique('lost');
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const report = await runtime.sweep();
    expect(report.pendingFailed).toBe(1);
    const failed = await runtime.get('job', id);
    expect(failed.process_status).toBe('FAILURE');
    expect(failed.errors[0]).toMatch(/^process failed due to worker lost: no worker started work within/);
  });

  it('does not touch a PENDING call whose job is still queued', async () => {
    const gate = deferred();
    const scheduler = new InProcessScheduler({ concurrency: 1 });
    const runtime = await start({ kinds: counted({ count: 0 }, () => gate.promise), scheduler, pendingRedispatchMs: 1, pendingFailMs: 2 });
    const first = unique('busy');
    const second = unique('queued');
    for (const id of [first, second]) {
      await runtime.create('job', id);
      await runtime.call('job', id, 'work');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    const report = await runtime.sweep();
    expect(report).toMatchObject({ redispatched: 0, pendingFailed: 0 });
    expect((await runtime.get('job', second)).process_status).toBe('PENDING');
    gate.resolve();
    expect((await runtime.waitForCompletion('job', second)).process_status).toBe('SUCCESS');
  });

  it('fails the proc and raises DispatchError when the scheduler refuses the job', async () => {
    const scheduler = new FaultyScheduler();
    const runtime = await start({ kinds: counted({ count: 0 }), scheduler });
    const id = unique('refused');
    await runtime.create('job', id);
    scheduler.refuse = true;
    await expect(runtime.call('job', id, 'work')).rejects.toBeInstanceOf(DispatchError);
    const failed = await runtime.get('job', id);
    expect(failed).toMatchObject({ process_status: 'FAILURE', errors: ['Error: broker unreachable'], queue: [] });
  });
});

describe('leases and fencing', () => {
  it('renews on time after slow renewals: a late renewal is followed by the next at once, not a third of a lease later', async () => {
    // Fake clocks make the timing exact: two renewals in a row take longer than a third of the
    // lease. Renewing on a fixed interval, the tick inside each slow renewal passed without
    // renewing, the following renewal landed after the lease's deadline, and the run's next write
    // fenced it (seen in the fleet tests on a loaded machine).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'Date'] });
    try {
      const store = new MemoryProcStore();
      const writeLeases = store.writeLeases.bind(store);
      let renewals = 0;
      store.writeLeases = async (leases) => {
        renewals += 1;
        if (renewals <= 2) await new Promise((resolve) => setTimeout(resolve, 250));
        return writeLeases(leases);
      };
      const kinds = [
        defineKind({
          name: 'job',
          leaseMs: 600,
          processes: {
            work: {
              run: async (ctx) => {
                for (let step = 0; step < 60; step += 1) {
                  await ctx.setStep(`step ${step}`);
                  await new Promise((resolve) => setTimeout(resolve, 20));
                }
              },
            },
          },
        }),
      ];
      // Every step of the runtime waits on (faked) timers, so each is driven a millisecond at a time.
      const drive = async <T,>(work: Promise<T>): Promise<T> => {
        let settled = false;
        void work.finally(() => {
          settled = true;
        });
        while (!settled) await vi.advanceTimersByTimeAsync(1);
        return work;
      };
      const runtime = await drive(start({ kinds, store, leaseGraceMs: 0 }));
      const id = unique('slow-renewals');
      await drive(runtime.create('job', id));
      await drive(runtime.call('job', id, 'work'));
      const done = await drive(runtime.waitForCompletion('job', id, { timeoutMs: 10_000 }));
      expect(renewals).toBeGreaterThanOrEqual(3);
      expect(done).toMatchObject({ process_status: 'SUCCESS', current_process_step: 'step 59' });
      await drive(runtime.close({ drainTimeoutMs: 1_000 }));
      open.splice(open.indexOf(runtime), 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps renewing the lease while one of the run\'s own writes is held up in the database', async () => {
    const store = new MemoryProcStore();
    const insertTransitions = store.insertTransitions.bind(store);
    const writeLeases = store.writeLeases.bind(store);
    // The step's write is held until the lease has been renewed three times during it: a
    // renewal queued behind that write would never come, and the run would be fenced.
    let renewalsDuringWrite: number | undefined;
    const renewedThrice = deferred();
    store.writeLeases = async (leases) => {
      await writeLeases(leases);
      if (renewalsDuringWrite !== undefined && (renewalsDuringWrite += 1) === 3) renewedThrice.resolve();
    };
    store.insertTransitions = async (records) => {
      if (records.some((record) => record.cause === 'run.progressed') && renewalsDuringWrite === undefined) {
        renewalsDuringWrite = 0;
        await renewedThrice.promise;
      }
      return insertTransitions(records);
    };
    const kinds = [
      defineKind({
        name: 'job',
        leaseMs: 90,
        processes: { work: { run: async (ctx) => ctx.setStep('held up in the database') } },
      }),
    ];
    const runtime = await start({ kinds, store, leaseGraceMs: 0 });
    const id = unique('slow-write');
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    const done = await runtime.waitForCompletion('job', id, { timeoutMs: 4_000 });
    expect(renewalsDuringWrite).toBe(3);
    expect(done).toMatchObject({ process_status: 'SUCCESS', current_process_step: 'held up in the database' });
  });

  it('fences a run whose lease could not be renewed; the sweep fails it and the parent joins', async () => {
    const store = new MemoryProcStore();
    const writeLeases = store.writeLeases.bind(store);
    let leaseWritesFail = false;
    store.writeLeases = async (leases) => {
      if (leaseWritesFail) throw new Error('database unreachable');
      return writeLeases(leases);
    };
    const release = deferred();
    const outcome: string[] = [];
    const kinds = [
      defineKind({
        name: 'parent',
        processes: {
          process: {
            run: async (ctx) => {
              await ctx.startChild('child', `${ctx.id}-c`, 'process_child');
              return ProcessResult.WAITING_FOR_RESULT;
            },
          },
        },
      }),
      defineKind({
        name: 'child',
        parent: { kind: 'parent', key: 'parent_id' },
        leaseMs: 60,
        processes: {
          process_child: {
            child: true,
            run: async (ctx) => {
              leaseWritesFail = true;
              await release.promise;
              await ctx.setStep('too late').then(
                () => outcome.push('written'),
                (error: Error) => outcome.push(error.name),
              );
              outcome.push(`signal aborted: ${ctx.signal.aborted}`);
            },
          },
        },
      }),
    ];
    const runtime = await start({ kinds, store, leaseGraceMs: 0 });
    const id = unique('p');
    await runtime.create('parent', id);
    await runtime.call('parent', id, 'process');
    await runtime.waitFor('child', `${id}-c`, (proc) => proc.process_status === 'RUNNING');
    await new Promise((resolve) => setTimeout(resolve, 150));
    release.resolve();
    await runtime.waitFor('child', `${id}-c`, () => outcome.length === 2);
    expect(outcome).toEqual(['RunFencedError', 'signal aborted: true']);
    // Another runtime on the same store (the sweeper elsewhere) finds the expired lease.
    const sweeper = await start({ kinds, store, leaseGraceMs: 0 });
    const report = await sweeper.sweep();
    expect(report.workersLost).toBe(1);
    const child = await runtime.get('child', `${id}-c`);
    expect(child.process_status).toBe('FAILURE');
    expect(child.errors[0]).toMatch(/^process failed due to worker lost: the lease of .* expired at/);
    expect((await sweeper.waitForCompletion('parent', id)).process_status).toBe('SUCCESS');
  });

  it('aborts the signal at the soft time limit and fails with SoftTimeLimitExceeded', async () => {
    const kinds = [
      defineKind({
        name: 'job',
        processes: {
          slow: {
            softTimeoutMs: 30,
            run: (ctx) =>
              new Promise((_, reject) => {
                ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
              }),
          },
        },
      }),
    ];
    const runtime = await start({ kinds });
    const id = unique('soft');
    await runtime.create('job', id);
    await runtime.call('job', id, 'slow');
    const done = await runtime.waitForCompletion('job', id);
    expect(done.process_status).toBe('FAILURE');
    expect(done.errors).toEqual(['SoftTimeLimitExceeded: the process exceeded its soft time limit of 30 ms']);
    expect((await runtime.history('job', id)).map((record) => record.cause)).toContain('run.soft_timed_out');
  });

  it('fails at the hard time limit and refuses the stale run’s completion', async () => {
    const release = deferred();
    let finished = false;
    const kinds = [
      defineKind({
        name: 'job',
        processes: {
          stuck: {
            hardTimeoutMs: 30,
            run: async () => {
              await release.promise;
              finished = true;
            },
          },
        },
      }),
    ];
    const runtime = await start({ kinds });
    const id = unique('hard');
    await runtime.create('job', id);
    await runtime.call('job', id, 'stuck');
    const done = await runtime.waitForCompletion('job', id);
    expect(done).toMatchObject({ process_status: 'FAILURE', errors: ['task timeout occurred'] });
    release.resolve();
    await runtime.waitFor('job', id, () => finished);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const history = await runtime.history('job', id);
    expect(history.at(-1)?.cause).toBe('run.timed_out');
    expect(history.map((record) => record.cause)).not.toContain('run.succeeded');
  });
});

describe('a writer dying between the ledger insert and the document copy', () => {
  it('keeps the transition, and the next load repairs the document', async () => {
    const store = new MemoryProcStore();
    const writeDocuments = store.writeDocuments.bind(store);
    let failCopies = false;
    store.writeDocuments = async (writes) => {
      if (failCopies) throw new Error('connection reset');
      return writeDocuments(writes);
    };
    const runtime = await start({ kinds: counted({ count: 0 }), store });
    const id = unique('copy');
    await runtime.create('job', id);
    failCopies = true;
    await runtime.call('job', id, 'work');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await store.readDocument({ kind: 'job', id }))?.['process_status']).toBe('READY');
    failCopies = false;
    const proc = await runtime.get('job', id);
    expect(proc.process_status).toBe('SUCCESS');
    expect(await store.readDocument({ kind: 'job', id })).toMatchObject({ process_status: 'SUCCESS', sync_counter: proc.seq });
  });
});

describe('waiting and events', () => {
  it('gives up waiting with WaitTimeoutError, never forever', async () => {
    const gate = deferred();
    const runtime = await start({ kinds: counted({ count: 0 }, () => gate.promise) });
    const id = unique('wait');
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    await expect(runtime.waitForCompletion('job', id, { timeoutMs: 30 })).rejects.toBeInstanceOf(WaitTimeoutError);
    await expect(runtime.waitForCompletion('job', id, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
    gate.resolve();
  });

  it('tells subscribers about every committed transition, in order', async () => {
    const runtime = await start({ kinds: counted({ count: 0 }) });
    const notices: TransitionNotice[] = [];
    const id = unique('events');
    const unsubscribe = runtime.subscribe((notice) => {
      if (notice.id === id) notices.push(notice);
    });
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    await runtime.waitForCompletion('job', id);
    unsubscribe();
    expect(notices.map((notice) => [notice.seq, notice.from, notice.to, notice.cause])).toEqual([
      [1, null, 'READY', 'created'],
      [2, 'READY', 'PENDING', 'process.called'],
      [3, 'PENDING', 'RUNNING', 'worker.started'],
      [4, 'RUNNING', 'SUCCESS', 'run.succeeded'],
    ]);
  });
});

describe('batch jobs', () => {
  /** A parent that starts `children` children, whose runs are counted and can be held. */
  function family(children: number, ran: Map<string, number>, hold?: { id: string; gate: Promise<void> }): KindDefinition[] {
    return [
      defineKind({
        name: 'parent',
        processes: {
          process: {
            run: async (ctx) => {
              await ctx.startChildren('child', Array.from({ length: children }, (_, index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child' })));
              return ProcessResult.WAITING_FOR_RESULT;
            },
          },
        },
        join: async (ctx) => ctx.setStep('joined'),
      }),
      defineKind({
        name: 'child',
        parent: { kind: 'parent', key: 'parent_id' },
        processes: {
          process_child: {
            child: true,
            run: async (ctx) => {
              ran.set(ctx.id, (ran.get(ctx.id) ?? 0) + 1);
              if (ctx.id === hold?.id) await hold.gate;
            },
          },
        },
      }),
    ];
  }

  /** Delivers the manual scheduler's jobs until none is left undelivered. */
  async function deliverAll(scheduler: ControlledScheduler, times = 1): Promise<void> {
    for (let job = scheduler.undelivered[0]; job !== undefined; job = scheduler.undelivered[0]) {
      await Promise.all(Array.from({ length: times }, () => scheduler.deliver(job as ControlledJob)));
    }
  }

  it('carries the children of one fan-out, and a batch delivered twice at once starts every child once', async () => {
    const store = new MemoryProcStore();
    const scheduler = new ControlledScheduler();
    const ran = new Map<string, number>();
    const runtime = await start({ kinds: family(12, ran), store, scheduler, dispatchBatchSize: 5 });
    const id = unique('batch');
    await runtime.create('parent', id);
    await runtime.call('parent', id, 'process');
    await scheduler.deliver(scheduler.undelivered[0] as ControlledJob);
    // 12 children, 5 runs to a job: three batch jobs, each naming the parent.
    const batches = scheduler.undelivered.map((job) => job.job);
    expect(batches.map((job) => (job.type === 'runs' ? job.runs.length : 1))).toEqual([5, 5, 2]);
    expect(batches.every((job) => job.type === 'runs' && job.parent?.id === id)).toBe(true);
    await deliverAll(scheduler, 2);
    expect([...ran.values()]).toEqual(Array.from({ length: 12 }, () => 1));
    const done = await runtime.waitForCompletion('parent', id, { timeoutMs: 4_000 });
    expect(done).toMatchObject({ process_status: 'SUCCESS', current_process_step: 'joined' });
    expect((await runtime.history('parent', id)).filter((record) => record.cause === 'join.started')).toHaveLength(1);
  });

  it('leaves the runs a stuck batch has not started PENDING, and the sweep of another runtime starts them there', async () => {
    const store = new MemoryProcStore();
    const ran = new Map<string, number>();
    const id = unique('stuck');
    const release = deferred();
    const kinds = family(4, ran, { id: `${id}-c0`, gate: release.promise });
    const first = new ControlledScheduler();
    // One slot: while the first child is held, the batch's other runs wait for it, unstarted.
    const stuck = await start({ kinds, store, scheduler: first, concurrency: 1 });
    await stuck.create('parent', id);
    await stuck.call('parent', id, 'process');
    await first.deliver(first.undelivered[0] as ControlledJob);
    const batch = first.undelivered[0] as ControlledJob;
    const stuckDelivery = first.deliver(batch);
    await stuck.waitFor('child', `${id}-c0`, (proc) => proc.process_status === 'RUNNING', { timeoutMs: 2_000 });
    // Counts come from the documents, whose copy of the start follows its record by a moment.
    await vi.waitFor(async () => expect((await stuck.childCounts('parent', id)).byStatus).toMatchObject({ RUNNING: 1, PENDING: 3 }), { timeout: 2_000 });

    // Another runtime, whose scheduler holds no job for those calls, sweeps: it sends them again.
    const second = new ControlledScheduler();
    const rescuer = await start({ kinds, store, scheduler: second, pendingRedispatchMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await rescuer.sweep()).redispatched).toBe(3);
    await deliverAll(second);
    for (const index of [1, 2, 3]) expect((await rescuer.get('child', `${id}-c${index}`)).process_status).toBe('SUCCESS');
    // The stuck batch comes loose: its late starts are refused, nothing runs twice.
    release.resolve();
    await stuckDelivery;
    // The last child ended on the first runtime: the join job is in its scheduler.
    expect(first.undelivered.map((job) => job.job.type)).toEqual(['join']);
    await deliverAll(first);
    const done = await rescuer.waitForCompletion('parent', id, { timeoutMs: 4_000 });
    expect(done.process_status).toBe('SUCCESS');
    expect([...ran.values()]).toEqual([1, 1, 1, 1]);
    expect((await rescuer.history('parent', id)).filter((record) => record.cause === 'join.started')).toHaveLength(1);
  });
});

describe('a fan-out that breaks part-way', () => {
  it('leaves every child absent or complete with its record, fails the parent even when its function goes on, and a new call joins once', async () => {
    const store = new MemoryProcStore();
    const insertDocuments = store.insertDocuments.bind(store);
    let rounds = 0;
    let broken = true;
    // The third chunk's documents cannot be written: the database went away mid-fan-out.
    store.insertDocuments = async (documents) => {
      if (documents.some((document) => document.ref.kind === 'child') && broken && (rounds += 1) === 3) throw new Error('connection reset');
      return insertDocuments(documents);
    };
    let joins = 0;
    const kinds = [
      defineKind({
        name: 'parent',
        processes: {
          process: {
            run: async (ctx) => {
              // The function swallows the error and waits anyway: the run must still fail.
              await ctx.startChildren('child', Array.from({ length: 50 }, (_, index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child' })), { concurrency: 10 }).catch(() => undefined);
              return ProcessResult.WAITING_FOR_RESULT;
            },
          },
        },
        join: async () => {
          joins += 1;
        },
      }),
      defineKind({ name: 'child', parent: { kind: 'parent', key: 'parent_id' }, processes: { process_child: { child: true, run: async () => undefined } } }),
    ];
    const runtime = await start({ kinds, store });
    const id = unique('broken');
    await runtime.create('parent', id);
    await runtime.call('parent', id, 'process');
    const failed = await runtime.waitForCompletion('parent', id, { timeoutMs: 4_000 });
    expect(failed.process_status).toBe('FAILURE');
    expect(failed.errors).toEqual([`PersistenceError: creating the document of child ${id}-c20 failed: connection reset`]);
    expect(joins).toBe(0);
    // Every child is either absent (no ledger, no document) or complete: its document reflects its
    // ledger head once loaded.
    let absent = 0;
    for (let index = 0; index < 50; index += 1) {
      const ref = { kind: 'child', id: `${id}-c${index}` };
      const history = await runtime.history('child', ref.id);
      const proc = await runtime.find('child', ref.id);
      if (history.length === 0) {
        absent += 1;
        expect(proc).toBeUndefined();
        expect(await store.readDocument(ref)).toBeUndefined();
        continue;
      }
      expect(proc?.seq).toBe(history.at(-1)?.seq);
      expect((await store.readDocument(ref))?.['sync_counter']).toBe(history.at(-1)?.seq);
    }
    expect(absent).toBe(20);
    // Called again, the fan-out finishes what is missing and calls what exists: one join.
    broken = false;
    await runtime.call('parent', id, 'process');
    expect((await runtime.waitForCompletion('parent', id, { timeoutMs: 4_000 })).process_status).toBe('SUCCESS');
    expect(joins).toBe(1);
    expect(await runtime.childCounts('parent', id)).toMatchObject({ total: 50, processed: 50, processing: 0 });
    expect((await runtime.history('parent', id)).filter((record) => record.cause === 'join.started')).toHaveLength(1);
  });
});

describe('many writers on one proc', () => {
  it('calls racing on one proc, from two runtimes on a slow store, all land: none gives up with SyncFailureError', async () => {
    const store = new MemoryProcStore();
    // Every write takes a round trip, as on a server: the races are real.
    const insertTransitions = store.insertTransitions.bind(store);
    store.insertTransitions = async (records) => {
      await new Promise((resolve) => setTimeout(resolve, 3));
      return insertTransitions(records);
    };
    const kinds = [defineKind({ name: 'job', processes: { work: { run: async () => undefined } } })];
    // Nothing runs: every call after the first queues behind it, each call one transition.
    const runtimes = [await start({ kinds, store, scheduler: new ControlledScheduler() }), await start({ kinds, store, scheduler: new ControlledScheduler() })];
    const id = unique('hot');
    await runtimes[0]?.create('job', id);
    const calls = runtimes.flatMap((runtime) => Array.from({ length: 20 }, () => runtime.call('job', id, 'work')));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => String((outcome as PromiseRejectedResult).reason))).toEqual([]);
    const records = await store.readTransitions({ kind: 'job', id });
    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 41 }, (_, index) => index + 1));
    expect((await runtimes[1]?.get('job', id))?.queue).toHaveLength(39);
  });
});

describe('closing while a sweep runs', () => {
  /** A runtime whose store answers the sweep's listings with `list`; `listed` resolves at the first. */
  function sweepingRuntime(list: (store: MemoryProcStore, args: Parameters<MemoryProcStore['findByStatus']>) => ReturnType<MemoryProcStore['findByStatus']>) {
    const listed = deferred();
    const store = new Proxy(new MemoryProcStore(), {
      get(target, property) {
        if (property === 'findByStatus') {
          return (...args: Parameters<MemoryProcStore['findByStatus']>) => {
            listed.resolve();
            return list(target, args);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const kind = defineKind({ name: 'upload', processes: { process_upload: { run: () => undefined } } });
    const runtime = createProcRuntime({ kinds: [kind], store, sweepIntervalMs: 0, repairIntervalMs: 3_600_000, logger: { warn: () => undefined, error: () => undefined } });
    return { runtime, listed: listed.promise };
  }

  it('stops the sweep at its next step instead of waiting for the whole pass over a slow store', async () => {
    const gate = deferred();
    const listings: string[] = [];
    const { runtime, listed } = sweepingRuntime(async (store, args) => {
      listings.push(`${args[0]}:${args[1].join()}`);
      await gate.promise;
      return store.findByStatus(...args);
    });
    await runtime.start();
    const sweeping = runtime.sweep();
    await listed;
    const closing = runtime.close();
    gate.resolve();
    await Promise.all([sweeping, closing]);
    // The pass would list RUNNING, PENDING and WAITING_FOR_RESULT; it stopped after the first.
    expect(listings).toEqual(['upload:RUNNING']);
  });

  it('does not wait past the drain timeout for a sweep step whose store call never returns', async () => {
    // A connection cut off with no reset: the call neither answers nor fails.
    const { runtime, listed } = sweepingRuntime(() => new Promise<never>(() => undefined));
    await runtime.start();
    void runtime.sweep();
    await listed;
    const closed = await Promise.race([runtime.close({ drainTimeoutMs: 50 }).then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still closing'), 5_000))]);
    expect(closed).toBe('closed');
  });
});
