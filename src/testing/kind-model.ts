/**
 * Property tests of a user's kinds: fast-check draws sequences of commands — create, call each
 * process with drawn arguments, reset, terminate, deliver jobs to one of several workers (two
 * at once for races), deliver a job again, drop one, crash the worker holding one, move time,
 * sweep — and runs them against real runtimes on one store (the memory store, or the user's).
 * After every command the {@link violationsOf} invariants must hold; at the end everything
 * left is delivered and every lease left to expire, and the end-state invariants must hold too.
 * A failure is shrunk by fast-check and printed as the command sequence, with the seed and
 * path that replay it.
 */
import type * as FastCheck from 'fast-check';
import { InvalidArgumentError, InvalidTransitionError, InvariantViolationError, ProcAlreadyExistsError, ProcessAlreadyRunningError, ProcNotFoundError } from '../../machines/errors.js';
import { MemoryProcStore } from '../../persistence/memory/memory-proc-store.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { JsonValue, KindDefinition, ProcessDefinition, ProcessFunction } from '../define-kind.js';
import type { ProcessContext } from '../process-context.js';
import { createProcRuntime } from '../runtime/create-proc-runtime.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';
import { ControlledScheduler, type ControlledJob } from './controlled-scheduler.js';
import { readProcs, startKey, violationsOf, type ProcView } from './invariants.js';
import { fc } from './peers.js';
import { VirtualClock } from './virtual-clock.js';

/** Arbitraries of arguments, by kind and process. */
export type KindArguments = Readonly<Record<string, Readonly<Record<string, FastCheck.Arbitrary<unknown>>>>>;

/** Options of {@link kindCommands}, {@link kindProperty} and {@link checkKinds}. */
export interface KindModelOptions {
  /**
   * Arguments for calls, by kind and process. A process with none drawn here is called with no
   * arguments when it has no `args` schema, else with arbitrary JSON (which the schema mostly
   * refuses: the runner then checks that a refused call recorded nothing). @defaultValue none
   */
  readonly args?: KindArguments | undefined;
  /** The kinds the runner creates procs of and calls; others appear as children. @defaultValue kinds without a parent */
  readonly roots?: readonly string[] | undefined;
  /** Procs per root kind the commands pick from. @defaultValue 2 */
  readonly ids?: number | undefined;
  /** A fresh, empty store for one run (e.g. a MongoProcStore on a new database). @defaultValue a MemoryProcStore */
  readonly store?: (() => ProcStore | Promise<ProcStore>) | undefined;
  /** Releases a store `store` made, after its run. */
  readonly disposeStore?: ((store: ProcStore) => void | Promise<void>) | undefined;
  /** Live workers: runtimes sharing the store and the job queue. @defaultValue 2 */
  readonly workers?: number | undefined;
  /** The runtimes' lease. @defaultValue 60000 (virtual time) */
  readonly leaseMs?: number | undefined;
  /** The sweep's grace past a lease. @defaultValue 10000 (virtual time) */
  readonly leaseGraceMs?: number | undefined;
  /** Draw faults: duplicate deliveries, dropped jobs, crashed workers. @defaultValue true */
  readonly faults?: boolean | undefined;
  /** A join may succeed while children go on (fire-and-forget children). @defaultValue false */
  readonly detachedChildren?: boolean | undefined;
  /** Your own check, after every command and at the end; throw to fail. */
  readonly invariant?: ((world: KindWorld, settled: boolean) => void | Promise<void>) | undefined;
  /** Longest command sequence. @defaultValue 25 */
  readonly maxCommands?: number | undefined;
}

/** Options of {@link checkKinds}: the model's, and fast-check's run parameters. */
export interface CheckKindsOptions extends KindModelOptions {
  /** Sequences tried. @defaultValue 100 */
  readonly numRuns?: number | undefined;
  /** Replays a failure: the seed fast-check printed. */
  readonly seed?: number | undefined;
  /** Replays a failure: the path fast-check printed, with its seed. */
  readonly path?: string | undefined;
}

