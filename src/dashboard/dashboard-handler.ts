/**
 * The dashboard as one request handler with the signature node:http, Express and Connect use
 * (`(request, response, next?)`), so it mounts anywhere Node serves HTTP. It serves the page and
 * its assets (shipped in the package: it works offline), a JSON API the page reads, a stream of
 * live updates, the admin actions, and `/metrics`.
 *
 * Safe by construction: the page renders every stored value as text (and a Content-Security-
 * Policy forbids inline script besides); every value from the URL or a body goes through the
 * store's and the runtime's own validation, and a malformed one is a 400 that says why; query
 * parameters nobody defined are refused rather than ignored; actions need the token in a header
 * (never a cookie, so another site cannot make the browser send it), and without a configured
 * token the dashboard is read-only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InspectionEvent } from 'xstate';
import { InvalidArgumentError, InvalidTransitionError, ProcessAlreadyRunningError, ProcNotFoundError, ProcstateMisuseError, TransitionConflictError } from '../../machines/errors.js';
import { PROCESS_STATUSES, type ProcessStatus } from '../../machines/process-status.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { JsonValue } from '../define-kind.js';
import type { ProcRuntime } from '../runtime/proc-runtime.js';
import { positive } from '../runtime/texts.js';
import { assertProcId } from '../../persistence/validate.js';
import { DashboardData, type DashboardKind, type ListQuery } from './dashboard-data.js';
import { LiveFeed } from './live-feed.js';
import { machineLayout } from './machine-layout.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics-text.js';
import { dashboardMetricsText, type MetricsSource } from './metrics-endpoint.js';

/** Options of {@link createDashboardHandler}. Give a runtime (actions possible) or a store (read-only). */
export interface DashboardOptions {
  /** The runtime the actions go through; its store is read, and its transitions update pages at once. */
  readonly runtime?: ProcRuntime | undefined;
  /** The store to read when no runtime is given (read-only dashboard). */
  readonly store?: ProcStore | undefined;
  /** The kinds to show: `KindDefinition`s, or just names with their parents. */
  readonly kinds: readonly DashboardKind[];
  /**
   * The admin token. Actions (call, reset, terminate) need it in the `x-procstate-token`
   * header; without a token configured the dashboard is read-only.
   */
  readonly token?: string | undefined;
  /**
   * The path the dashboard is mounted at, for servers that pass the full URL (node:http,
   * Fastify, Hono); Express strips its mount path itself, so leave it empty there. @defaultValue ''
   */
  readonly basePath?: string | undefined;
  /** How often open pages are refreshed, in milliseconds. @defaultValue 1000 */
  readonly refreshMs?: number | undefined;
  /** A proc processing for longer than this shows as stuck, in milliseconds. @defaultValue 600000 */
  readonly stuckAfterMs?: number | undefined;
  /** Runtimes whose metrics `/metrics` reports besides the counts of procs (the given runtime's by default). */
  readonly metrics?: readonly MetricsSource[] | undefined;
  /** Where errors of the live feed go. @defaultValue console.error */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** A request handler for node:http, Express and Connect, with the dashboard's live parts. */
export interface DashboardHandler {
  (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void;
  /**
   * An XState inspection observer: pass it as the `inspect` option of runtimes the dashboard
   * was not given (workers in the same process), and proc pages update on each of their
   * transitions too.
   */
  readonly inspect: (event: InspectionEvent) => void;
  /** Ends the live streams and stops listening to the runtime. */
  close(): void;
}

/** The header that carries the admin token. */
export const TOKEN_HEADER = 'x-procstate-token';

const MAX_BODY_BYTES = 64 * 1024;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};
const LIST_PARAMETERS = new Set(['status', 'parent', 'prefix', 'after', 'limit']);
const STREAM_PARAMETERS = new Set(['kind', 'id']);

/** An HTTP error with its status and a message for the page. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorName = 'HttpError',
  ) {
    super(message);
  }
}

/**
 * The dashboard as a request handler.
 * @throws InvalidArgumentError when neither a runtime nor a store is given, or a kind is given twice
 */
export function createDashboardHandler(options: DashboardOptions): DashboardHandler {
  const store = options.runtime?.store ?? options.store;
  if (store === undefined) throw new InvalidArgumentError('createDashboardHandler needs a `runtime` or a `store`.');
  const names = options.kinds.map((kind) => kind.name);
  if (new Set(names).size !== names.length) throw new InvalidArgumentError(`createDashboardHandler was given a kind twice: ${names.join(', ')}.`);
  const refreshMs = positive(options.refreshMs, 1000, 'refreshMs');
  const data = new DashboardData(store, options.kinds, positive(options.stuckAfterMs, 600_000, 'stuckAfterMs'));
  const onError = options.onError ?? ((error: unknown) => console.error('procstate dashboard:', error));
  const feed = new LiveFeed(data, refreshMs, onError);
  const runtime = options.runtime;
  const unsubscribe = runtime?.subscribe((notice) => feed.nudge(notice.kind, notice.id));
  const metricsSources = options.metrics ?? (runtime === undefined ? [] : [runtime]);
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);
  if (options.token !== undefined && options.token.length < 16) throw new InvalidArgumentError('A dashboard token must be at least 16 characters.');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const assets = new Map<string, Buffer>();

