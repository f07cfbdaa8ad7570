/**
 * The runtime's metrics against what happened: the ledger records written, the runs and how
 * they ended, the lease writes the store saw, the races it refused, the join jobs delivered.
 * Then the same values through a real OpenTelemetry SDK, the Prometheus text to the character,
 * and the example of docs/metrics.md.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { metrics as otel } from '@opentelemetry/api';
import { DataPointType, InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryProcStore, type TransitionRecord } from '../../persistence/index.js';
import {
  createProcRuntime,
  defineKind,
  InProcessScheduler,
  InvalidArgumentError,
  ProcessFailure,
  ProcessResult,
  prometheusText,
  RunFencedError,
  type CounterFamily,
  type HistogramFamily,
  type JobHandler,
  type MetricFamily,
  type MetricsSnapshot,
  type ProcJob,
  type ProcRuntime,
  type ProcRuntimeOptions,
  type Scheduler,
} from '../../src/index.js';
import { deferred, unique } from '../contract/runtime-scenarios.contract.js';
import { ControlledScheduler } from '../../src/testing/index.js';

const root = new URL('../..', import.meta.url);
const quiet = { warn: () => undefined, error: () => undefined };
const open: ProcRuntime[] = [];
async function start(options: Omit<ProcRuntimeOptions, 'logger'>): Promise<ProcRuntime> {
  const runtime = createProcRuntime({ sweepIntervalMs: 0, logger: quiet, ...options });
  await runtime.start();
  open.push(runtime);
  return runtime;
}
afterEach(async () => {
  while (open.length > 0) await (open.pop() as ProcRuntime).close({ drainTimeoutMs: 1_000 });
});

function family(snapshot: MetricsSnapshot, name: string): MetricFamily {
  const found = snapshot.find((metric) => metric.name === name);
  if (found === undefined) throw new Error(`no metric ${name}`);
  return found;
}

/** A counter's points as `attribute=value,…` → value, for readable comparisons. */
function counts(snapshot: MetricsSnapshot, name: string): Record<string, number> {
  const found = family(snapshot, name) as CounterFamily;
  expect(found.type).toBe('counter');
  return Object.fromEntries(found.points.map((point) => [label(point.attributes), point.value]));
}

