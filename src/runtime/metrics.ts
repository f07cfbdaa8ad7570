/**
 * The runtime's metrics: counters and histograms kept in memory as cumulative values (what
 * {@link RuntimeMetrics.snapshot} returns and `prometheusText` renders), each recording mirrored
 * into an OpenTelemetry instrument when `@opentelemetry/api` is installed.
 *
 * The OpenTelemetry API is an optional peer, imported lazily when the runtime is created (a
 * static import would make it a hard dependency). Until that import has resolved, recordings
 * are kept in memory only; `start()` waits for it, so from then on every recording is mirrored.
 * The API hands out a no-op meter unless an SDK registered a global `MeterProvider` first, and
 * a meter once handed out stays what it was: the SDK has to be set up before the runtime is.
 *
 * Runs are counted from the ledger, when the record that ends a run is written (by whichever
 * runtime writes it: the run's own, a sweep declaring its worker lost, an operator's reset), so
 * that across a fleet every run is counted once, including the runs of workers that died.
 * Attributes are bounded by the definitions (kinds, processes, event types): never an id.
 */
import type { ProcEvent } from '../../machines/proc-events.js';
import { ProcessResult, ProcessStatus } from '../../machines/process-status.js';
import type { StoredProc } from '../../persistence/proc-ledger.js';
import { RecordCause } from '../../persistence/records.js';
import { packageVersion } from '../version.js';
import { errorText } from './texts.js';

/** The attributes of one point (its Prometheus labels): name to value. */
export type MetricAttributes = Readonly<Record<string, string>>;

/** A counter's cumulative value for one set of attributes. */
export interface CounterPoint {
  readonly attributes: MetricAttributes;
  /** The total since the runtime was created. */
  readonly value: number;
}

/** A histogram's cumulative observations for one set of attributes. */
export interface HistogramPoint {
  readonly attributes: MetricAttributes;
  /** The buckets' upper bounds (inclusive), ascending; the last bucket, up to +Inf, has none. */
  readonly buckets: readonly number[];
  /** Observations per bucket, not cumulative: one more than `buckets`, the last for values above every bound. */
  readonly counts: readonly number[];
  /** The sum of all observations. */
  readonly sum: number;
  /** How many observations there were. */
  readonly count: number;
}

/** A counter and its points. */
export interface CounterFamily {
  /** The OpenTelemetry instrument name, e.g. `procstate.transitions`. */
  readonly name: string;
  /** What it counts. */
  readonly help: string;
  readonly type: 'counter';
  /** The OpenTelemetry unit, e.g. `{transition}`. */
  readonly unit: string;
  readonly points: readonly CounterPoint[];
}

/** A histogram and its points. */
export interface HistogramFamily {
  /** The OpenTelemetry instrument name, e.g. `procstate.run.duration`. */
  readonly name: string;
  /** What it measures. */
  readonly help: string;
  readonly type: 'histogram';
  /** The OpenTelemetry unit, e.g. `s`. */
  readonly unit: string;
  readonly points: readonly HistogramPoint[];
}

/** One metric and its points. */
export type MetricFamily = CounterFamily | HistogramFamily;

/**
 * The metrics of one runtime at one moment, as plain data: every metric the runtime keeps (also
 * those with no points yet), cumulative since the runtime was created. See docs/metrics.md.
 */
export type MetricsSnapshot = readonly MetricFamily[];

/** Run durations in seconds: from a quick step to an hour-long upload. */
const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** How the record that ended a run says it ended, by its cause. */
const RUN_OUTCOMES: Readonly<Record<string, string>> = {
  'run.succeeded': 'succeeded',
  'run.waiting': 'waiting',
  'run.failed': 'failed',
  'run.timed_out': 'timed_out',
  'worker.lost': 'lost',
  'run.stopped': 'stopped',
  'proc.reset': 'reset',
  [RecordCause.DELETED]: 'deleted',
};

/** Why a run may no longer write. */
export type FenceReason = 'lease_expired' | 'moved_on';

/** How a join job ended: the join started, or why not. */
export type JoinOutcome = 'started' | 'children_processing' | 'not_waiting' | 'refused';

// The little of the OpenTelemetry API used here, so that no type of it reaches our declarations.
interface OtelCounter {
  add(value: number, attributes: MetricAttributes): void;
}
interface OtelHistogram {
  record(value: number, attributes: MetricAttributes): void;
}
interface OtelMeter {
  createCounter(name: string, options: { description: string; unit: string }): OtelCounter;
  createHistogram(name: string, options: { description: string; unit: string; advice: { explicitBucketBoundaries: number[] } }): OtelHistogram;
}
interface OtelApi {
  readonly metrics: { getMeter(name: string, version?: string): OtelMeter };
}

interface Definition {
  readonly name: string;
  readonly help: string;
  readonly unit: string;
}

/** What an instrument hands its recordings to once OpenTelemetry is loaded. */
type Mirror = (value: number, attributes: MetricAttributes) => void;

/**
 * A recording into OpenTelemetry that cannot fail the caller: it runs right after a ledger
 * insert, whose transition stands whatever an SDK does. An SDK that throws is reported once and
 * not called again.
 */
