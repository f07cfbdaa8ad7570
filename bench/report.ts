/**
 * Benchmark results: one shape for every figure, printed as a table and written as JSON.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** One measured figure and the baseline measured in the same run. */
export interface BenchResult {
  readonly group: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: number | undefined;
  readonly baselineName?: string | undefined;
  /** value ÷ baseline, in the unit's own sense (for rates, higher is better; for times, lower is). */
  readonly ratio?: number | undefined;
  readonly notes?: string | undefined;
  readonly store?: string | undefined;
}

function format(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The results as a text table. */
export function table(results: readonly BenchResult[]): string {
  const rows = results.map((result) => [
    result.group,
    result.store ?? '',
    result.name,
    `${format(result.value)} ${result.unit}`,
    result.baseline === undefined ? '' : `${format(result.baseline)} ${result.unit} (${result.baselineName ?? 'baseline'})`,
    result.ratio === undefined ? '' : `${result.ratio.toFixed(2)}×`,
  ]);
  const header = ['group', 'store', 'figure', 'value', 'baseline', 'ratio'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** Writes the results with the machine they came from. */
export function writeResults(path: string, results: readonly BenchResult[], server: string): void {
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, server };
  writeFileSync(path, `${JSON.stringify({ at: new Date().toISOString(), machine, results }, null, 2)}\n`);
}

/** The q-quantile (0..1) of the samples, nearest rank. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** The median of the samples. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 0.5);
}
