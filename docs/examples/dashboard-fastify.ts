import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { KindDefinition, ProcRuntime } from 'procstate';
import { createDashboardHandler } from 'procstate/dashboard';

interface AppOptions {
  readonly runtime: ProcRuntime;
  readonly kinds: readonly KindDefinition[];
  readonly token: string; // at least 16 characters; without one the dashboard is read-only
  readonly port: number; // 0 picks a free port
}

/** A Fastify 5 app with the dashboard at /procstate/ and the app's own routes beside it. */
export async function startFastifyApp({ runtime, kinds, token, port }: AppOptions) {
  // Fastify passes the full URL on to the raw request, so the handler is told where it is mounted.
  const dashboard = createDashboardHandler({ runtime, kinds, token, basePath: '/procstate' });
  const app = Fastify();
  app.post('/api/echo', async (request) => request.body); // the app keeps Fastify's JSON parser
  // In a plugin of its own, so that only the dashboard's routes leave bodies unread.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _body, done) => done(null));
    const mount = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack(); // the dashboard answers on the raw response; Fastify sends nothing
      dashboard(request.raw, reply.raw);
    };
    scope.all('/procstate', mount);
    scope.all('/procstate/*', mount);
  });
  // preClose runs before Fastify waits for open requests: the live streams must end first.
  app.addHook('preClose', async () => dashboard.close());
  const address = await app.listen({ port, host: '127.0.0.1' });
  return {
    url: `${address}/procstate/`,
    close: () => app.close(),
  };
}
