/**
 * The dashboard mounted at /procstate in node:http, Express 5, Fastify 5 and Hono 4 (on
 * @hono/node-server), each through its docs/examples/dashboard-*.ts file verbatim, answering
 * real HTTP requests: the page and its assets, the JSON API, the trailing-slash redirect, the
 * token on actions, action bodies that reach the handler unread, a refused query parameter, the
 * live stream, and the app's own routes beside the dashboard. Memory store, no database.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startExpressApp } from '../../docs/examples/dashboard-express.js';
import { startFastifyApp } from '../../docs/examples/dashboard-fastify.js';
import { startHonoApp } from '../../docs/examples/dashboard-hono.js';
import { startNodeHttpApp } from '../../docs/examples/dashboard-node-http.js';
import { kinds } from '../../src/demo/demo-kinds.js';
import { createProcRuntime, PROCESS_STATUSES, type ProcRuntime } from '../../src/index.js';

// The examples import the package by name, as users do; here that name means the source (tsx
// and tsc read it from tsconfig.json's paths, Vite does not), the same module instances the
// test uses, so the handler recognises the runtime's error classes.
vi.mock('procstate/dashboard', () => import('../../src/dashboard/index.js'));

const TOKEN = 'a-mount-test-token-0123456789';
const IDS = ['u1', 'u2', 'u3'];

type StartApp = typeof startNodeHttpApp;
type App = Awaited<ReturnType<StartApp>>;

interface Framework {
  readonly name: string;
  readonly start: StartApp;
  /** What HEAD <mount>/ answers: the page's headers, or 405 where the framework answers HEAD itself (Hono). */
  readonly head: 200 | 405;
  readonly ownRoute: (origin: string) => Promise<void>;
}

const frameworks: readonly Framework[] = [
  {
    name: 'node:http',
    start: startNodeHttpApp,
    head: 200,
    ownRoute: async (origin) => {
      const response = await fetch(`${origin}/elsewhere`);
      expect(response.status).toBe(404);
      expect(await response.text()).toBe('Not found\n');
    },
  },
  { name: 'Express', start: startExpressApp, head: 200, ownRoute: expectEcho },
  { name: 'Fastify', start: startFastifyApp, head: 200, ownRoute: expectEcho },
  { name: 'Hono', start: startHonoApp, head: 405, ownRoute: expectEcho },
];

/** The app's own JSON route still parses its body: the dashboard's body handling stayed local. */
async function expectEcho(origin: string): Promise<void> {
  const response = await fetch(`${origin}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"echo":[1,2]}' });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ echo: [1, 2] });
}

function counts(overrides: Partial<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(PROCESS_STATUSES.map((status) => [status, overrides[status] ?? 0]));
}

describe.each(frameworks)('the dashboard mounted in $name', ({ start, head, ownRoute }) => {
  let runtime: ProcRuntime;
  let app: App;
  let base: string; // http://127.0.0.1:<port>/procstate, without the trailing slash
  let origin: string;

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  beforeAll(async () => {
    runtime = createProcRuntime({ kinds, sweepIntervalMs: 0 });
    await runtime.start();
    for (const id of IDS) await runtime.create('upload', id);
    app = await start({ runtime, kinds, token: TOKEN, port: 0 });
    base = app.url.replace(/\/$/, '');
    origin = new URL(app.url).origin;
  });

  afterAll(async () => {
    await app?.close();
    await runtime?.close();
  });

  it('serves the page at <mount>/ and its assets beside it', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<title>procstate</title>');
    expect(html).toContain('<script src="assets/app.js" defer></script>');
    const script = await fetch(new URL('assets/app.js', page.url));
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it("answers HEAD <mount>/ with the page's headers and no body, or refuses it", async () => {
    const response = await fetch(`${base}/`, { method: 'HEAD' });
    expect(response.status).toBe(head);
    if (head === 200) {
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; /);
    } else {
      expect(response.headers.get('allow')).toBe('GET, POST');
    }
    expect(await response.text()).toBe('');
  });

  it('redirects <mount> to <mount>/, keeping the query', async () => {
    const response = await fetch(base, { redirect: 'manual' });
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('/procstate/');
    const withQuery = await fetch(`${base}?from=test`, { redirect: 'manual' });
    expect(withQuery.status).toBe(308);
    expect(withQuery.headers.get('location')).toBe('/procstate/?from=test');
  });

  it('answers the overview with the counts of every kind', async () => {
    const response = await fetch(`${base}/api/overview`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const overview = (await response.json()) as { kinds: unknown[]; processing: unknown[] };
    expect(overview.kinds).toEqual([
      { name: 'upload', parent: null, counts: counts({ READY: 3 }), total: 3 },
      { name: 'entry', parent: 'upload', counts: counts({}), total: 0 },
    ]);
    expect(overview.processing).toEqual([]);
  });

  it('refuses an unknown query parameter with a 400 that names it', async () => {
    const response = await fetch(`${base}/api/kinds/upload/procs?limit=2&colour=red`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'InvalidArgumentError',
      message: 'Unknown query parameter "colour"; this takes status, parent, prefix, after, limit.',
    });
  });

  it('refuses an action without the token, and carries one out with it', async () => {
    const without = await post('/api/procs/upload/u1/reset', '{}');
    expect(without.status).toBe(401);
    expect(await without.json()).toEqual({ error: 'Unauthorized', message: 'Actions need the admin token in the x-procstate-token header.' });
    expect((await runtime.history('upload', 'u1')).map((record) => record.cause)).toEqual(['created']);

    const reset = await post('/api/procs/upload/u1/reset', '{}', { 'x-procstate-token': TOKEN });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toMatchObject({ process_status: 'READY' });
    expect((await runtime.history('upload', 'u1')).map((record) => record.cause)).toEqual(['created', 'proc.reset']);
  });

  it('gets the action body unread: a bad field in it is the 400 the handler gives', async () => {
    // Had the framework parsed the body first, the handler would read nothing and reset u2.
    const response = await post('/api/procs/upload/u2/reset', '{"force":"yes"}', { 'x-procstate-token': TOKEN });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'InvalidArgumentError', message: '`force` must be true or false.' });
    expect((await runtime.history('upload', 'u2')).map((record) => record.cause)).toEqual(['created']);
  });

  it("leaves the app's own routes to the app", async () => {
    await ownRoute(origin);
  });

  // Last: after a stream is aborted, fetch opens a spare connection that the server's close
  // would wait for until fetch drops it, seconds later.
  it('streams live updates, starting with the overview', async () => {
    const abort = new AbortController();
    const response = await fetch(`${base}/api/events`, { signal: abort.signal });
    try {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      // The stream opens with a `retry:` line, then the first overview frame.
      while (!/event: overview\ndata: [^\n]*\n\n/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      const frame = /event: overview\ndata: ([^\n]*)\n\n/.exec(text);
      expect(frame).not.toBeNull();
      const overview = JSON.parse((frame as RegExpExecArray)[1] as string) as { kinds: Array<{ name: string; total: number }> };
      expect(overview.kinds.map(({ name, total }) => [name, total])).toEqual([['upload', 3], ['entry', 0]]);
    } finally {
      abort.abort();
    }
  });
});