/** What the commands run against, and what a user's invariant may look at. */
export interface KindWorld {
  readonly store: ProcStore;
  readonly clock: VirtualClock;
  readonly scheduler: ControlledScheduler;
  /** The live workers; the first also sweeps. */
  readonly runtimes: readonly ProcRuntime[];
  /** Every proc now, with its document and ledger. */
  procs(): Promise<ProcView[]>;
}

/** What the commands know before they run: the procs created. */
interface Model {
  readonly created: Set<string>;
}

interface World extends KindWorld {
  readonly kinds: readonly KindDefinition[];
  readonly instrumented: readonly KindDefinition[];
  readonly invocations: Map<string, number>;
  readonly crashed: Set<string>;
  readonly options: KindModelOptions & { readonly leaseMs: number; readonly leaseGraceMs: number };
  readonly failures: string[];
  readonly activity: { calls: number };
  /** The store as the workers see it: every call counted in `activity`. */
  readonly workerStore: ProcStore;
  crashes: number;
}

type Command = FastCheck.AsyncCommand<Model, World>;

const quiet = { warn: () => undefined, error: () => undefined };
const PENDING_REDISPATCH_MS = 30_000;
const SETTLE_ROUNDS = 25;

/** A function entered by a crashed worker never returns of itself: the worker is gone. */
function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Error('the worker crashed'));
    signal.addEventListener('abort', () => reject(new Error('the worker crashed')), { once: true });
  });
}

/** The kinds with every function counting its entries, and hanging on a crashed worker. */
function instrument(kinds: readonly KindDefinition[], invocations: Map<string, number>, crashed: ReadonlySet<string>): KindDefinition[] {
  const wrap = (kind: string, run: ProcessFunction<any, any, any>): ProcessFunction<any, any, any> => async (ctx: ProcessContext<any, any, any>) => {
    const key = startKey(kind, ctx.id, ctx.proc.seq);
    invocations.set(key, (invocations.get(key) ?? 0) + 1);
    if (ctx.proc.worker_hostname !== null && crashed.has(ctx.proc.worker_hostname)) await hang(ctx.signal);
    return run(ctx);
  };
  return kinds.map((kind) => ({
    ...kind,
    processes: Object.fromEntries(Object.entries(kind.processes).map(([name, process]) => [name, { ...process, run: wrap(kind.name, process.run) }])),
    ...(kind.join === undefined ? {} : { join: wrap(kind.name, kind.join) }),
  }));
}

function runtimeOn(world: Pick<World, 'instrumented' | 'clock' | 'options'>, store: ProcStore, scheduler: ProcRuntime['scheduler'], worker: string): ProcRuntime {
  return createProcRuntime({
    kinds: world.instrumented,
    store,
    scheduler,
    worker,
    clock: world.clock.now,
    leaseMs: world.options.leaseMs,
    leaseGraceMs: world.options.leaseGraceMs,
    pendingRedispatchMs: PENDING_REDISPATCH_MS,
    repairIntervalMs: 1,
    sweepIntervalMs: 0,
    logger: quiet,
  });
}

