/**
 * `procstate/dashboard`: the web dashboard as a request handler for node:http, Express,
 * Connect, Fastify and Hono, and a small server for it.
 * @module procstate/dashboard
 */
export { createDashboardHandler, TOKEN_HEADER } from './dashboard-handler.js';
export type { DashboardHandler, DashboardOptions } from './dashboard-handler.js';
export type { MetricsSource } from './metrics-endpoint.js';
export type { DashboardKind, Overview, ProcessingRow, ListPage, ListRow, ListQuery, ProcPage, LedgerRow } from './dashboard-data.js';
export { serveDashboard } from './serve-dashboard.js';
export type { DashboardServer, ServeOptions } from './serve-dashboard.js';
export { machineLayout } from './machine-layout.js';
export type { MachineLayout, LayoutNode, LayoutEdge, LayoutEvent, LayoutPoint } from './machine-layout.js';
