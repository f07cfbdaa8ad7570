import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { KindDefinition, ProcRuntime } from 'procstate';
import { createDashboardHandler } from 'procstate/dashboard';

interface AppOptions {
  readonly runtime: ProcRuntime;
  readonly kinds: readonly KindDefinition[];
  readonly token: string; // at least 16 characters; without one the dashboard is read-only
  readonly port: number; // 0 picks a free port
}

/** An Express 5 app with the dashboard at /procstate/ and the app's own routes beside it. */
export async function startExpressApp({ runtime, kinds, token, port }: AppOptions) {
  // Express strips the mount path itself: no basePath.
  const dashboard = createDashboardHandler({ runtime, kinds, token });
  const app = express();
  // Before any body parser: the dashboard reads the actions' JSON bodies itself.
  app.use('/procstate', dashboard);
  app.use(express.json());
  app.post('/api/echo', (request, response) => {
    response.json(request.body);
  });
  const server = app.listen(port, '127.0.0.1');
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
