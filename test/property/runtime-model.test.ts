/**
 * Random sequences of calls, deliveries (including duplicates), completions, failures and
 * resets, checked after every step against a deliberately simpler model: a few lines of plain
 * rules written from NOMAD's reference, not derived from the machine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryProcStore } from '../../persistence/index.js';
import {
  createProcRuntime,
  defineKind,
  ProcessAlreadyRunningError,
  type ProcRuntime,
} from '../../src/index.js';
import { deferred } from '../contract/runtime-scenarios.contract.js';
import { ControlledScheduler, type ControlledJob } from '../../src/testing/index.js';

type Name = 'plain' | 'blocking' | 'keeps_queue';
type Status = 'READY' | 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILURE';

/** The simpler model: a status, the current process, a queue of names, and the jobs sent. */
interface Model {
  status: Status;
  current: { name: Name; serial: number } | null;
  queue: Name[];
  /** Serial of the call each dispatched job was sent for, in dispatch order. */
  jobs: number[];
  serials: number;
}

const BLOCKING: Record<Name, boolean> = { plain: false, blocking: true, keeps_queue: false };
const CLEARS: Record<Name, boolean> = { plain: true, blocking: true, keeps_queue: false };

interface Real {
  runtime: ProcRuntime;
  scheduler: ControlledScheduler;
  store: MemoryProcStore;
  /** The gate of the function that is running, if any. */
  running: { finish: (ok: boolean) => void; handled: Promise<void> } | undefined;
  starts: number;
  runs: number;
}

const ID = 'the-proc';

function processing(model: Model): boolean {
  return model.status === 'PENDING' || model.status === 'RUNNING';
}

function promoteOrEnd(model: Model, end: Status): void {
  const next = model.queue.shift();
  if (next === undefined) {
    model.status = end;
    model.current = null;
    return;
  }
  model.serials += 1;
  model.current = { name: next, serial: model.serials };
  model.status = 'PENDING';
  model.jobs.push(model.serials);
}

async function check(model: Model, real: Real): Promise<void> {
  const proc = await real.runtime.get('proc', ID);
  expect(proc.process_status).toBe(model.status);
  expect(proc.queue.map((call) => call.process)).toEqual(model.queue);
  expect(real.scheduler.jobs.length).toBe(model.jobs.length);
  const history = await real.runtime.history('proc', ID);
  expect(history.map((record) => record.seq)).toEqual(history.map((_, index) => index + 1));
  expect(history.at(-1)?.to).toBe(model.status);
  expect((await real.store.readDocument({ kind: 'proc', id: ID }))?.['sync_counter']).toBe(history.length);
  expect(real.runs).toBe(history.filter((record) => record.cause === 'worker.started').length);
}

class CallCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly name: Name) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const blocked = processing(model) && ((model.current !== null && BLOCKING[model.current.name]) || model.queue.some((name) => BLOCKING[name]));
    const call = real.runtime.call('proc', ID, this.name);
    if (blocked) {
      await expect(call).rejects.toBeInstanceOf(ProcessAlreadyRunningError);
    } else {
      await call;
      if (processing(model)) model.queue.push(this.name);
      else {
        model.serials += 1;
        model.current = { name: this.name, serial: model.serials };
        model.status = 'PENDING';
        model.jobs.push(model.serials);
      }
    }
    await check(model, real);
  }
  toString = () => `call(${this.name})`;
}