function label(attributes: Readonly<Record<string, string>>): string {
  return Object.entries(attributes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`)
    .join(',');
}

/** Sums several runtimes' counters by label. */
function summed(snapshots: readonly MetricsSnapshot[], name: string): Record<string, number> {
  const total: Record<string, number> = {};
  for (const snapshot of snapshots) for (const [key, value] of Object.entries(counts(snapshot, name))) total[key] = (total[key] ?? 0) + value;
  return total;
}

/** The in-process scheduler, delivering every join job twice (at-least-once), and counting them. */
class CountingScheduler implements Scheduler {
  readonly name = 'counting';
  readonly inner = new InProcessScheduler({ redeliver: (job) => job.type === 'join' });
  joinDeliveries = 0;
  start = (handler: JobHandler) =>
    this.inner.start((job, delivery) => {
      if (job.type === 'join') this.joinDeliveries += 1;
      return handler(job, delivery);
    });
  dispatch = (jobs: readonly ProcJob[]) => this.inner.dispatch(jobs);
  schedule = (job: ProcJob, at: Date) => this.inner.schedule(job, at);
  queuedRuns = () => this.inner.queuedRuns();
  drain = (ms: number) => this.inner.drain(ms);
}

/** An upload of eight entries: one fails, one deletes its object, the others succeed; then the upload joins. */
const uploadKinds = [
  defineKind({
    name: 'upload',
    processes: {
      process_upload: {
        run: async (ctx) => {
          await ctx.startChildren('entry', Array.from({ length: 8 }, (_, index) => ({ id: `${ctx.id}-${index}`, process: 'process_entry' })));
          return ProcessResult.WAITING_FOR_RESULT;
        },
      },
    },
  }),
  defineKind({
    name: 'entry',
    parent: { kind: 'upload', key: 'upload_id' },
    processes: {
      process_entry: {
        run: async (ctx) => {
          await ctx.setStep('parsing');
          if (ctx.id.endsWith('-3')) throw new ProcessFailure('ParserError: not a mainfile');
          if (ctx.id.endsWith('-5')) return ProcessResult.DELETED;
          return undefined;
        },
      },
    },
  }),
];

/** Runs one upload to its end and waits until no job is left. */
async function runUpload(runtime: ProcRuntime, scheduler: CountingScheduler): Promise<string> {
  const id = unique('upload');
  await runtime.create('upload', id);
  await runtime.call('upload', id, 'process_upload');
  expect((await runtime.waitForCompletion('upload', id)).process_status).toBe('SUCCESS');
  await scheduler.inner.onIdle();
  return id;
}

async function ledgerOf(store: MemoryProcStore, id: string): Promise<TransitionRecord[]> {
  const records = await store.readTransitions({ kind: 'upload', id });
  for (let index = 0; index < 8; index += 1) records.push(...(await store.readTransitions({ kind: 'entry', id: `${id}-${index}` })));
  return records;
}

describe('runtime metrics on the memory store', () => {
  it('count an upload: transitions equal the ledger records, runs by outcome and their durations, join attempts', async () => {
    const store = new MemoryProcStore();
    const scheduler = new CountingScheduler();
    const runtime = await start({ kinds: uploadKinds, store, scheduler });
    const id = await runUpload(runtime, scheduler);
    const snapshot = runtime.metrics();
    const records = await ledgerOf(store, id);

    const written: Record<string, number> = {};
    for (const record of records) {
      const key = label({ kind: record.kind, cause: record.cause, to: record.to ?? 'DELETED' });
      written[key] = (written[key] ?? 0) + 1;
    }
    expect(counts(snapshot, 'procstate.transitions')).toEqual(written);
    expect(records).toHaveLength(1 + 1 + 1 + 1 + 1 + 1 + 8 * 5);

    expect(counts(snapshot, 'procstate.runs')).toEqual({
      'join=false,kind=upload,outcome=waiting,process=process_upload': 1,
      'join=true,kind=upload,outcome=succeeded,process=process_upload': 1,
      'join=false,kind=entry,outcome=succeeded,process=process_entry': 6,
      'join=false,kind=entry,outcome=failed,process=process_entry': 1,
      'join=false,kind=entry,outcome=deleted,process=process_entry': 1,
    });

    // Every run's duration is its ledger's: from the record that started it to its last one.
    const runs = new Map<string, { start: number; end: number }>();
    for (const record of records) {
      if (record.run_id === null) continue;
      const run = runs.get(record.run_id) ?? { start: record.at.getTime(), end: record.at.getTime() };
      run.end = Math.max(run.end, record.at.getTime());
      runs.set(record.run_id, run);
    }
    const durations = family(snapshot, 'procstate.run.duration') as HistogramFamily;
    expect(durations.type).toBe('histogram');
    expect(durations.unit).toBe('s');
    expect(durations.points.map((point) => point.count).reduce((a, b) => a + b)).toBe(10);
    expect(runs.size).toBe(10);
    const ledgerSeconds = [...runs.values()].reduce((total, run) => total + (run.end - run.start) / 1000, 0);
    expect(durations.points.reduce((total, point) => total + point.sum, 0)).toBeCloseTo(ledgerSeconds, 9);
    for (const point of durations.points) {
      expect(point.counts).toHaveLength(point.buckets.length + 1);
      expect(point.counts.reduce((a, b) => a + b)).toBe(point.count);
    }

    // The join ran once; every other join job (each was delivered twice) found it done.
    const joins = counts(snapshot, 'procstate.join.attempts');
    expect(joins['kind=upload,outcome=started']).toBe(1);
    expect(Object.values(joins).reduce((a, b) => a + b)).toBe(scheduler.joinDeliveries);
    expect(scheduler.joinDeliveries).toBeGreaterThanOrEqual(2);
    expect(Object.keys(joins).sort()).toEqual(['kind=upload,outcome=not_waiting', 'kind=upload,outcome=started']);

    expect(counts(snapshot, 'procstate.runs.fenced')).toEqual({});
    expect(counts(snapshot, 'procstate.conflicts')).toEqual({});
  });

  it('count every duplicate delivery of a call as a refused start, and run each function once', async () => {
    const scheduler = new InProcessScheduler({ redeliver: (job) => job.type === 'run' || job.type === 'runs' });
    const ran = new Map<string, number>();
    const kinds = [defineKind({ name: 'job', processes: { work: { run: async (ctx) => void ran.set(ctx.id, (ran.get(ctx.id) ?? 0) + 1) } } })];
    const runtime = await start({ kinds, scheduler });
    const ids = ['a', 'b', 'c'];
    for (const id of ids) {
      await runtime.create('job', id);
      await runtime.call('job', id, 'work');
    }
    for (const id of ids) expect((await runtime.waitForCompletion('job', id)).process_status).toBe('SUCCESS');
    await scheduler.onIdle();
    expect([...ran.values()]).toEqual([1, 1, 1]);
    expect(counts(runtime.metrics(), 'procstate.starts.refused')).toEqual({ 'kind=job': ids.length });
  });

  it('count a run fenced by a reset: the reset ends the run, the run is fenced, its write refused with RunFencedError', async () => {
    const started = deferred();
    const release = deferred();
    const refused: unknown[] = [];
    const kinds = [
      defineKind({
        name: 'job',
        processes: {
          work: {
            run: async (ctx) => {
              started.resolve();
              await release.promise;
              await ctx.setStep('too late').catch((error: unknown) => refused.push(error));
            },
          },
        },
      }),
    ];
    const scheduler = new InProcessScheduler();
    const runtime = await start({ kinds, scheduler });
    const id = unique('fenced');
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    await started.promise;
    expect((await runtime.reset('job', id, { force: true })).process_status).toBe('READY');
    release.resolve();
    await scheduler.onIdle();

    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(RunFencedError);
    const snapshot = runtime.metrics();
    expect(counts(snapshot, 'procstate.runs.fenced')).toEqual({ 'kind=job,reason=moved_on': 1 });
    expect(counts(snapshot, 'procstate.runs')).toEqual({ 'join=false,kind=job,outcome=reset,process=work': 1 });
    expect(counts(snapshot, 'procstate.transitions')).toEqual({
      'cause=created,kind=job,to=READY': 1,
      'cause=process.called,kind=job,to=PENDING': 1,
      'cause=worker.started,kind=job,to=RUNNING': 1,
      'cause=proc.reset,kind=job,to=READY': 1,
    });
  });

  it('count failed renewals, the run fenced when its lease expired, and the sweep recording its worker lost', async () => {
    const store = new MemoryProcStore();
    let failedLeaseWrites = 0;
    store.writeLeases = async (leases) => {
      failedLeaseWrites += leases.length;
      throw new Error('database unreachable');
    };
    let skewMs = 0;
    const refused: unknown[] = [];
    const kinds = [
      defineKind({
        name: 'job',
        leaseMs: 150,
        processes: {
          work: {
            run: async (ctx) => {
              await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
              await ctx.setStep('after the lease').catch((error: unknown) => refused.push(error));
            },
          },
        },
      }),
    ];
    const scheduler = new InProcessScheduler();
    const runtime = await start({ kinds, store, scheduler, leaseGraceMs: 0, clock: () => new Date(Date.now() + skewMs) });
    const id = unique('expired');
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    await scheduler.onIdle();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(RunFencedError);
    expect((refused[0] as RunFencedError).reason).toBe('its lease expired before it was renewed');
    // The sweep's clock is past the lease whenever it looks: no waiting for it.
    skewMs = 60_000;
    expect((await runtime.sweep()).workersLost).toBe(1);
    expect((await runtime.get('job', id)).process_status).toBe('FAILURE');

    const snapshot = runtime.metrics();
    // How many renewals fail before the deadline passes depends on the timers; each is counted.
    expect(counts(snapshot, 'procstate.lease.renewals')).toEqual(failedLeaseWrites === 0 ? {} : { 'kind=job,outcome=failed': failedLeaseWrites });
    expect(counts(snapshot, 'procstate.runs.fenced')).toEqual({ 'kind=job,reason=lease_expired': 1 });
    expect(counts(snapshot, 'procstate.runs')).toEqual({ 'join=false,kind=job,outcome=lost,process=work': 1 });
    expect(counts(snapshot, 'procstate.transitions')['cause=worker.lost,kind=job,to=FAILURE']).toBe(1);
  });

  it('count renewed leases as the store wrote them', async () => {
    const store = new MemoryProcStore();
    const writeLeases = store.writeLeases.bind(store);
    let written = 0;
    const thrice = deferred();
    store.writeLeases = async (leases) => {
      await writeLeases(leases);
      written += leases.length;
      if (written >= 3) thrice.resolve();
    };
    const kinds = [defineKind({ name: 'job', leaseMs: 300, processes: { work: { run: async () => thrice.promise } } })];
    const scheduler = new InProcessScheduler();
    const runtime = await start({ kinds, store, scheduler });
    const id = unique('renewed');
    await runtime.create('job', id);
    await runtime.call('job', id, 'work');
    await scheduler.onIdle();
    expect((await runtime.get('job', id)).process_status).toBe('SUCCESS');
    expect(written).toBeGreaterThanOrEqual(3);
    expect(counts(runtime.metrics(), 'procstate.lease.renewals')).toEqual({ 'kind=job,outcome=renewed': written });
  });

  it('count the insert that lost a race to another runtime, once, as the store refused it', async () => {
    const store = new MemoryProcStore();
    const insertTransitions = store.insertTransitions.bind(store);
    // The two calls' inserts are held until both have arrived: both decided on READY, so exactly
    // one loses, and decides again on the winner's PENDING.
    const waiting: Array<() => void> = [];
    let holding = true;
    let refusedByStore = 0;
    store.insertTransitions = async (records) => {
      if (holding && records.some((record) => record.cause === 'process.called')) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length < 2) return;
          holding = false;
          for (const go of waiting) go();
        });
      }
      const results = await insertTransitions(records);
      refusedByStore += results.filter((result) => result.status === 'conflict').length;
      return results;
    };
    const kinds = [defineKind({ name: 'job', processes: { work: { run: async () => undefined } } })];
    const runtimes = [await start({ kinds, store, scheduler: new ControlledScheduler() }), await start({ kinds, store, scheduler: new ControlledScheduler() })];
    const id = unique('race');
    await runtimes[0]?.create('job', id);
    await Promise.all(runtimes.map((runtime) => runtime.call('job', id, 'work')));

    expect(refusedByStore).toBe(1);
    const snapshots = runtimes.map((runtime) => runtime.metrics());
    expect(summed(snapshots, 'procstate.conflicts')).toEqual({ 'kind=job': 1 });
    expect(summed(snapshots, 'procstate.transitions')).toEqual({ 'cause=created,kind=job,to=READY': 1, 'cause=process.called,kind=job,to=PENDING': 2 });
    expect((await store.readTransitions({ kind: 'job', id })).map((record) => record.cause)).toEqual(['created', 'process.called', 'process.called']);
  });
});

describe('runtime metrics through OpenTelemetry', () => {
  it('mirror every recording into the instruments of a registered MeterProvider, under procstate and its version', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    expect(otel.setGlobalMeterProvider(provider)).toBe(true);
    try {
      const store = new MemoryProcStore();
      const scheduler = new CountingScheduler();
      const runtime = await start({ kinds: uploadKinds, store, scheduler });
      await runUpload(runtime, scheduler);
      const ours = runtime.metrics();
      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      expect(resourceMetrics.scopeMetrics).toHaveLength(1);
      const [scope] = resourceMetrics.scopeMetrics;
      const version = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string }).version;
      expect(scope?.scope).toMatchObject({ name: 'procstate', version });

      const theirs = new Map((scope?.metrics ?? []).map((metric) => [metric.descriptor.name, metric]));
      const recorded = ours.filter((metric) => metric.points.length > 0);
      expect([...theirs.keys()].sort()).toEqual(recorded.map((metric) => metric.name).sort());
      for (const metric of recorded) {
        const exported = theirs.get(metric.name);
        expect(exported?.descriptor).toMatchObject({ description: metric.help, unit: metric.unit });
        if (metric.type === 'counter') {
          expect(exported?.dataPointType).toBe(DataPointType.SUM);
          const points = (exported as SumMetricData).dataPoints.map((point) => [label(point.attributes as Record<string, string>), point.value]);
          expect(Object.fromEntries(points)).toEqual(counts(ours, metric.name));
        } else {
          expect(exported?.dataPointType).toBe(DataPointType.HISTOGRAM);
          const points = (exported as HistogramMetricData).dataPoints.map((point) => [
            label(point.attributes as Record<string, string>),
            { buckets: point.value.buckets.boundaries, counts: point.value.buckets.counts, sum: point.value.sum, count: point.value.count },
          ]);
          expect(Object.fromEntries(points)).toEqual(Object.fromEntries(metric.points.map(({ attributes, ...values }) => [label(attributes), values])));
        }
      }
    } finally {
      otel.disable();
      await provider.shutdown();
    }
  });
});

describe('prometheusText', () => {
  const counter = (points: CounterFamily['points']): CounterFamily => ({ name: 'procstate.transitions', help: 'Ledger records.', type: 'counter', unit: '{transition}', points });
  const histogram = (points: HistogramFamily['points']): HistogramFamily => ({ name: 'procstate.run.duration', help: 'Run time.', type: 'histogram', unit: 's', points });

  it('renders counters, cumulative histogram buckets up to +Inf and gauges, sums runtimes per label set, and escapes', () => {
    const first: MetricsSnapshot = [
      counter([
        { attributes: { kind: 'upload', cause: 'created' }, value: 2 },
        { attributes: { kind: 'say "hi"\\\nbye', cause: 'created' }, value: 1 },
      ]),
      histogram([{ attributes: { kind: 'upload' }, buckets: [0.5, 1], counts: [1, 2, 3], sum: 9.25, count: 6 }]),
      { name: 'procstate.conflicts', help: 'Lost races,\nby kind \\ retried.', type: 'counter', unit: '{conflict}', points: [] },
    ];
    const second: MetricsSnapshot = [
      counter([{ attributes: { cause: 'created', kind: 'upload' }, value: 3 }]),
      histogram([{ attributes: { kind: 'upload' }, buckets: [0.5, 1], counts: [0, 1, 0], sum: 0.75, count: 1 }]),
    ];
    const gauges = [{ name: 'procstate_procs', help: 'Procs by kind and status.', points: [{ attributes: { kind: 'upload', status: 'SUCCESS' }, value: 4 }, { attributes: { kind: 'upload', status: 'FAILURE' }, value: 0 }] }];
    expect(prometheusText([first, second], gauges)).toBe(
      [
        '# HELP procstate_transitions_total Ledger records.',
        '# TYPE procstate_transitions_total counter',
        'procstate_transitions_total{cause="created",kind="say \\"hi\\"\\\\\\nbye"} 1',
        'procstate_transitions_total{cause="created",kind="upload"} 5',
        '# HELP procstate_run_duration_seconds Run time.',
        '# TYPE procstate_run_duration_seconds histogram',
        'procstate_run_duration_seconds_bucket{kind="upload",le="0.5"} 1',
        'procstate_run_duration_seconds_bucket{kind="upload",le="1"} 4',
        'procstate_run_duration_seconds_bucket{kind="upload",le="+Inf"} 7',
        'procstate_run_duration_seconds_sum{kind="upload"} 10',
        'procstate_run_duration_seconds_count{kind="upload"} 7',
        '# HELP procstate_conflicts_total Lost races,\\nby kind \\\\ retried.',
        '# TYPE procstate_conflicts_total counter',
        '# HELP procstate_procs Procs by kind and status.',
        '# TYPE procstate_procs gauge',
        'procstate_procs{kind="upload",status="SUCCESS"} 4',
        'procstate_procs{kind="upload",status="FAILURE"} 0',
        '',
      ].join('\n'),
    );
  });

  it('renders a fresh runtime as every metric with no points', async () => {
    const runtime = await start({ kinds: [defineKind({ name: 'job', processes: { work: { run: async () => undefined } } })] });
    expect(prometheusText([runtime.metrics()]).split('\n').filter((line) => line.startsWith('# TYPE'))).toEqual([
      '# TYPE procstate_transitions_total counter',
      '# TYPE procstate_runs_total counter',
      '# TYPE procstate_run_duration_seconds histogram',
      '# TYPE procstate_lease_renewals_total counter',
      '# TYPE procstate_runs_fenced_total counter',
      '# TYPE procstate_conflicts_total counter',
      '# TYPE procstate_join_attempts_total counter',
      '# TYPE procstate_starts_refused_total counter',
    ]);
  });

  it('refuses histograms of one name with different buckets, and a gauge named like a metric', () => {
    const a = [histogram([{ attributes: {}, buckets: [1], counts: [1, 0], sum: 1, count: 1 }])];
    const b = [histogram([{ attributes: {}, buckets: [2], counts: [1, 0], sum: 1, count: 1 }])];
    expect(() => prometheusText([a, b])).toThrow(InvalidArgumentError);
    expect(() => prometheusText([a], [{ name: 'procstate.run.duration.seconds', help: 'x', points: [] }])).toThrow(InvalidArgumentError);
  });
});

describe('docs/metrics.md', () => {
  const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

  it('shows docs/examples/metrics.ts verbatim, which runs and prints what the page shows', async () => {
    const page = read('docs/metrics.md');
    const example = read('docs/examples/metrics.ts');
    expect(page).toContain(example);
    const shown = /```text\n([\s\S]*?)```/.exec(page.slice(page.indexOf(example)))?.[1];
    const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', 'docs/examples/metrics.ts'], { cwd: root, timeout: 60_000 });
    expect(stdout).toBe(shown);
  }, 60_000);

  it('describes every metric a runtime keeps, and is linked from the docs index and the README', async () => {
    const page = read('docs/metrics.md');
    const runtime = await start({ kinds: [defineKind({ name: 'job', processes: { work: { run: async () => undefined } } })] });
    for (const metric of runtime.metrics()) expect(page, metric.name).toContain(`\`${metric.name}\``);
    expect(read('docs/README.md')).toContain('(metrics.md)');
    expect(read('README.md')).toContain('(docs/metrics.md)');
  });
});
