/**
 * The runtime scenarios of NOMAD's own test suite (reference §3.3 "Tests"), plus procstate's
 * additions, written against the public runtime API so that any store and scheduler can run
 * them: the embedded default in the unit project, MongoDB with Agenda in the integration one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  defineKind,
  InvalidArgumentError,
  ProcAlreadyExistsError,
  InvalidTransitionError,
  ProcessAlreadyRunningError,
  ProcessFailure,
  ProcessResult,
  ProcNotFoundError,
  UnknownKindError,
  UnknownProcessError,
  type KindDefinition,
  type ProcessContext,
  type ProcRuntime,
} from '../../src/index.js';

/** What a store/scheduler combination gives the scenarios. */
export interface RuntimeScenarioOptions {
  readonly name: string;
  /** A started runtime for these kinds, on fresh storage. */
  createRuntime(kinds: readonly KindDefinition[]): Promise<ProcRuntime>;
  /** Stops it and releases its storage. */
  closeRuntime(runtime: ProcRuntime): Promise<void>;
  /** How long a scenario may wait for a proc. @defaultValue 20000 */
  readonly waitMs?: number;
}

/** A promise with its resolve function at hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

let uniqueCounter = 0;
/** An id no other scenario uses (stores may be shared between scenarios). */
export function unique(prefix: string): string {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${uniqueCounter}`;
}

/** Registers the scenarios for one store/scheduler combination. */
export function describeRuntimeScenarios(options: RuntimeScenarioOptions): void {
  const waitMs = options.waitMs ?? 20_000;
  describe(`runtime scenarios: ${options.name}`, () => {
    const open: ProcRuntime[] = [];
    async function runtimeFor(kinds: readonly KindDefinition[]): Promise<ProcRuntime> {
      const runtime = await options.createRuntime(kinds);
      open.push(runtime);
      return runtime;
    }
    afterEach(async () => {
      while (open.length > 0) await options.closeRuntime(open.pop() as ProcRuntime);
    });

    /** A parent kind whose `process` runs `body` and whose join runs `join`, with a child kind. */
    function family(body: (ctx: ProcessContext) => Promise<unknown>, join?: (ctx: ProcessContext) => Promise<unknown>, child?: (ctx: ProcessContext) => Promise<unknown>) {
      const parent = defineKind({
        name: 'parent',
        processes: { process: { run: body as never } },
        ...(join === undefined ? {} : { join: join as never }),
      });
      const kid = defineKind({
        name: 'child',
        parent: { kind: 'parent', key: 'parent_id' },
        processes: {
          process_child: {
            child: true,
            run: (child ?? (async (ctx: ProcessContext) => {
              if ((ctx.args as { fail?: boolean } | null)?.fail === true) throw new TypeError(`child ${ctx.id} failed`);
            })) as never,
          },
        },
      });
      return [parent, kid];
    }

    async function processParent(runtime: ProcRuntime, id: string) {
      await runtime.create('parent', id);
      await runtime.call('parent', id, 'process');
      return runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
    }

    describe('many procs at once', () => {
      it('creates many, reports the ones that exist, and calls many; every call runs once', async () => {
        const ran = new Map<string, number>();
        const job = defineKind({
          name: 'job',
          processes: {
            work: {
              run: async (ctx) => {
                ran.set(ctx.id, (ran.get(ctx.id) ?? 0) + 1);
                await ctx.setStep(`worked on ${String((ctx.args as { n: number }).n)}`);
              },
            },
          },
        });
        const runtime = await runtimeFor([job]);
        const ids = Array.from({ length: 30 }, () => unique('j'));
        await runtime.create('job', ids[3] as string, { fields: { label: 'first' } });
        const created = await runtime.createMany('job', ids.map((id) => ({ id, fields: { label: 'bulk' } })));
        expect(created.map((result) => result.ok)).toEqual(ids.map((_, index) => index !== 3));
        const refused = created[3];
        expect(refused?.ok === false && refused.error).toBeInstanceOf(ProcAlreadyExistsError);
        expect(created[0]).toMatchObject({ ok: true, proc: { process_status: 'READY', seq: 1 } });
        const called = await runtime.callMany('job', ids.map((id, n) => ({ id, process: 'work', args: { n } })));
        expect(called.every((result) => result.ok)).toBe(true);
        for (const [n, id] of ids.entries()) {
          const done = await runtime.waitForCompletion('job', id, { timeoutMs: waitMs });
          expect(done).toMatchObject({ process_status: 'SUCCESS', current_process_step: `worked on ${n}` });
        }
        expect([...ran.values()]).toEqual(ids.map(() => 1));
      });

      it('checks every item before it writes anything: one bad item throws and creates or calls nothing', async () => {
        const job = defineKind({ name: 'job', processes: { work: { run: async () => undefined } } });
        const runtime = await runtimeFor([job]);
        const good = [unique('j'), unique('j')];
        for (const bad of [{ id: { $ne: null } }, { id: '' }, { id: good[0], fields: { sync_counter: 1 } }]) {
          await expect(runtime.createMany('job', [{ id: good[0] as string }, bad as never, { id: good[1] as string }])).rejects.toBeInstanceOf(InvalidArgumentError);
        }
        await expect(runtime.createMany('job', [{ id: good[0] as string }, { id: good[0] as string }])).rejects.toBeInstanceOf(InvalidArgumentError);
        for (const id of good) expect(await runtime.find('job', id)).toBeUndefined();
        const created = await runtime.createMany('job', good.map((id) => ({ id })));
        expect(created.every((result) => result.ok)).toBe(true);
        await expect(runtime.callMany('job', [{ id: good[0] as string, process: 'work' }, { id: good[1] as string, process: 'nope' }])).rejects.toBeInstanceOf(UnknownProcessError);
        await expect(runtime.callMany('job', [{ id: good[0] as string, process: 'work', args: { n: Number.NaN } }])).rejects.toBeInstanceOf(InvalidArgumentError);
        for (const id of good) expect((await runtime.get('job', id)).process_status).toBe('READY');
      });
    });

    describe('parents and children', () => {
      it('joins a parent that started no children', async () => {
        let joins = 0;
        const runtime = await runtimeFor(family(async () => ProcessResult.WAITING_FOR_RESULT, async () => { joins += 1; }));
        const id = unique('p');
        const done = await processParent(runtime, id);
        expect(done.process_status).toBe('SUCCESS');
        expect(done.last_status_message).toBe('Process process completed successfully');
        expect(joins).toBe(1);
      });

      it('joins once after 20 children, one of which fails, and the parent succeeds', async () => {
        let joins = 0;
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              await ctx.startChildren('child', Array.from({ length: 20 }, (_, index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child', args: { fail: index === 7 } })));
              return ProcessResult.WAITING_FOR_RESULT;
            },
            async () => {
              joins += 1;
            },
          ),
        );
        const id = unique('p');
        const done = await processParent(runtime, id);
        expect(done.process_status).toBe('SUCCESS');
        expect(joins).toBe(1);
        const counts = await runtime.childCounts('parent', id);
        expect(counts).toMatchObject({ total: 20, processed: 20, failed: 1, processing: 0 });
        const failed = await runtime.get('child', `${id}-c7`);
        expect(failed.errors).toEqual([`TypeError: child ${id}-c7 failed`]);
        expect(failed.last_status_message).toBe(`Process process_child failed: TypeError: child ${id}-c7 failed`);
        const history = await runtime.history('parent', id);
        expect(history.filter((record) => record.cause === 'join.started')).toHaveLength(1);
      });

      it('fans out 250 children in several chunks, calls existing ones again, and joins once per process', async () => {
        let joins = 0;
        const started = new Map<string, number>();
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              // Chunks of 60: 250 children take five rounds of creation, calls and dispatch.
              await ctx.startChildren('child', Array.from({ length: 250 }, (_, index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child' })), { concurrency: 60 });
              return ProcessResult.WAITING_FOR_RESULT;
            },
            async () => {
              joins += 1;
            },
            async (ctx) => {
              started.set(ctx.id, (started.get(ctx.id) ?? 0) + 1);
            },
          ),
        );
        const id = unique('p');
        expect((await processParent(runtime, id)).process_status).toBe('SUCCESS');
        expect(await runtime.childCounts('parent', id)).toMatchObject({ total: 250, processed: 250, processing: 0 });
        expect(joins).toBe(1);
        // Processing the parent again calls the 250 children that exist now: each runs once more.
        await runtime.call('parent', id, 'process');
        expect((await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs })).process_status).toBe('SUCCESS');
        expect(joins).toBe(2);
        expect(new Set(started.values())).toEqual(new Set([2]));
        expect((await runtime.history('parent', id)).filter((record) => record.cause === 'join.started')).toHaveLength(2);
        expect((await runtime.history('child', `${id}-c0`)).map((record) => record.cause)).toEqual([
          'created', 'process.called', 'worker.started', 'run.succeeded', 'process.called', 'worker.started', 'run.succeeded',
        ]);
      });

      it('fails a parent whose spawning fails after children started, and the children still finish', async () => {
        let joins = 0;
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              await ctx.startChildren('child', Array.from({ length: 5 }, (_, index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child' })));
              throw new Error('spawning broke');
            },
            async () => {
              joins += 1;
            },
          ),
        );
        const id = unique('p');
        const done = await processParent(runtime, id);
        expect(done.process_status).toBe('FAILURE');
        expect(done.errors).toEqual(['Error: spawning broke']);
        for (let index = 0; index < 5; index += 1) {
          const child = await runtime.waitForCompletion('child', `${id}-c${index}`, { timeoutMs: waitMs });
          expect(child.process_status).toBe('SUCCESS');
        }
        expect(joins).toBe(0);
        expect((await runtime.get('parent', id)).process_status).toBe('FAILURE');
      });

      it('fails the parent when its join fails', async () => {
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              await ctx.startChild('child', `${ctx.id}-c0`, 'process_child');
              return ProcessResult.WAITING_FOR_RESULT;
            },
            async () => {
              throw new ProcessFailure('join went wrong');
            },
          ),
        );
        const id = unique('p');
        const done = await processParent(runtime, id);
        expect(done.process_status).toBe('FAILURE');
        expect(done.errors).toEqual(['join went wrong']);
        expect(done.last_status_message).toBe('Process process failed: join went wrong');
      });

      it('joins repeatedly while the join starts new children (multi-level processing)', async () => {
        const levels: number[] = [];
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              await ctx.startChildren('child', [0, 1, 2].map((index) => ({ id: `${ctx.id}-l0-${index}`, process: 'process_child' })));
              return ProcessResult.WAITING_FOR_RESULT;
            },
            async (ctx) => {
              const counts = await ctx.childCounts();
              levels.push(counts.processed);
              if (levels.length < 3) {
                await ctx.setStep(`Parsing level ${levels.length}`);
                await ctx.startChildren('child', [0, 1, 2].map((index) => ({ id: `${ctx.id}-l${levels.length}-${index}`, process: 'process_child' })));
                return ProcessResult.WAITING_FOR_RESULT;
              }
              return undefined;
            },
          ),
        );
        const done = await processParent(runtime, unique('p'));
        expect(done.process_status).toBe('SUCCESS');
        expect(levels).toEqual([3, 6, 9]);
      });

      it('re-joins with zero children until the join succeeds', async () => {
        let joins = 0;
        const runtime = await runtimeFor(
          family(
            async () => ProcessResult.WAITING_FOR_RESULT,
            async () => {
              joins += 1;
              return joins < 4 ? ProcessResult.WAITING_FOR_RESULT : undefined;
            },
          ),
        );
        const done = await processParent(runtime, unique('p'));
        expect(done.process_status).toBe('SUCCESS');
        expect(joins).toBe(4);
      });

      it('waits for a child that a child added while running', async () => {
        let joins = 0;
        let processedAtJoin = -1;
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              await ctx.startChildren('child', [0, 1, 2].map((index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child' })));
              return ProcessResult.WAITING_FOR_RESULT;
            },
            async (ctx) => {
              joins += 1;
              processedAtJoin = (await ctx.childCounts()).processed;
            },
            async (ctx) => {
              if (!ctx.id.endsWith('-c0')) return;
              const parentId = ctx.proc.parent?.id as string;
              await ctx.createProc('child', `${parentId}-added`, { parent: parentId });
              await ctx.call('child', `${parentId}-added`, 'process_child');
            },
          ),
        );
        const id = unique('p');
        const done = await processParent(runtime, id);
        expect(done.process_status).toBe('SUCCESS');
        expect(joins).toBe(1);
        expect(processedAtJoin).toBe(4);
        expect((await runtime.get('child', `${id}-added`)).process_status).toBe('SUCCESS');
      });

      it('lets a child delete itself, and the parent still joins', async () => {
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              await ctx.startChildren('child', [0, 1].map((index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child' })));
              return ProcessResult.WAITING_FOR_RESULT;
            },
            async () => undefined,
            async (ctx) => (ctx.id.endsWith('-c0') ? ProcessResult.DELETED : undefined),
          ),
        );
        const id = unique('p');
        const done = await processParent(runtime, id);
        expect(done.process_status).toBe('SUCCESS');
        expect(await runtime.find('child', `${id}-c0`)).toBeUndefined();
        expect(await runtime.store.readDocument({ kind: 'child', id: `${id}-c0` })).toBeUndefined();
        const history = await runtime.history('child', `${id}-c0`);
        expect(history.at(-1)).toMatchObject({ cause: 'deleted', from: 'RUNNING', to: null });
        expect((await runtime.childCounts('parent', id)).total).toBe(1);
      });
    });

    describe('queues and blocking', () => {
      function queued(options: { failAt?: number; blockingSecond?: boolean } = {}) {
        const order: number[] = [];
        const gate = deferred();
        const kind = defineKind({
          name: 'parent',
          processes: {
            process: {
              run: async (ctx) => {
                const index = (ctx.args as { index: number }).index;
                if (index === 0) await gate.promise;
                order.push(index);
                if (index === options.failAt) throw new Error(`call ${index} failed`);
              },
            },
            blocking_process: {
              blocking: true,
              run: async (ctx) => {
                order.push((ctx.args as { index: number }).index);
              },
            },
          },
        });
        return { order, gate, kinds: [kind] };
      }

      it('runs 20 queued calls in order and ends SUCCESS', async () => {
        const { order, gate, kinds } = queued();
        const runtime = await runtimeFor(kinds);
        const id = unique('q');
        await runtime.create('parent', id);
        for (let index = 0; index < 20; index += 1) await runtime.call('parent', id, 'process', { index });
        const waiting = await runtime.get('parent', id);
        expect(waiting.process_running).toBe(true);
        expect(waiting.queue).toHaveLength(19);
        gate.resolve();
        const done = await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
        expect(done.process_status).toBe('SUCCESS');
        expect(order).toEqual(Array.from({ length: 20 }, (_, index) => index));
        // Never visible as completed while a call was queued.
        const statuses = (await runtime.history('parent', id)).map((record) => record.to);
        expect(statuses.filter((status) => status === 'SUCCESS')).toHaveLength(1);
        expect(statuses.at(-1)).toBe('SUCCESS');
      });

      it('clears the queue when the 2nd of 20 queued calls fails', async () => {
        const { order, gate, kinds } = queued({ failAt: 1 });
        const runtime = await runtimeFor(kinds);
        const id = unique('q');
        await runtime.create('parent', id);
        for (let index = 0; index < 20; index += 1) await runtime.call('parent', id, 'process', { index });
        gate.resolve();
        const done = await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
        expect(done.process_status).toBe('FAILURE');
        expect(done.errors).toEqual(['Error: call 1 failed']);
        expect(done.queue).toEqual([]);
        expect(order).toEqual([0, 1]);
      });

      it('queues a blocking call behind a non-blocking one, and both run in order', async () => {
        const { order, gate, kinds } = queued();
        const runtime = await runtimeFor(kinds);
        const id = unique('q');
        await runtime.create('parent', id);
        await runtime.call('parent', id, 'process', { index: 0 });
        await runtime.call('parent', id, 'blocking_process', { index: 1 });
        gate.resolve();
        expect((await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs })).process_status).toBe('SUCCESS');
        expect(order).toEqual([0, 1]);
      });

      it('refuses a call behind a blocking one, and changes nothing', async () => {
        const { gate, kinds } = queued();
        const runtime = await runtimeFor(kinds);
        const id = unique('q');
        await runtime.create('parent', id);
        await runtime.call('parent', id, 'process', { index: 0 });
        await runtime.waitFor('parent', id, (proc) => proc.process_status === 'RUNNING', { timeoutMs: waitMs });
        await runtime.call('parent', id, 'blocking_process', { index: 1 });
        const before = await runtime.history('parent', id);
        await expect(runtime.call('parent', id, 'process', { index: 2 })).rejects.toBeInstanceOf(ProcessAlreadyRunningError);
        expect(await runtime.history('parent', id)).toHaveLength(before.length);
        gate.resolve();
        await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
      });
    });

    describe('local processes', () => {
      function localKinds() {
        const gate = deferred();
        const kind = defineKind({
          name: 'parent',
          processes: {
            process: { run: async () => gate.promise },
            local_process: { local: true, run: async (ctx) => ({ doubled: ((ctx.args as { n: number }).n ?? 0) * 2 }) },
            failing_local: { local: true, run: async () => { throw new RangeError('local failed'); } },
            slow_local: { local: true, run: async () => gate.promise },
          },
        });
        return { gate, kinds: [kind] };
      }

      it('returns the local function’s value and ends SUCCESS without a worker', async () => {
        const { kinds } = localKinds();
        const runtime = await runtimeFor(kinds);
        const id = unique('l');
        await runtime.create('parent', id);
        expect(await runtime.runLocal('parent', id, 'local_process', { n: 21 })).toEqual({ doubled: 42 });
        const done = await runtime.get('parent', id);
        expect(done).toMatchObject({ process_status: 'SUCCESS', worker_hostname: null, job_id: null, current_process: 'local_process' });
      });

      it('is blocked by a running non-blocking process', async () => {
        const { gate, kinds } = localKinds();
        const runtime = await runtimeFor(kinds);
        const id = unique('l');
        await runtime.create('parent', id);
        await runtime.call('parent', id, 'process');
        await expect(runtime.runLocal('parent', id, 'local_process', { n: 1 })).rejects.toBeInstanceOf(ProcessAlreadyRunningError);
        gate.resolve();
        await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
      });

      it('blocks calls of both kinds while it runs', async () => {
        const { gate, kinds } = localKinds();
        const runtime = await runtimeFor(kinds);
        const id = unique('l');
        await runtime.create('parent', id);
        const running = runtime.runLocal('parent', id, 'slow_local');
        await runtime.waitFor('parent', id, (proc) => proc.process_status === 'RUNNING', { timeoutMs: waitMs });
        await expect(runtime.call('parent', id, 'process')).rejects.toBeInstanceOf(ProcessAlreadyRunningError);
        await expect(runtime.runLocal('parent', id, 'local_process', { n: 1 })).rejects.toBeInstanceOf(ProcessAlreadyRunningError);
        gate.resolve();
        await running;
        expect((await runtime.get('parent', id)).process_status).toBe('SUCCESS');
      });

      it('raises the error of a failing local process and leaves FAILURE', async () => {
        const { kinds } = localKinds();
        const runtime = await runtimeFor(kinds);
        const id = unique('l');
        await runtime.create('parent', id);
        await expect(runtime.runLocal('parent', id, 'failing_local')).rejects.toBeInstanceOf(RangeError);
        const done = await runtime.get('parent', id);
        expect(done.process_status).toBe('FAILURE');
        expect(done.errors).toEqual(['RangeError: local failed']);
      });
    });

    describe('errors, warnings and the return-value protocol', () => {
      const kinds = [
        defineKind({
          name: 'parent',
          processes: {
            warns: { run: async (ctx) => { ctx.warn('first'); await ctx.setStep('Parsing'); ctx.warn('second'); } },
            records: { run: async (ctx) => { ctx.recordError('half broken'); ctx.recordError('fully broken'); } },
            invalid: { run: async () => 42 },
            failure: { run: async () => { throw new ProcessFailure('one', 'two'); } },
          },
        }),
      ];

      it('completes with warnings, persisted in order', async () => {
        const runtime = await runtimeFor(kinds);
        const id = unique('e');
        await runtime.create('parent', id);
        await runtime.call('parent', id, 'warns');
        const done = await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
        expect(done).toMatchObject({ process_status: 'SUCCESS', warnings: ['first', 'second'], current_process_step: 'Parsing', last_status_message: 'Process warns completed with warnings' });
      });

      it('fails on errors recorded without throwing, on an invalid return value, and with ProcessFailure’s texts', async () => {
        const runtime = await runtimeFor(kinds);
        const expectations: Array<[string, string[]]> = [
          ['records', ['half broken', 'fully broken']],
          ['invalid', ['ValueError: Invalid return value from process function: 42']],
          ['failure', ['one', 'two']],
        ];
        for (const [process, errors] of expectations) {
          const id = unique(process);
          await runtime.create('parent', id);
          await runtime.call('parent', id, process);
          const done = await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
          expect(done.process_status).toBe('FAILURE');
          expect(done.errors).toEqual(errors);
          expect(done.last_status_message).toBe(`Process ${process} failed: ${errors.at(-1)}`);
          expect(done.complete_time).toBeInstanceOf(Date);
        }
      });

      it('clears errors when a failed proc is processed again', async () => {
        const runtime = await runtimeFor(kinds);
        const id = unique('e');
        await runtime.create('parent', id);
        await runtime.call('parent', id, 'failure');
        await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
        await runtime.call('parent', id, 'warns');
        const done = await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
        expect(done).toMatchObject({ process_status: 'SUCCESS', errors: [] });
      });
    });

    describe('invalid use gets a typed error and changes nothing', () => {
      const kinds = [defineKind({ name: 'parent', processes: { process: { run: async () => undefined } } })];

      it('refuses unknown kinds and processes, non-JSON arguments and events the status does not accept', async () => {
        const runtime = await runtimeFor(kinds);
        const id = unique('bad');
        await runtime.create('parent', id);
        const before = await runtime.history('parent', id);
        await expect(runtime.call('nope', id, 'process')).rejects.toBeInstanceOf(UnknownKindError);
        await expect(runtime.call('parent', id, 'nope')).rejects.toBeInstanceOf(UnknownProcessError);
        for (const args of [{ when: new Date() }, { n: Number.NaN }, { f: () => 1 }, { u: undefined }, { big: 10n }]) {
          await expect(runtime.call('parent', id, 'process', args as never)).rejects.toBeInstanceOf(InvalidArgumentError);
        }
        const cyclic: Record<string, unknown> = {};
        cyclic['self'] = cyclic;
        await expect(runtime.call('parent', id, 'process', cyclic as never)).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(runtime.call('parent', { $ne: null } as never, 'process')).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(runtime.terminate('parent', id)).rejects.toBeInstanceOf(InvalidTransitionError);
        await expect(runtime.call('parent', unique('missing'), 'process')).rejects.toBeInstanceOf(ProcNotFoundError);
        await expect(runtime.create('parent', id, { fields: { process_status: 'SUCCESS' } })).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(await runtime.history('parent', id)).toEqual(before);
        expect((await runtime.get('parent', id)).process_status).toBe('READY');
      });
    });

    describe('operators', () => {
      it('terminates a running child: the run is fenced, the child fails, the parent still joins', async () => {
        const release = deferred();
        const lateWrites: string[] = [];
        const runtime = await runtimeFor(
          family(
            async (ctx) => {
              await ctx.startChildren('child', [0, 1].map((index) => ({ id: `${ctx.id}-c${index}`, process: 'process_child' })));
              return ProcessResult.WAITING_FOR_RESULT;
            },
            async () => undefined,
            async (ctx) => {
              if (!ctx.id.endsWith('-c0')) return;
              await ctx.setStep('stuck');
              await release.promise;
              await ctx.setStep('after termination').catch((error: Error) => lateWrites.push(error.name));
            },
          ),
        );
        const id = unique('p');
        await runtime.create('parent', id);
        await runtime.call('parent', id, 'process');
        await runtime.waitFor('parent', id, (proc) => proc.process_status === 'WAITING_FOR_RESULT', { timeoutMs: waitMs });
        await runtime.waitFor('child', `${id}-c0`, (proc) => proc.current_process_step === 'stuck', { timeoutMs: waitMs });
        const stopped = await runtime.terminate('child', `${id}-c0`);
        expect(stopped).toMatchObject({ process_status: 'FAILURE', errors: ['process terminate via procstate'] });
        const parent = await runtime.waitForCompletion('parent', id, { timeoutMs: waitMs });
        expect(parent.process_status).toBe('SUCCESS');
        release.resolve();
        await runtime.waitFor('child', `${id}-c0`, () => lateWrites.length > 0, { timeoutMs: waitMs });
        expect(lateWrites).toEqual(['RunFencedError']);
        const child = await runtime.get('child', `${id}-c0`);
        expect(child.process_status).toBe('FAILURE');
        expect(child.current_process_step).toBe('stuck');
      });

      it('resets a processing proc only with force', async () => {
        const gate = deferred();
        const runtime = await runtimeFor([defineKind({ name: 'parent', processes: { process: { run: async () => gate.promise } } })]);
        const id = unique('r');
        await runtime.create('parent', id);
        await runtime.call('parent', id, 'process');
        await expect(runtime.reset('parent', id)).rejects.toBeInstanceOf(ProcessAlreadyRunningError);
        const reset = await runtime.reset('parent', id, { force: true });
        expect(reset).toMatchObject({ process_status: 'READY', current_process: null, errors: [], queue: [] });
        gate.resolve();
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect((await runtime.get('parent', id)).process_status).toBe('READY');
      });
    });
  });
}
