import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import type { KindDefinition, ProcRuntime } from 'procstate';
import { createDashboardHandler } from 'procstate/dashboard';

interface AppOptions {
  readonly runtime: ProcRuntime;
  readonly kinds: readonly KindDefinition[];
  readonly token: string; // at least 16 characters; without one the dashboard is read-only
  readonly port: number; // 0 picks a free port
}

/** A Hono 4 app on Node (@hono/node-server) with the dashboard at /procstate/ and the app's own routes beside it. */
export async function startHonoApp({ runtime, kinds, token, port }: AppOptions) {
  // The handler gets Node's own request, with the full URL: it is told where it is mounted.
  const dashboard = createDashboardHandler({ runtime, kinds, token, basePath: '/procstate' });
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.post('/api/echo', async (c) => c.json(await c.req.json()));
  // `/procstate/*` matches `/procstate` too. The handler answers on Node's response (and reads
  // Node's request, which Hono leaves unread); RESPONSE_ALREADY_SENT tells Hono to send nothing.
  app.all('/procstate/*', (c) => {
    // Hono answers HEAD itself, with the headers the GET route returns: refuse it instead.
    if (c.req.method === 'HEAD') return c.body(null, 405, { allow: 'GET, POST' });
    dashboard(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
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