async function makeWorld(kinds: readonly KindDefinition[], options: KindModelOptions): Promise<World> {
  const store = (await options.store?.()) ?? new MemoryProcStore();
  // The workers' store calls are counted: a check waits until they stop (what a delivery sets
  // off — a join run inline, a parent's wake-up — may go on after the job's handler returned).
  const activity = { calls: 0 };
  const workerStore = intercepted(store, () => {
    activity.calls += 1;
  });
  const clock = new VirtualClock();
  const scheduler = new ControlledScheduler({ clock });
  const invocations = new Map<string, number>();
  const crashed = new Set<string>();
  const resolved = { ...options, leaseMs: options.leaseMs ?? 60_000, leaseGraceMs: options.leaseGraceMs ?? 10_000 };
  const instrumented = instrument(kinds, invocations, crashed);
  const runtimes: ProcRuntime[] = [];
  const partial = { instrumented, clock, options: resolved };
  for (let index = 0; index < (options.workers ?? 2); index += 1) {
    const runtime = runtimeOn(partial, workerStore, index === 0 ? scheduler : scheduler.worker(), `worker-${index}`);
    await runtime.start();
    runtimes.push(runtime);
  }
  return {
    store,
    clock,
    scheduler,
    runtimes,
    kinds,
    instrumented,
    invocations,
    crashed,
    options: resolved,
    failures: [],
    crashes: 0,
    activity,
    workerStore,
    procs: () => readProcs(store, kinds),
  };
}

async function check(world: World, after: string, settled: boolean): Promise<void> {
  await quiesce(world);
  const procs = await world.procs();
  const violations = [
    ...world.failures.splice(0),
    ...violationsOf(procs, { kinds: world.kinds, invocations: world.invocations, settled, crashedWorkers: world.crashed, detachedChildren: world.options.detachedChildren }),
  ];
  if (violations.length > 0) throw new InvariantViolationError(violations, after);
  await world.options.invariant?.(world, settled);
}

/** Runs `action`; an error of one of the `allowed` classes is an expected refusal, which must record nothing. */
async function refusable(world: World, ref: { kind: string; id: string }, what: string, action: () => Promise<unknown>, allowed: ReadonlyArray<abstract new (...args: never[]) => Error>): Promise<void> {
  const before = (await world.store.readHead(ref))?.seq;
  try {
    await action();
  } catch (error) {
    if (!allowed.some((type) => error instanceof type)) throw error;
    const after = (await world.store.readHead(ref))?.seq;
    if (after !== before) world.failures.push(`${what} was refused (${(error as Error).name}) but the ledger moved from record ${String(before)} to ${String(after)}`);
  }
}

const text = (value: unknown) => (value === undefined ? '' : ` ${JSON.stringify(value)}`);

/**
 * One drawn command: does its part, then checks every invariant (fast-check's model check is
 * not used: what a command may do depends on the store, which the command itself reads).
 */
abstract class Step implements Command {
  check = () => true;
  async run(model: Model, world: World): Promise<void> {
    await this.act(model, world);
    await check(world, String(this), false);
  }
  protected abstract act(model: Model, world: World): Promise<void>;
}

class CreateCommand extends Step {
  constructor(readonly kind: string, readonly id: string) {
    super();
  }
  protected override async act(model: Model, world: World): Promise<void> {
    const key = `${this.kind}/${this.id}`;
    if (model.created.has(key)) {
      await refusable(world, { kind: this.kind, id: this.id }, String(this), () => world.runtimes[0]!.create(this.kind, this.id), [ProcAlreadyExistsError]);
    } else {
      await world.runtimes[0]!.create(this.kind, this.id);
      model.created.add(key);
    }
  }
  override toString(): string {
    return `create ${this.kind} ${JSON.stringify(this.id)}`;
  }
}

class CallCommand extends Step {
  constructor(readonly kind: string, readonly id: string, readonly process: string, readonly args: unknown, readonly worker: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    const runtime = world.runtimes[this.worker % world.runtimes.length] as ProcRuntime;
    await refusable(world, { kind: this.kind, id: this.id }, String(this), () => runtime.call(this.kind, this.id, this.process, this.args as JsonValue), [ProcNotFoundError, ProcessAlreadyRunningError, InvalidArgumentError]);
  }
  override toString(): string {
    return `call ${this.kind} ${JSON.stringify(this.id)} ${this.process}${text(this.args)}`;
  }
}

