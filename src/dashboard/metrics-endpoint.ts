/**
 * The dashboard's `/metrics`: the number of procs of every kind in every status (read from the
 * store, so it is true across all workers), and the counters and histograms of the runtimes in
 * this process (docs/metrics.md), in the Prometheus text format.
 */
import { PROCESS_STATUSES } from '../../machines/process-status.js';
import { prometheusText } from '../metrics-text.js';
import type { MetricsSnapshot } from '../runtime/metrics.js';
import type { DashboardData } from './dashboard-data.js';

/** Something whose metrics `/metrics` reports: a runtime. */
export interface MetricsSource {
  /** The source's counters and histograms now (a runtime's `metrics()`). */
  metrics(): MetricsSnapshot;
}

/** The Prometheus text of the dashboard's `/metrics`. */
export async function dashboardMetricsText(data: DashboardData, sources: readonly MetricsSource[]): Promise<string> {
  const points = (await data.counts()).flatMap(({ kind, counts }) => PROCESS_STATUSES.map((status) => ({ attributes: { kind, status }, value: counts[status] })));
  return prometheusText(
    sources.map((source) => source.metrics()),
    [{ name: 'procstate_procs', help: 'Procs of a kind in a status, read from the store.', points }],
  );
}