  const routes = async (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void> => {
    const method = request.method ?? 'GET';
    const segments = path.split('/').filter((segment) => segment !== '').map(decodeSegment);
    if (method === 'GET' || method === 'HEAD') {
      if (segments.length === 0) {
        // The page loads its assets by relative URLs, so its own URL must end in a slash.
        const original = new URL((request as { originalUrl?: string }).originalUrl ?? request.url ?? '/', 'http://dashboard.invalid');
        if (!original.pathname.endsWith('/')) {
          response.writeHead(308, { location: `${original.pathname}/${original.search}` });
          response.end();
          return;
        }
        return sendAsset(response, 'index.html');
      }
      if (segments[0] === 'assets' && segments.length === 2) return sendAsset(response, segments[1] as string);
      if (segments[0] === 'favicon.ico' && segments.length === 1) return sendAsset(response, 'favicon.svg');
      if (segments[0] === 'metrics' && segments.length === 1) {
        const text = await dashboardMetricsText(data, metricsSources);
        return send(response, 200, PROMETHEUS_CONTENT_TYPE, text);
      }
      if (segments[0] !== 'api') throw new HttpError(404, `No page at ${path}.`);
      const [, what, kind, id, extra] = segments;
      if (what === 'meta' && kind === undefined) {
        return sendJson(response, 200, { kinds: data.kinds.map(kindSummary), layout: machineLayout(), statuses: PROCESS_STATUSES, actions: tokenDigest !== undefined && runtime !== undefined, refreshMs });
      }
      if (what === 'overview' && kind === undefined) return sendJson(response, 200, await data.overview());
      if (what === 'kinds' && kind !== undefined && id === 'procs' && extra === undefined) return sendJson(response, 200, await data.list(kind, listQuery(query)));
      if (what === 'procs' && kind !== undefined && id !== undefined && extra === undefined) return sendJson(response, 200, await data.proc(kind, id));
      if (what === 'events' && kind === undefined) return stream(response, query);
      throw new HttpError(404, `No API at ${path}.`);
    }
    if (method === 'POST') {
      const [api, what, kind, id, action, extra] = segments;
      if (api !== 'api' || what !== 'procs' || kind === undefined || id === undefined || action === undefined || extra !== undefined) throw new HttpError(404, `No action at ${path}.`);
      authorize(request);
      if (runtime === undefined) throw new HttpError(403, 'This dashboard has no runtime to act through; it is read-only.');
      data.kind(kind);
      const body = await readJsonBody(request);
      return sendJson(response, 200, await act(runtime, kind, id, action, body));
    }
    response.setHeader('allow', 'GET, HEAD, POST');
    throw new HttpError(405, `Method ${method} is not allowed.`);
  };

  const stream = (response: ServerResponse, query: URLSearchParams): void => {
    assertParameters(query, STREAM_PARAMETERS);
    const kind = query.get('kind');
    const id = query.get('id');
    if ((kind === null) !== (id === null)) throw new HttpError(400, 'A proc stream needs both `kind` and `id`.');
    if (kind !== null && id !== null) {
      data.kind(kind);
      assertProcId(id);
    }
    feed.watch(response, kind === null || id === null ? null : { kind, id });
  };

  const authorize = (request: IncomingMessage): void => {
    if (tokenDigest === undefined) throw new HttpError(403, 'This dashboard is read-only: it was started without a token.', 'ReadOnly');
    const given = request.headers[TOKEN_HEADER];
    if (typeof given !== 'string' || given === '') throw new HttpError(401, `Actions need the admin token in the ${TOKEN_HEADER} header.`, 'Unauthorized');
    if (!timingSafeEqual(digest(given), tokenDigest)) throw new HttpError(403, 'The admin token is wrong.', 'Forbidden');
  };

  const sendAsset = async (response: ServerResponse, name: string): Promise<void> => {
    const type = ASSETS[name];
    if (type === undefined) throw new HttpError(404, `No asset ${name}.`);
    let content = assets.get(name);
    if (content === undefined) {
      content = await readFile(new URL(`./assets/${name}`, import.meta.url));
      assets.set(name, content);
    }
    send(response, 200, type, content, name === 'index.html' ? 'no-store' : 'public, max-age=300');
  };

  const handler = (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void => {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    let path = url.pathname;
    if (basePath !== '') {
      if (path !== basePath && !path.startsWith(`${basePath}/`)) {
        if (next !== undefined) return next();
        return sendError(response, new HttpError(404, `The dashboard is at ${basePath}/.`));
      }
      path = path.slice(basePath.length) || '/';
    }
    routes(request, response, path, url.searchParams).catch((error: unknown) => {
      if (response.headersSent) {
        response.end();
        onError(error);
        return;
      }
      sendError(response, error);
      if (!(error instanceof HttpError || error instanceof ProcstateMisuseError)) onError(error);
    });
  };

  return Object.assign(handler, {
    inspect: feed.inspect,
    close: () => {
      unsubscribe?.();
      feed.close();
    },
  });
}

function kindSummary(kind: DashboardKind): Record<string, unknown> {
  return { name: kind.name, parent: kind.parent ?? null, processes: Object.keys(kind.processes ?? {}) };
}

async function act(runtime: ProcRuntime, kind: string, id: string, action: string, body: Record<string, unknown>): Promise<unknown> {
  switch (action) {
    case 'call': {
      assertKeys(body, ['process', 'args']);
      if (typeof body['process'] !== 'string') throw new InvalidArgumentError('A call needs `process`, the name of a process of the kind.');
      return runtime.call(kind, id, body['process'], body['args'] as JsonValue | undefined);
    }
    case 'reset': {
      assertKeys(body, ['force']);
      if (body['force'] !== undefined && typeof body['force'] !== 'boolean') throw new InvalidArgumentError('`force` must be true or false.');
      return runtime.reset(kind, id, { force: body['force'] === true });
    }
    case 'terminate': {
      assertKeys(body, ['reason']);
      return runtime.terminate(kind, id, body['reason'] === undefined ? {} : { reason: body['reason'] as string });
    }
    default:
      throw new HttpError(404, `No action ${JSON.stringify(action)}: the actions are call, reset and terminate.`);
  }
}

function assertKeys(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(`Unknown field ${JSON.stringify(key)}; this action takes ${allowed.join(', ')}.`);
  }
}

function listQuery(query: URLSearchParams): ListQuery {
  assertParameters(query, LIST_PARAMETERS);
  const status = query.get('status') ?? undefined;
  if (status !== undefined && !PROCESS_STATUSES.includes(status as ProcessStatus)) {
    throw new InvalidArgumentError(`status must be one of ${PROCESS_STATUSES.join(', ')}, got ${JSON.stringify(status)}.`);
  }
  const limitText = query.get('limit') ?? undefined;
  if (limitText !== undefined && !/^[1-9][0-9]{0,2}$/.test(limitText)) throw new InvalidArgumentError(`limit must be a whole number from 1 to 500, got ${JSON.stringify(limitText)}.`);
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && limit > 500) throw new InvalidArgumentError(`limit must be a whole number from 1 to 500, got ${limit}.`);
  return {
    status: status as ProcessStatus | undefined,
    parent: query.get('parent') ?? undefined,
    prefix: emptyToUndefined(query.get('prefix')),
    after: emptyToUndefined(query.get('after')),
    limit,
  };
}

