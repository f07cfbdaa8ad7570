import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KindDefinition, ProcRuntime } from 'procstate';
import { createDashboardHandler } from 'procstate/dashboard';

interface AppOptions {
  readonly runtime: ProcRuntime;
  readonly kinds: readonly KindDefinition[];
  readonly token: string; // at least 16 characters; without one the dashboard is read-only
  readonly port: number; // 0 picks a free port
}

/** A node:http server with the dashboard at /procstate/ and the app's own routes beside it. */
export async function startNodeHttpApp({ runtime, kinds, token, port }: AppOptions) {
  // node:http passes the full URL, so the handler is told where it is mounted.
  const dashboard = createDashboardHandler({ runtime, kinds, token, basePath: '/procstate' });
  const server = createServer((request, response) => {
    // Outside /procstate the handler calls `next`: the rest of the app.
    dashboard(request, response, () => {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/procstate/`,
    close: async () => {
      dashboard.close(); // ends the live streams, which would keep the server open
      server.close();
      await once(server, 'close');
    },
  };
}