class DeliverCommand implements fc.AsyncCommand<Model, Real> {
  /** `pick` chooses among the jobs: undelivered ones first, else any (a duplicate delivery). */
  constructor(readonly pick: number) {}
  check = (model: Model) => model.jobs.length > 0 && model.status !== 'RUNNING';
  async run(model: Model, real: Real): Promise<void> {
    const candidates = real.scheduler.undelivered.length > 0 ? real.scheduler.undelivered : real.scheduler.jobs;
    const job = candidates[this.pick % candidates.length] as ControlledJob;
    const serial = model.jobs[real.scheduler.jobs.indexOf(job)];
    const starts = model.status === 'PENDING' && model.current?.serial === serial && job.job.type === 'run';
    const started = deferred();
    real.running = undefined;
    const before = real.runs;
    const handled = real.scheduler.deliver(job);
    if (starts) {
      // The function now waits for a finish command.
      await new Promise<void>((resolve) => {
        const poll = () => (real.runs > before ? resolve() : setTimeout(poll, 1));
        poll();
      });
      (real.running as unknown as { handled: Promise<void> }).handled = handled;
      started.resolve();
      model.status = 'RUNNING';
    } else {
      await handled;
    }
    await check(model, real);
  }
  toString = () => `deliver(${this.pick})`;
}

class FinishCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ok: boolean) {}
  check = (model: Model) => model.status === 'RUNNING';
  async run(model: Model, real: Real): Promise<void> {
    const running = real.running as NonNullable<Real['running']>;
    running.finish(this.ok);
    await running.handled;
    real.running = undefined;
    const current = model.current as NonNullable<Model['current']>;
    if (this.ok) promoteOrEnd(model, 'SUCCESS');
    else if (CLEARS[current.name] || model.queue.length === 0) {
      model.queue = [];
      model.status = 'FAILURE';
      model.current = null;
    } else promoteOrEnd(model, 'FAILURE');
    await check(model, real);
  }
  toString = () => `finish(${this.ok ? 'ok' : 'fail'})`;
}

class ResetCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly force: boolean) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const reset = real.runtime.reset('proc', ID, { force: this.force });
    if (processing(model) && !this.force) {
      await expect(reset).rejects.toBeInstanceOf(ProcessAlreadyRunningError);
    } else {
      await reset;
      // A function that was running is fenced: let it end; its completion must change nothing.
      const running = real.running;
      if (running !== undefined) {
        running.finish(true);
        await running.handled;
        real.running = undefined;
      }
      model.status = 'READY';
      model.current = null;
      model.queue = [];
    }
    await check(model, real);
  }
  toString = () => `reset(${this.force ? 'force' : ''})`;
}

async function setup(): Promise<{ model: Model; real: Real }> {
  const scheduler = new ControlledScheduler();
  const store = new MemoryProcStore();
  const real = { scheduler, store, running: undefined, starts: 0, runs: 0 } as unknown as Real;
  const body = async () => {
    const gate = deferred<boolean>();
    real.running = { finish: gate.resolve, handled: Promise.resolve() };
    real.runs += 1;
    if (!(await gate.promise)) throw new Error('the function failed');
  };
  const kind = defineKind({
    name: 'proc',
    processes: {
      plain: { run: body },
      blocking: { blocking: true, run: body },
      keeps_queue: { clearQueueOnFailure: false, run: body },
    },
  });
  real.runtime = createProcRuntime({ kinds: [kind], store, scheduler, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
  await real.runtime.start();
  await real.runtime.create('proc', ID);
  return { model: { status: 'READY', current: null, queue: [], jobs: [], serials: 0 }, real };
}

const commands = [
  fc.constantFrom<Name>('plain', 'blocking', 'keeps_queue').map((name) => new CallCommand(name)),
  fc.nat({ max: 20 }).map((pick) => new DeliverCommand(pick)),
  fc.boolean().map((ok) => new FinishCommand(ok)),
  fc.boolean().map((force) => new ResetCommand(force)),
];

describe('the runtime against a simpler model', () => {
  it('agrees on status, queue, dispatched jobs, runs and ledger after every command', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'large' }), async (cmds) => {
        const { model, real } = await setup();
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
        } finally {
          real.running?.finish(true);
          await real.runtime.close({ drainTimeoutMs: 100 });
        }
      }),
      { numRuns: 150 },
    );
  });
});