function guarded(record: Mirror, onError: (error: unknown) => void): Mirror {
  let broken = false;
  return (value, attributes) => {
    if (broken) return;
    try {
      record(value, attributes);
    } catch (error) {
      broken = true;
      onError(error);
    }
  };
}

/** A key per attribute set, whatever order its attributes were written in. */
export function attributesKey(attributes: MetricAttributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

class Counter {
  readonly #definition: Definition;
  readonly #points = new Map<string, { readonly attributes: MetricAttributes; value: number }>();
  #mirror: Mirror | undefined;

  constructor(definition: Definition) {
    this.#definition = definition;
  }

  add(attributes: MetricAttributes, value = 1): void {
    const key = attributesKey(attributes);
    const point = this.#points.get(key);
    if (point === undefined) this.#points.set(key, { attributes: { ...attributes }, value });
    else point.value += value;
    this.#mirror?.(value, attributes);
  }

  mirrorTo(meter: OtelMeter, onError: (error: unknown) => void): void {
    const counter = meter.createCounter(this.#definition.name, { description: this.#definition.help, unit: this.#definition.unit });
    this.#mirror = guarded((value, attributes) => counter.add(value, attributes), onError);
  }

  snapshot(): CounterFamily {
    const points = [...this.#points.values()].map(({ attributes, value }) => ({ attributes: { ...attributes }, value }));
    return { ...this.#definition, type: 'counter', points };
  }
}

class Histogram {
  readonly #definition: Definition;
  readonly #buckets: readonly number[];
  readonly #points = new Map<string, { readonly attributes: MetricAttributes; readonly counts: number[]; sum: number; count: number }>();
  #mirror: Mirror | undefined;

  constructor(definition: Definition, buckets: readonly number[]) {
    this.#definition = definition;
    this.#buckets = buckets;
  }

  record(attributes: MetricAttributes, value: number): void {
    const key = attributesKey(attributes);
    let point = this.#points.get(key);
    if (point === undefined) this.#points.set(key, (point = { attributes: { ...attributes }, counts: this.#buckets.map(() => 0).concat(0), sum: 0, count: 0 }));
    const bucket = this.#buckets.findIndex((bound) => value <= bound);
    const index = bucket === -1 ? this.#buckets.length : bucket;
    point.counts[index] = (point.counts[index] ?? 0) + 1;
    point.sum += value;
    point.count += 1;
    this.#mirror?.(value, attributes);
  }

  mirrorTo(meter: OtelMeter, onError: (error: unknown) => void): void {
    const histogram = meter.createHistogram(this.#definition.name, {
      description: this.#definition.help,
      unit: this.#definition.unit,
      advice: { explicitBucketBoundaries: [...this.#buckets] },
    });
    this.#mirror = guarded((value, attributes) => histogram.record(value, attributes), onError);
  }

  snapshot(): HistogramFamily {
    const points = [...this.#points.values()].map(({ attributes, counts, sum, count }) => ({ attributes: { ...attributes }, buckets: [...this.#buckets], counts: [...counts], sum, count }));
    return { ...this.#definition, type: 'histogram', points };
  }
}

/** True when the import failed because the package is not installed (rather than broken). */
function isMissing(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** The metrics of one runtime. Internal: read them with `runtime.metrics()`. */
export class RuntimeMetrics {
  readonly #transitions = new Counter({
    name: 'procstate.transitions',
    help: 'Ledger records written by this runtime (every transition, creation and deletion), by kind, cause (the event type, created or deleted) and status reached (DELETED for a deletion).',
    unit: '{transition}',
  });
  readonly #runs = new Counter({
    name: 'procstate.runs',
    help: 'Runs ended, counted by the runtime that recorded the end, by kind, process, join (true for a join run) and outcome: succeeded, waiting, failed, deleted, timed_out, lost, stopped or reset.',
    unit: '{run}',
  });
  readonly #runDuration = new Histogram(
    {
      name: 'procstate.run.duration',
      help: "Time from a run's start to the record that ended it, by kind, process, join and outcome.",
      unit: 's',
    },
    DURATION_BUCKETS,
  );
  readonly #leaseRenewals = new Counter({
    name: 'procstate.lease.renewals',
    help: 'Lease renewals of the runs this runtime holds, by kind and outcome: renewed, or failed (the lease record could not be written).',
    unit: '{renewal}',
  });
  readonly #fenced = new Counter({
    name: 'procstate.runs.fenced',
    help: 'Runs of this runtime that lost their proc before they ended, so that their further writes were refused (RunFencedError) and their results dropped, by kind and reason: lease_expired (not renewed in time) or moved_on (another writer recorded a reset, stop, time limit or lost worker).',
    unit: '{run}',
  });
  readonly #conflicts = new Counter({
    name: 'procstate.conflicts',
    help: 'Ledger inserts of this runtime that lost the race for their sequence number to another writer (the transition is then decided again on the state the winner recorded), by kind.',
    unit: '{conflict}',
  });
  readonly #joinAttempts = new Counter({
    name: 'procstate.join.attempts',
    help: "Join jobs handled by this runtime, by the parent's kind and outcome: started, children_processing, not_waiting (already joined, reset or deleted) or refused (another worker started it first).",
    unit: '{attempt}',
  });
  readonly #startsRefused = new Counter({
    name: 'procstate.starts.refused',
    help: "Deliveries of a call to this runtime whose start the ledger refused, by kind: a duplicate delivery (another worker started the call first: a scheduler's lock that expired, or one a server could not make atomic) or a late one (the call had ended, been reset or stopped). The function did not run.",
    unit: '{delivery}',
  });
  readonly #all = [this.#transitions, this.#runs, this.#runDuration, this.#leaseRenewals, this.#fenced, this.#conflicts, this.#joinAttempts, this.#startsRefused];
  readonly #warn: (message: string, details: Record<string, unknown>) => void;
  #mirroring: Promise<void> | undefined;

  /** @param warn - where a broken (not absent) OpenTelemetry API is reported */
  constructor(warn: (message: string, details: Record<string, unknown>) => void) {
    this.#warn = warn;
  }

  /**
   * Starts mirroring into OpenTelemetry, once: resolves when every instrument is created, or at
   * once when `@opentelemetry/api` is not installed. Never rejects.
   */
  mirror(): Promise<void> {
    this.#mirroring ??= (async () => {
      let api: OtelApi;
      try {
        api = await import('@opentelemetry/api');
      } catch (error) {
        // An optional peer: absent, the in-memory values are all there is, and that is no news.
        if (!isMissing(error)) this.#warn('@opentelemetry/api could not be loaded; metrics are kept in memory only', { error: errorText(error) });
        return;
      }
      const version = packageVersion();
      const failed = (error: unknown) => this.#warn('an OpenTelemetry instrument failed; its metric is kept in memory only from now on', { error: errorText(error) });
      try {
        const meter = api.metrics.getMeter('procstate', version);
        for (const instrument of this.#all) instrument.mirrorTo(meter, failed);
      } catch (error) {
        this.#warn('OpenTelemetry instruments could not be created; metrics are kept in memory only', { error: errorText(error) });
      }
    })();
    return this.#mirroring;
  }

  /** A copy of every metric's current values. */
  snapshot(): MetricsSnapshot {
    return this.#all.map((instrument) => instrument.snapshot());
  }

  /** A proc was created (its first ledger record). */
  created(proc: StoredProc): void {
    this.#transitions.add({ kind: proc.ref.kind, cause: RecordCause.CREATED, to: proc.state.status });
  }

  /** `event` moved the proc from `previous` to `next` (one ledger record); ends the run `previous` held, if `next` does not hold it. */
  transitioned(previous: StoredProc, next: StoredProc, event: ProcEvent): void {
    this.#transitions.add({ kind: next.ref.kind, cause: event.type, to: next.state.status });
    if (next.state.context.run?.id !== previous.state.context.run?.id) this.#runEnded(previous, event.type, new Date(event.at));
  }

  /** The proc's run deleted its object (one ledger record, at `at`). */
  deleted(previous: StoredProc, at: Date): void {
    this.#transitions.add({ kind: previous.ref.kind, cause: RecordCause.DELETED, to: ProcessResult.DELETED });
    this.#runEnded(previous, RecordCause.DELETED, at);
  }

  /** A ledger insert lost the race for its sequence number. */
  conflict(kind: string): void {
    this.#conflicts.add({ kind });
  }

  /** Counts how the lease write `renewal` ends, and passes it on. */
  async leaseRenewal<T>(kind: string, renewal: Promise<T>): Promise<T> {
    try {
      const result = await renewal;
      this.#leaseRenewals.add({ kind, outcome: 'renewed' });
      return result;
    } catch (error) {
      this.#leaseRenewals.add({ kind, outcome: 'failed' });
      throw error;
    }
  }

  /** A run of this runtime was fenced (once per run). */
  fenced(kind: string, reason: FenceReason): void {
    this.#fenced.add({ kind, reason });
  }

  /** A join job was handled. */
  joinAttempt(kind: string, outcome: JoinOutcome): void {
    this.#joinAttempts.add({ kind, outcome });
  }

  /** A delivery's start was refused by the ledger: the function does not run. */
  startRefused(kind: string): void {
    this.#startsRefused.add({ kind });
  }

  #runEnded(previous: StoredProc, cause: string, at: Date): void {
    const { status, context } = previous.state;
    if (status !== ProcessStatus.RUNNING || context.run === null) return;
    const attributes = {
      kind: previous.ref.kind,
      process: context.call?.process ?? context.current_process ?? '',
      join: String(context.run.join),
      outcome: RUN_OUTCOMES[cause] ?? cause,
    };
    this.#runs.add(attributes);
    // Both times come from runtimes' clocks (the start's and the end's): a skew between two
    // machines shows here, and a negative difference is recorded as zero.
    this.#runDuration.record(attributes, Math.max(0, at.getTime() - Date.parse(context.run.started_at)) / 1000);
  }
}
