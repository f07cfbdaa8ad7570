/**
 * A node:http server for the dashboard, as `procstate dashboard` and `procstate demo
 * --dashboard` run it: on 127.0.0.1 unless told otherwise. On a loopback address it also checks
 * the Host header, so a web page elsewhere cannot reach it through a DNS name that points at
 * 127.0.0.1 (DNS rebinding).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DashboardHandler } from './dashboard-handler.js';

/** Options of {@link serveDashboard}. */
export interface ServeOptions {
  /** @defaultValue 4000; 0 picks a free port */
  readonly port?: number | undefined;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string | undefined;
}

/** A running dashboard server. */
export interface DashboardServer {
  /** Where it listens, e.g. `http://127.0.0.1:4000/`. */
  readonly url: string;
  readonly server: Server;
  /** Stops listening, ends open streams and connections. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Serves `handler` with node:http. */
export async function serveDashboard(handler: DashboardHandler, options: ServeOptions = {}): Promise<DashboardServer> {
  const host = options.host ?? '127.0.0.1';
  const loopback = LOOPBACK.has(host);
  const server = createServer((request, response) => {
    if (loopback && !isLoopbackHost(request.headers.host)) {
      response.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('This dashboard answers only to localhost, 127.0.0.1 and [::1].\n');
      return;
    }
    handler(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    server,
    close: async () => {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isLoopbackHost(header: string | undefined): boolean {
  if (header === undefined) return false;
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d+$/, '');
  return LOOPBACK.has(name.toLowerCase());
}