function emptyToUndefined(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}

function assertParameters(query: URLSearchParams, allowed: ReadonlySet<string>): void {
  for (const [name] of query) {
    if (!allowed.has(name)) throw new InvalidArgumentError(`Unknown query parameter ${JSON.stringify(name)}; this takes ${[...allowed].join(', ')}.`);
  }
  for (const name of allowed) {
    if (query.getAll(name).length > 1) throw new InvalidArgumentError(`Query parameter ${JSON.stringify(name)} is given more than once.`);
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError(`The path segment ${JSON.stringify(segment.slice(0, 80))} is not valid percent-encoding.`);
  }
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  // A body parser mounted in front (express.json(), Fastify's JSON parser) reads the stream
  // first; acting on an empty body then would ignore what the user sent.
  if (request.readableEnded || (request as { body?: unknown }).body !== undefined) {
    throw new HttpError(500, "The action's body was read before the dashboard: mount the dashboard before any body parser (docs/dashboard.md).", 'BodyAlreadyRead');
  }
  const type = request.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) throw new HttpError(415, 'Actions take a JSON body (content-type: application/json).');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `An action's body is limited to ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('The body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidArgumentError('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, cache = 'no-store'): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': cache, 'content-length': Buffer.byteLength(body) });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function sendError(response: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) return sendJson(response, error.status, { error: error.errorName, message: error.message });
  if (error instanceof ProcNotFoundError) return sendJson(response, 404, { error: error.name, message: error.message });
  // The proc is not in a status that allows the action, or another writer moved it meanwhile.
  if (error instanceof InvalidTransitionError || error instanceof ProcessAlreadyRunningError || error instanceof TransitionConflictError) {
    return sendJson(response, 409, { error: error.name, message: error.message });
  }
  if (error instanceof InvalidArgumentError && error.issues.length > 0) return sendJson(response, 400, { error: error.name, message: error.message, issues: error.issues });
  if (error instanceof ProcstateMisuseError) return sendJson(response, 400, { error: error.name, message: error.message });
  if (error instanceof Error && error.name === 'SyntaxError') return sendJson(response, 400, { error: 'BadRequest', message: error.message });
  sendJson(response, 500, { error: 'InternalError', message: 'The dashboard could not answer; the error went to its log.' });
}
