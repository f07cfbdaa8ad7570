/**
 * The dashboard's HTTP surface on the memory store, through a real node:http server: what it
 * refuses and how (status and error name), the headers that keep the page safe, the Host check,
 * and the live stream.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardHandler, serveDashboard, type DashboardServer } from '../../src/dashboard/index.js';
import { kinds } from '../../src/demo/demo-kinds.js';
import { createProcRuntime, InvalidArgumentError, type ProcRuntime } from '../../src/index.js';

const TOKEN = 'unit-test-token-0123456789';
let runtime: ProcRuntime;
let server: DashboardServer;

beforeAll(async () => {
  runtime = createProcRuntime({ kinds, sweepIntervalMs: 0 });
  await runtime.start();
  await runtime.create('upload', 'u1');
  server = await serveDashboard(createDashboardHandler({ runtime, kinds, token: TOKEN, refreshMs: 100 }), { port: 0 });
});

afterAll(async () => {
  await server.close();
  await runtime.close();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(new URL(path, server.url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-procstate-token': TOKEN, ...headers }, body });

describe('the dashboard handler', () => {
  it('serves the page with headers that forbid inline script, framing and sniffing', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<script src="assets/app.js" defer></script>');
    expect((await fetch(new URL('assets/../package.json', server.url))).status).toBe(404);
    expect((await fetch(new URL('assets/nothing.js', server.url))).status).toBe(404);
    expect((await fetch(new URL('api/nothing', server.url))).status).toBe(404);
  });

  it('refuses bodies that are not a JSON object of known fields, too large, or of another type, writing nothing', async () => {
    const before = await runtime.history('upload', 'u1');
    const cases: Array<[string, Response, number, string]> = [
      ['text body', await post('api/procs/upload/u1/reset', '{}', { 'content-type': 'text/plain' }), 415, 'HttpError'],
      ['not JSON', await post('api/procs/upload/u1/reset', '{nope'), 400, 'InvalidArgumentError'],
      ['an array', await post('api/procs/upload/u1/reset', '[]'), 400, 'InvalidArgumentError'],
      ['unknown field', await post('api/procs/upload/u1/reset', '{"force":true,"$where":"1"}'), 400, 'InvalidArgumentError'],
      ['force not boolean', await post('api/procs/upload/u1/reset', '{"force":"yes"}'), 400, 'InvalidArgumentError'],
      ['unknown process', await post('api/procs/upload/u1/call', '{"process":"proces_upload"}'), 400, 'UnknownProcessError'],
      ['unknown action', await post('api/procs/upload/u1/delete', '{}'), 404, 'HttpError'],
      ['unknown kind', await post('api/procs/nokind/u1/reset', '{}'), 400, 'UnknownKindError'],
      ['too large', await post('api/procs/upload/u1/call', JSON.stringify({ process: 'process_upload', args: 'x'.repeat(70_000) })), 413, 'HttpError'],
    ];
    for (const [what, response, status, error] of cases) {
      expect({ what, status: response.status, error: ((await response.json()) as { error: string }).error }).toEqual({ what, status, error });
    }
    expect(await runtime.history('upload', 'u1')).toEqual(before);
    const put = await fetch(new URL('api/overview', server.url), { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
  });

  it('answers an action the machine refuses with 409 and its reason', async () => {
    await runtime.create('upload', 'u-running');
    await runtime.call('upload', 'u-running', 'process_upload', { entries: 0, seed: 1, stepMs: 0 });
    await runtime.waitForCompletion('upload', 'u-running');
    const terminate = await post('api/procs/upload/u-running/terminate', '{}');
    expect(terminate.status).toBe(409);
    expect(((await terminate.json()) as { error: string }).error).toBe('InvalidTransitionError');
  });

  it('answers on loopback only to loopback host names', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(server.url);
      request({ host: url.hostname, port: url.port, path: '/api/overview', headers: { host: 'rebound.example:80' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(421);
  });

  it('streams the overview as server-sent events, again whenever it changes', async () => {
    const abort = new AbortController();
    const response = await fetch(new URL('api/events', server.url), { signal: abort.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const nextOverview = async (): Promise<{ kinds: Array<{ name: string; total: number }> }> => {
      for (;;) {
        const end = text.indexOf('\n\n', text.indexOf('event: overview'));
        if (text.includes('event: overview') && end >= 0) {
          const frame = text.slice(text.indexOf('event: overview'), end);
          text = text.slice(end + 2);
          return JSON.parse(frame.split('\n').find((line) => line.startsWith('data: '))?.slice(6) ?? 'null') as { kinds: Array<{ name: string; total: number }> };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        text += decoder.decode(value, { stream: true });
      }
    };
    const first = await nextOverview();
    const uploads = first.kinds.find((kind) => kind.name === 'upload')?.total ?? -1;
    await runtime.create('upload', 'u-streamed');
    const second = await nextOverview();
    expect(second.kinds.find((kind) => kind.name === 'upload')?.total).toBe(uploads + 1);
    abort.abort();
  });

  it('serves /metrics in the Prometheus text format: procs by status from the store, and the runtime\'s counters', async () => {
    const response = await fetch(new URL('metrics', server.url));
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    const counts = await runtime.countByStatus('upload');
    expect(text).toContain(`procstate_procs{kind="upload",status="READY"} ${counts.READY}\n`);
    expect(text).toContain(`procstate_procs{kind="entry",status="SUCCESS"} 0\n`);
    expect(text).toContain('# TYPE procstate_transitions_total counter\n');
    expect(text).toMatch(/procstate_transitions_total\{cause="created",kind="upload",to="READY"\} \d+\n/);
  });

  it('refuses an action whose body a parser in front already read, instead of acting on an empty body', async () => {
    const handler = createDashboardHandler({ runtime, kinds, token: TOKEN });
    const eager = createServer((request, response) => {
      request.resume();
      request.on('end', () => handler(request, response));
    });
    await new Promise<void>((resolve) => eager.listen(0, '127.0.0.1', resolve));
    try {
      const before = await runtime.history('upload', 'u1');
      const response = await fetch(`http://127.0.0.1:${(eager.address() as AddressInfo).port}/api/procs/upload/u1/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-procstate-token': TOKEN },
        body: '{"force":"yes"}',
      });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: string }).error).toBe('BodyAlreadyRead');
      expect(await runtime.history('upload', 'u1')).toEqual(before);
    } finally {
      handler.close();
      await new Promise((resolve) => eager.close(resolve));
    }
  });

  it('is made only with a store or a runtime, and a token of 16 characters or more', () => {
    expect(() => createDashboardHandler({ kinds })).toThrow(InvalidArgumentError);
    expect(() => createDashboardHandler({ runtime, kinds, token: 'short' })).toThrow(InvalidArgumentError);
    expect(() => createDashboardHandler({ runtime, kinds: [...kinds, ...kinds] })).toThrow(InvalidArgumentError);
    expect(() => createDashboardHandler({ runtime, kinds, refreshMs: 0 })).toThrow(InvalidArgumentError);
  });
});
