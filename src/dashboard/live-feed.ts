/**
 * The dashboard's live updates as server-sent events. Pages subscribe to the overview or to one
 * proc; one shared loop reads what they watch (so ten open tabs cost what one does) and sends
 * only what changed. The loop runs only while somebody watches. It polls, because change
 * streams are not on every MongoDB-compatible server (FerretDB has none); a runtime's committed
 * transitions, or XState inspection events, nudge it so a watched proc updates at once.
 */
import type { ServerResponse } from 'node:http';
import type { InspectionEvent } from 'xstate';
import type { DashboardData } from './dashboard-data.js';

interface Watcher {
  readonly response: ServerResponse;
  /** `<kind>/<id>` of the watched proc, or null for the overview. */
  readonly proc: { readonly kind: string; readonly id: string } | null;
}

// A comment line every so often keeps proxies and browsers from closing an idle stream.
const KEEPALIVE_MS = 15_000;
// Nudges closer together than this are served by one read.
const NUDGE_DELAY_MS = 50;
// Between two reads the database rests at least this many times as long as the last read took:
// on a large collection of a server that counts in its own memory (FerretDB: about 20 s for
// the overview of 100,000 procs) the feed must not keep it busy.
const REST_FACTOR = 4;

/** One loop of reads shared by every open stream of one dashboard. */
export class LiveFeed {
  readonly #data: DashboardData;
  readonly #refreshMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #watchers = new Set<Watcher>();
  // What each topic last sent, so only changes go out.
  readonly #sent = new Map<string, string>();
  // Procs nudged since the last read, with the inspection event that nudged them, if any.
  readonly #nudged = new Map<string, string | null>();
  #timer: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #nudge: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  // When the database may be read again (see REST_FACTOR).
  #restUntil = 0;
  #closed = false;

  constructor(data: DashboardData, refreshMs: number, onError: (error: unknown) => void) {
    this.#data = data;
    this.#refreshMs = refreshMs;
    this.#onError = onError;
  }

  /** Opens an event stream on `response` for the overview (proc null) or one proc. */
  watch(response: ServerResponse, proc: { readonly kind: string; readonly id: string } | null): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${Math.max(this.#refreshMs, 1000)}\n\n`);
    const watcher: Watcher = { response, proc };
    this.#watchers.add(watcher);
    response.on('close', () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0) this.#stop();
    });
    // A new page gets the current state at once, even if another page saw it already.
    this.#sent.delete(topicOf(proc));
    this.#start();
    this.#schedule();
  }

  /** A proc changed (a runtime committed a transition): watchers of it and of the overview hear soon. */
  nudge(kind: string, id: string, inspection: string | null = null): void {
    if (this.#closed || this.#watchers.size === 0) return;
    this.#nudged.set(`${kind}/${id}`, inspection);
    this.#schedule();
  }

  /** An XState inspection observer: each mirrored snapshot nudges its proc. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot' && event.type !== '@xstate.event') return;
    // The runtime names each proc's mirror actor `<kind>/<id>` (inspection.ts).
    const name = (event.actorRef as { readonly id?: unknown }).id;
    if (typeof name !== 'string') return;
    const slash = name.indexOf('/');
    if (slash <= 0) return;
    const inspection = event.type === '@xstate.event' ? event.event.type : null;
    this.nudge(name.slice(0, slash), name.slice(slash + 1), inspection);
  };

  /** Ends every stream and the loop. */
  close(): void {
    this.#closed = true;
    for (const watcher of this.#watchers) watcher.response.end();
    this.#watchers.clear();
    this.#stop();
  }

  #start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.#schedule(), this.#refreshMs);
    this.#keepalive = setInterval(() => {
      for (const watcher of this.#watchers) watcher.response.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    this.#timer.unref();
    this.#keepalive.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#keepalive);
    clearTimeout(this.#nudge);
    this.#timer = undefined;
    this.#keepalive = undefined;
    this.#nudge = undefined;
  }

  #schedule(): void {
    if (this.#nudge !== undefined || this.#closed) return;
    this.#nudge = setTimeout(
      () => {
        this.#nudge = undefined;
        void this.#read();
      },
      Math.max(NUDGE_DELAY_MS, this.#restUntil - Date.now()),
    );
    this.#nudge.unref();
  }

  // One read at a time; a request during a read waits for the next one.
  async #read(): Promise<void> {
    if (this.#reading !== undefined) {
      await this.#reading;
      this.#schedule();
      return;
    }
    const started = Date.now();
    this.#reading = this.#readOnce().catch(this.#onError);
    await this.#reading;
    this.#reading = undefined;
    this.#restUntil = Date.now() + (Date.now() - started) * REST_FACTOR;
  }

  async #readOnce(): Promise<void> {
    const nudged = new Map(this.#nudged);
    this.#nudged.clear();
    const topics = new Map<string, Watcher['proc']>();
    for (const watcher of this.#watchers) topics.set(topicOf(watcher.proc), watcher.proc);
    for (const [topic, proc] of topics) {
      if (proc === null) {
        const { at: _at, ...overview } = await this.#data.overview();
        this.#send(topic, 'overview', overview);
        continue;
      }
      const seq = await this.#data.headOf(proc.kind, proc.id);
      this.#send(topic, 'proc', { kind: proc.kind, id: proc.id, seq, inspection: nudged.get(topic) ?? null });
    }
  }

  #send(topic: string, event: string, payload: Record<string, unknown>): void {
    const { inspection, ...compared } = payload;
    const text = JSON.stringify(compared);
    if (this.#sent.get(topic) === text && inspection == null) return;
    this.#sent.set(topic, text);
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const watcher of this.#watchers) if (topicOf(watcher.proc) === topic) watcher.response.write(frame);
  }
}

function topicOf(proc: Watcher['proc']): string {
  return proc === null ? '' : `${proc.kind}/${proc.id}`;
}