class ResetCommand extends Step {
  constructor(readonly kind: string, readonly id: string, readonly force: boolean) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    await refusable(world, { kind: this.kind, id: this.id }, String(this), () => world.runtimes[0]!.reset(this.kind, this.id, { force: this.force }), [ProcNotFoundError, ProcessAlreadyRunningError]);
  }
  override toString(): string {
    return `reset ${this.kind} ${JSON.stringify(this.id)}${this.force ? ' --force' : ''}`;
  }
}

class TerminateCommand extends Step {
  constructor(readonly kind: string, readonly id: string) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    await refusable(world, { kind: this.kind, id: this.id }, String(this), () => world.runtimes[0]!.terminate(this.kind, this.id), [ProcNotFoundError, InvalidTransitionError]);
  }
  override toString(): string {
    return `terminate ${this.kind} ${JSON.stringify(this.id)}`;
  }
}

function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

async function delivered(world: World, job: ControlledJob, worker: number): Promise<void> {
  await world.scheduler.deliver(job, { worker }).catch((error: unknown) => {
    world.failures.push(`the job handler of worker ${worker} threw on ${JSON.stringify(job.job)}: ${String(error)}`);
  });
}

class DeliverCommand extends Step {
  constructor(readonly job: number, readonly worker: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    const job = pick(world.scheduler.undelivered, this.job);
    if (job !== undefined) await delivered(world, job, this.worker % world.runtimes.length);
  }
  override toString(): string {
    return `deliver queued job #${this.job} to worker ${this.worker}`;
  }
}

class DeliverTwoCommand extends Step {
  constructor(readonly first: number, readonly second: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    const queued = world.scheduler.undelivered;
    const a = pick(queued, this.first);
    const b = pick(queued, this.second);
    // Two workers at once: the race the ledger insert arbitrates. The same job twice is a duplicate delivery.
    await Promise.all([a === undefined ? undefined : delivered(world, a, 0), b === undefined ? undefined : delivered(world, b, 1 % world.runtimes.length)]);
  }
  override toString(): string {
    return `deliver queued jobs #${this.first} and #${this.second} to two workers at once`;
  }
}

class DuplicateCommand extends Step {
  constructor(readonly job: number, readonly worker: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    const job = pick(world.scheduler.jobs.filter((candidate) => candidate.deliveries > 0), this.job);
    if (job !== undefined) await delivered(world, job, this.worker % world.runtimes.length);
  }
  override toString(): string {
    return `deliver delivered job #${this.job} again, to worker ${this.worker}`;
  }
}

class DropCommand extends Step {
  constructor(readonly job: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    const job = pick(world.scheduler.undelivered, this.job);
    if (job !== undefined) world.scheduler.drop(job);
  }
  override toString(): string {
    return `drop queued job #${this.job}`;
  }
}

