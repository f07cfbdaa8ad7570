/**
 * Runtime metrics in the Prometheus text exposition format, version 0.0.4: what a `/metrics`
 * endpoint answers (the dashboard's does; any HTTP server can, see docs/metrics.md). Pure: the
 * caller takes the snapshots and serves the text.
 *
 * Names follow what OpenTelemetry's Prometheus exporter makes of the same instruments, so that
 * dashboards and alerts work with either: dots become underscores, a unit of seconds adds
 * `_seconds`, a counter ends in `_total` (`procstate.run.duration` → `procstate_run_duration_seconds`,
 * `procstate.transitions` → `procstate_transitions_total`).
 */
import { InvalidArgumentError } from '../machines/errors.js';
import { attributesKey, type MetricAttributes, type MetricFamily, type MetricsSnapshot } from './runtime/metrics.js';

/** One value of a gauge, for one set of attributes. */
export interface GaugePoint {
  readonly attributes: MetricAttributes;
  readonly value: number;
}

/** A gauge the caller measured (e.g. the dashboard's procs by kind and status), rendered as given. */
export interface GaugeFamily {
  /** The Prometheus name, e.g. `procstate_procs`; characters a name cannot hold become `_`. */
  readonly name: string;
  /** What it measures. */
  readonly help: string;
  readonly points: readonly GaugePoint[];
}

/** The `Content-Type` of {@link prometheusText}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One family being rendered: its points summed over the snapshots, by attribute set. */
interface Merged {
  readonly type: 'counter' | 'histogram';
  readonly help: string;
  /** A histogram's buckets, from its first point. */
  buckets: readonly number[] | undefined;
  readonly points: Map<string, { readonly attributes: MetricAttributes; value: number; counts: number[]; sum: number; count: number }>;
}

/**
 * Renders runtime metrics (and the caller's gauges) as Prometheus text. Pure, never reads a store.
 * Snapshots of several runtimes of one process are summed per metric and attribute set, so the
 * process answers as one target. Every metric gets its `# HELP` and `# TYPE` lines, also one
 * with no points yet; points are in the order of their attributes.
 *
 * @param snapshots - `runtime.metrics()` of each runtime to report
 * @param gauges - gauges measured by the caller, rendered after the runtime's metrics
 * @returns the exposition, every line ending with a newline
 * @throws InvalidArgumentError when two metrics of one name disagree on type or buckets, or a
 *   gauge takes the name of another metric.
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { PROMETHEUS_CONTENT_TYPE, prometheusText } from 'procstate';
 *
 * createServer((request, response) => {
 *   response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
 *   response.end(prometheusText([runtime.metrics()]));
 * }).listen(9464, '127.0.0.1');
 * ```
 */
export function prometheusText(snapshots: readonly MetricsSnapshot[], gauges: readonly GaugeFamily[] = []): string {
  if (!Array.isArray(snapshots) || !Array.isArray(gauges)) throw new InvalidArgumentError('prometheusText takes an array of snapshots and an array of gauges.');
  const families = new Map<string, Merged>();
  for (const snapshot of snapshots) for (const family of snapshot) merge(families, family);
  const lines: string[] = [];
  for (const [name, family] of families) {
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`);
    for (const point of sorted(family.points)) {
      if (family.type === 'counter') {
        lines.push(`${name}${labels(point.attributes)} ${number(point.value)}`);
        continue;
      }
      let cumulative = 0;
      const bounds = [...(family.buckets ?? []), Number.POSITIVE_INFINITY];
      bounds.forEach((bound, index) => {
        cumulative += point.counts[index] ?? 0;
        lines.push(`${name}_bucket${labels(point.attributes, number(bound))} ${number(cumulative)}`);
      });
      lines.push(`${name}_sum${labels(point.attributes)} ${number(point.sum)}`, `${name}_count${labels(point.attributes)} ${number(point.count)}`);
    }
  }
  const names = new Set(families.keys());
  for (const gauge of gauges) {
    const name = metricName(gauge.name);
    if (names.has(name)) throw new InvalidArgumentError(`The gauge ${name} has the name of another metric.`);
    names.add(name);
    lines.push(`# HELP ${name} ${escapeHelp(gauge.help)}`, `# TYPE ${name} gauge`);
    for (const point of gauge.points) lines.push(`${name}${labels(point.attributes)} ${number(point.value)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Adds a family's points to the one of its name, summing them per attribute set. */
function merge(families: Map<string, Merged>, family: MetricFamily): void {
  const name = prometheusName(family);
  let merged = families.get(name);
  if (merged === undefined) families.set(name, (merged = { type: family.type, help: family.help, buckets: undefined, points: new Map() }));
  if (merged.type !== family.type) throw new InvalidArgumentError(`The metric ${name} is a ${merged.type} in one snapshot and a ${family.type} in another.`);
  const pointFor = (attributes: MetricAttributes) => {
    const key = attributesKey(attributes);
    let point = merged.points.get(key);
    if (point === undefined) merged.points.set(key, (point = { attributes, value: 0, counts: [], sum: 0, count: 0 }));
    return point;
  };
  if (family.type === 'counter') {
    for (const point of family.points) pointFor(point.attributes).value += point.value;
    return;
  }
  for (const point of family.points) {
    merged.buckets ??= point.buckets;
    // Bucket counts add up only over the same bounds.
    if (!sameNumbers(merged.buckets, point.buckets)) throw new InvalidArgumentError(`The histogram ${name} has different buckets in different snapshots.`);
    const into = pointFor(point.attributes);
    into.counts = point.counts.map((count, index) => count + (into.counts[index] ?? 0));
    into.sum += point.sum;
    into.count += point.count;
  }
}

/** The Prometheus name of a runtime metric (see the module comment). */
function prometheusName(family: MetricFamily): string {
  let name = metricName(family.name);
  if (family.unit === 's' && !name.endsWith('_seconds')) name += '_seconds';
  if (family.type === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

function metricName(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(clean) ? `_${clean}` : clean;
}

function labelName(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(clean) ? `_${clean}` : clean;
}

/** `{name="value",…}` in name order, `le` last; nothing when there are no labels. */
function labels(attributes: MetricAttributes, le?: string): string {
  const pairs = Object.entries(attributes)
    .map(([name, value]) => [labelName(name), value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}="${escapeLabel(String(value))}"`);
  if (le !== undefined) pairs.push(`le="${le}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function sorted<T>(points: Map<string, T>): T[] {
  return [...points.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, point]) => point);
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
