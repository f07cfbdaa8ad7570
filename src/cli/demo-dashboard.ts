/**
 * `procstate demo --dashboard`: the demo's runtime, kept open, with the dashboard served on it,
 * so that a newcomer sees the upload's machine and its entries moving with the README's second
 * command. The admin token is made up for the session and printed, as notebook servers do.
 */
import { randomBytes } from 'node:crypto';
import type { KindDefinition } from '../define-kind.js';
import { createDashboardHandler } from '../dashboard/dashboard-handler.js';
import { serveDashboard, type DashboardServer } from '../dashboard/serve-dashboard.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';

/** The served dashboard of a demo. */
export interface DemoDashboard {
  readonly server: DashboardServer;
  readonly token: string;
}

/** Serves the dashboard on the demo's runtime. */
export async function serveDemoDashboard(runtime: ProcRuntime, kinds: readonly KindDefinition[], port: number, host: string): Promise<DemoDashboard> {
  const token = randomBytes(18).toString('base64url');
  const handler = createDashboardHandler({ runtime, kinds, token, refreshMs: 500 });
  return { server: await serveDashboard(handler, { port, host }), token };
}