/** `store` with `before` run ahead of every method call; a call `before` throws in is a rejection. */
function intercepted(store: ProcStore, before: () => void): ProcStore {
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          before();
        } catch (error) {
          return Promise.reject(error);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Lets what the workers started go as far as it goes on its own: until no store call has been made for a while (or `done`). */
async function quiesce(world: World, done: () => boolean = () => false): Promise<void> {
  let last = -1;
  for (let quiet = 0, round = 0; quiet < 5 && round < 1_000 && !done(); round += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    const now = world.activity.calls;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

class CrashCommand extends Step {
  constructor(readonly job: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    const job = pick(world.scheduler.undelivered, this.job);
    if (job !== undefined) {
      // A worker of its own, whose store goes dead at the crash: nothing it does after lands.
      world.crashes += 1;
      const name = `crashed-${world.crashes}`;
      world.crashed.add(name);
      let dead = false;
      const store = intercepted(world.workerStore, () => {
        if (dead) throw new Error(`${name} crashed`);
      });
      const port = world.scheduler.worker();
      const runtime = runtimeOn(world, store, port, name);
      await runtime.start();
      let settled = false;
      void world.scheduler.deliver(job, { worker: port.index }).catch(() => undefined).finally(() => {
        settled = true;
      });
      await quiesce(world, () => settled);
      dead = true;
      await runtime.close({ drainTimeoutMs: 0 });
    }
  }
  override toString(): string {
    return `deliver queued job #${this.job} to a worker that crashes in it`;
  }
}

class AdvanceCommand extends Step {
  constructor(readonly ms: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    world.clock.advance(this.ms);
  }
  override toString(): string {
    return `advance the clock ${this.ms} ms`;
  }
}

class SweepCommand extends Step {
  constructor(readonly worker: number) {
    super();
  }
  protected override async act(_: Model, world: World): Promise<void> {
    await (world.runtimes[this.worker % world.runtimes.length] as ProcRuntime).sweep();
  }
  override toString(): string {
    return `sweep on worker ${this.worker}`;
  }
}

function argumentsFor(kind: KindDefinition, process: string, options: KindModelOptions): FastCheck.Arbitrary<unknown> {
  const given = options.args?.[kind.name]?.[process];
  if (given !== undefined) return given;
  return kind.processes[process]?.args === undefined ? fc.constant(undefined) : fc.jsonValue({ maxDepth: 2 });
}

/** The command arbitrary for `kinds`: pass it to `fc.commands`' caller, or use {@link kindProperty}. */
export function kindCommands(kinds: readonly KindDefinition[], options: KindModelOptions = {}): FastCheck.Arbitrary<Iterable<FastCheck.AsyncCommand<object, KindWorld>>> {
  if (!Array.isArray(kinds) || kinds.length === 0) throw new InvalidArgumentError('kindCommands needs the kinds, as passed to createProcRuntime.');
  const roots = (options.roots ?? kinds.filter((kind) => kind.parent === undefined).map((kind) => kind.name)).map((name) => {
    const kind = kinds.find((candidate) => candidate.name === name);
    if (kind === undefined) throw new InvalidArgumentError(`roots names ${JSON.stringify(name)}, which is not one of the kinds (${kinds.map((each) => each.name).join(', ')}).`);
    return kind;
  });
  if (roots.length === 0) throw new InvalidArgumentError('No root kind to create procs of: every kind has a parent; say which with `roots`.');
  for (const [kindName, processes] of Object.entries(options.args ?? {})) {
    const kind = kinds.find((candidate) => candidate.name === kindName);
    if (kind === undefined) throw new InvalidArgumentError(`args names kind ${JSON.stringify(kindName)}, which is not one of the kinds.`);
    for (const process of Object.keys(processes)) {
      if (kind.processes[process] === undefined) throw new InvalidArgumentError(`args names ${kindName}.${process}, which is not a process of ${kindName}.`);
    }
  }
  const ids = fc.integer({ min: 0, max: Math.max(1, options.ids ?? 2) - 1 }).map((n) => `p${n}`);
  const root = fc.constantFrom(...roots);
  const workers = Math.max(1, options.workers ?? 2);
  const worker = fc.nat({ max: workers - 1 });
  const job = fc.nat({ max: 7 });
  const calls = roots.flatMap((kind) =>
    (Object.entries(kind.processes) as Array<[string, ProcessDefinition<any, any, any>]>)
      .filter(([, definition]) => definition.local !== true)
      .map(([process]) => fc.tuple(ids, argumentsFor(kind, process, options), worker).map(([id, args, at]) => new CallCommand(kind.name, id, process, args, at))),
  );
  if (calls.length === 0) throw new InvalidArgumentError('The root kinds have no process a worker runs (only local ones).');
  const lease = (options.leaseMs ?? 60_000) + (options.leaseGraceMs ?? 10_000);
  const commands: Array<FastCheck.Arbitrary<Command>> = [
    fc.tuple(root, ids).map(([kind, id]) => new CreateCommand(kind.name, id)),
    ...calls,
    ...calls,
    ...calls,
    // Calls and deliveries are most of what happens to a proc: drawn more often than the rest.
    ...Array.from({ length: 4 }, () => fc.tuple(job, worker).map(([index, at]) => new DeliverCommand(index, at))),
    fc.tuple(root, ids, fc.boolean()).map(([kind, id, force]) => new ResetCommand(kind.name, id, force)),
    fc.tuple(root, ids).map(([kind, id]) => new TerminateCommand(kind.name, id)),
    fc.constantFrom(1_000, Math.ceil(lease / 2), lease + 1, PENDING_REDISPATCH_MS + 1).map((ms) => new AdvanceCommand(ms)),
    worker.map((at) => new SweepCommand(at)),
  ];
  if (workers > 1) commands.push(fc.tuple(job, job).map(([a, b]) => new DeliverTwoCommand(a, b)));
  if (options.faults !== false) {
    commands.push(
      fc.tuple(job, worker).map(([index, at]) => new DuplicateCommand(index, at)),
      job.map((index) => new DropCommand(index)),
      job.map((index) => new CrashCommand(index)),
    );
  }
  return fc.commands(commands, { maxCommands: options.maxCommands ?? 25, size: 'max' }) as unknown as FastCheck.Arbitrary<Iterable<FastCheck.AsyncCommand<object, KindWorld>>>;
}

/** Delivers everything left and lets every lease and stale call run out, until nothing moves. */
async function settle(world: World): Promise<void> {
  const step = world.options.leaseMs + world.options.leaseGraceMs + PENDING_REDISPATCH_MS + 1;
  for (let round = 0; round < SETTLE_ROUNDS; round += 1) {
    if (world.scheduler.undelivered.length > 0) {
      // Checked after each delivery too: what goes wrong on the way (a join that ends too early)
      // may be gone by the end.
      for (const job of world.scheduler.undelivered) {
        await delivered(world, job, 0);
        await check(world, `settling: delivering ${JSON.stringify(job.job)}`, false);
      }
      continue;
    }
    const busy = violationsOf(await world.procs(), { kinds: world.kinds, settled: true, detachedChildren: true }).length > 0 || world.scheduler.notDue.length > 0;
    world.clock.advance(step);
    await world.runtimes[0]?.sweep();
    if (!busy && world.scheduler.undelivered.length === 0) return;
  }
}

/** One run: the commands, then settling, with every check; for use inside your own `fc.asyncProperty`. */
export async function runKindCommands(kinds: readonly KindDefinition[], commands: Iterable<FastCheck.AsyncCommand<object, KindWorld>>, options: KindModelOptions = {}): Promise<void> {
  const world = await makeWorld(kinds, options);
  try {
    await fc.asyncModelRun(() => ({ model: { created: new Set<string>() }, real: world }), commands as Iterable<Command>);
    await settle(world);
    await check(world, 'delivering everything left and letting every lease expire', true);
  } finally {
    for (const runtime of world.runtimes) await runtime.close({ drainTimeoutMs: 0 });
    await options.disposeStore?.(world.store);
  }
}

/** The property "every guarantee holds whatever the commands": pass it to `fc.assert`. */
export function kindProperty(kinds: readonly KindDefinition[], options: KindModelOptions = {}): FastCheck.IAsyncProperty<[Iterable<FastCheck.AsyncCommand<object, KindWorld>>]> {
  return fc.asyncProperty(kindCommands(kinds, options), (commands) => runKindCommands(kinds, commands, options));
}

/**
 * Property-tests `kinds`: `numRuns` command sequences, each on fresh runtimes and a fresh store.
 * @throws the shrunk counterexample (fast-check's error: the commands, the seed and path to replay, the violation)
 */
export async function checkKinds(kinds: readonly KindDefinition[], options: CheckKindsOptions = {}): Promise<void> {
  await fc.assert(kindProperty(kinds, options), {
    numRuns: options.numRuns ?? 100,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
  });
}
