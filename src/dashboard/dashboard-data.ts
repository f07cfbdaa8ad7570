/**
 * What the dashboard shows, read from a store: the overview (procs of every kind by status, the
 * processing ones, the stuck ones), a page of one kind's procs, and one proc with its ledger.
 * Read-only; every value from the client goes through the store's own validation before it
 * reaches a query, and a kind nobody declared is an error, never an empty page.
 */
import { UnknownKindError, ProcNotFoundError } from '../../machines/errors.js';
import { PROCESS_STATUSES, STATUSES_PROCESSING, type ProcessStatus } from '../../machines/process-status.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { StatusCounts, StoredDocument, TransitionRecord } from '../../persistence/records.js';
import { assertProcId } from '../../persistence/validate.js';
import { replayLedger } from '../inspection.js';

/** What the dashboard needs to know of a kind: its name, its parent, its processes. */
export interface DashboardKind {
  readonly name: string;
  readonly parent?: { readonly kind: string; readonly key: string } | undefined;
  /** The kind's process names (a `KindDefinition`'s `processes`), offered by the call action. */
  readonly processes?: Readonly<Record<string, unknown>> | undefined;
}

/** A processing proc in the overview. */
export interface ProcessingRow {
  readonly kind: string;
  readonly id: string;
  readonly status: ProcessStatus;
  readonly process: string | null;
  readonly step: string | null;
  /** When the current call was made, or its run started (ISO 8601). */
  readonly since: string | null;
}

/** Every kind by status, the processing procs, the stuck ones. */
export interface Overview {
  readonly at: string;
  readonly stuckAfterMs: number;
  readonly kinds: ReadonlyArray<{ readonly name: string; readonly parent: string | null; readonly counts: StatusCounts; readonly total: number }>;
  /** Up to 50 processing procs per kind, in id order. */
  readonly processing: readonly ProcessingRow[];
  /** The processing ones among them that have been so for longer than `stuckAfterMs`. */
  readonly stuck: readonly ProcessingRow[];
}

/** One row of a kind's list. */
export interface ListRow {
  readonly id: string;
  readonly status: ProcessStatus;
  readonly process: string | null;
  readonly step: string | null;
  readonly message: string | null;
  /** When it completed, or when its current call or run began (ISO 8601). */
  readonly since: string | null;
}

/** A filter of a kind's list; every field optional. */
export interface ListQuery {
  readonly status?: ProcessStatus | undefined;
  readonly parent?: string | undefined;
  readonly prefix?: string | undefined;
  /** Last id of the previous page. */
  readonly after?: string | undefined;
  readonly limit?: number | undefined;
}

/** A page of a kind's procs, in id order; `next` is the `after` of the next page, if there is one. */
export interface ListPage {
  readonly kind: string;
  readonly rows: readonly ListRow[];
  readonly next: string | null;
}

/** One ledger record as the proc page shows it. */
export interface LedgerRow {
  readonly seq: number;
  readonly at: string;
  readonly from: ProcessStatus | null;
  readonly to: ProcessStatus | null;
  readonly cause: string;
  readonly worker: string | null;
  readonly run: string | null;
  readonly event: Readonly<Record<string, unknown>> | null;
  readonly errors: readonly string[];
  /** False when the machine would not have made this transition (the replay's check). */
  readonly consistent: boolean;
}

/** One proc: its document, its ledger, its children and its parent. */
export interface ProcPage {
  readonly kind: string;
  readonly id: string;
  readonly status: ProcessStatus;
  readonly document: Readonly<Record<string, unknown>>;
  readonly ledger: readonly LedgerRow[];
  /** True when the ledger has more records than were read. */
  readonly ledgerTruncated: boolean;
  readonly children: ReadonlyArray<{ readonly kind: string; readonly counts: StatusCounts }>;
  readonly parent: { readonly kind: string; readonly id: string } | null;
  readonly processes: readonly string[];
}

/** Processing procs read per kind for the overview. */
export const PROCESSING_SHOWN = 50;
/** Ledger records shown on a proc page. */
const LEDGER_SHOWN = 2000;
const MAX_PAGE = 500;

/** The dashboard's reads over one store. */
export class DashboardData {
  readonly #store: ProcStore;
  readonly #kinds: ReadonlyMap<string, DashboardKind>;
  readonly #stuckAfterMs: number;

  constructor(store: ProcStore, kinds: readonly DashboardKind[], stuckAfterMs: number) {
    this.#store = store;
    this.#kinds = new Map(kinds.map((kind) => [kind.name, kind]));
    this.#stuckAfterMs = stuckAfterMs;
  }

  /** The declared kinds, in declaration order. */
  get kinds(): readonly DashboardKind[] {
    return [...this.#kinds.values()];
  }

  /**
   * The declared kind of this name.
   * @throws UnknownKindError naming the declared ones
   */
  kind(name: string): DashboardKind {
    const kind = this.#kinds.get(name);
    if (kind === undefined) throw new UnknownKindError(name, `the dashboard shows ${[...this.#kinds.keys()].map((known) => JSON.stringify(known)).join(', ')}`);
    return kind;
  }

  /** Every kind's procs by status, and nothing else (what `/metrics` reports). */
  async counts(): Promise<Array<{ readonly kind: string; readonly counts: StatusCounts }>> {
    return Promise.all(this.kinds.map(async (kind) => ({ kind: kind.name, counts: await this.#store.countByStatus(kind.name) })));
  }

  /** Every kind by status, and the processing and stuck procs (`now` decides what is stuck). */
  async overview(now = new Date()): Promise<Overview> {
    const kinds = this.kinds;
    const perKind = await Promise.all(
      kinds.map(async (kind) => {
        const [counts, processing] = await Promise.all([
          this.#store.countByStatus(kind.name),
          this.#store.findByStatus(kind.name, STATUSES_PROCESSING, { limit: PROCESSING_SHOWN }),
        ]);
        return { kind, counts, processing: processing.map((document) => processingRow(kind.name, document)) };
      }),
    );
    const processing = perKind.flatMap((entry) => entry.processing);
    const cutoff = now.getTime() - this.#stuckAfterMs;
    return {
      at: now.toISOString(),
      stuckAfterMs: this.#stuckAfterMs,
      kinds: perKind.map(({ kind, counts }) => ({
        name: kind.name,
        parent: kind.parent?.kind ?? null,
        counts,
        total: PROCESS_STATUSES.reduce((sum, status) => sum + counts[status], 0),
      })),
      processing,
      stuck: processing.filter((row) => row.since !== null && Date.parse(row.since) < cutoff),
    };
  }

  /**
   * A page of a kind's procs, in id order, paged by id (never by skipping).
   * @throws UnknownKindError, InvalidArgumentError for an undeclared kind or a malformed filter
   */
  async list(kindName: string, query: ListQuery): Promise<ListPage> {
    const kind = this.kind(kindName);
    const limit = Math.min(query.limit ?? 50, MAX_PAGE);
    let where: { field: string; value: string } | undefined;
    if (query.parent !== undefined) {
      if (kind.parent === undefined) throw new UnknownKindError(kindName, `kind ${JSON.stringify(kindName)} has no parent, so it cannot be filtered by one`);
      assertProcId(query.parent);
      where = { field: kind.parent.key, value: query.parent };
    }
    const statuses = query.status === undefined ? PROCESS_STATUSES : [query.status];
    const documents = await this.#store.findByStatus(kindName, statuses, { limit: limit + 1, afterId: query.after, idPrefix: query.prefix, where });
    const rows = documents.slice(0, limit).map((document) => listRow(document));
    return { kind: kindName, rows, next: documents.length > limit ? (rows[rows.length - 1]?.id ?? null) : null };
  }

  /**
   * One proc with its ledger (replayed through the machine), children and parent.
   * @throws ProcNotFoundError when it has no document
   */
  async proc(kindName: string, id: string): Promise<ProcPage> {
    const kind = this.kind(kindName);
    const ref = { kind: kindName, id };
    const [document, records] = await Promise.all([this.#store.readDocument(ref), this.#store.readTransitions(ref, { limit: LEDGER_SHOWN + 1 })]);
    if (document === undefined) throw new ProcNotFoundError(kindName, id);
    const shown = records.slice(0, LEDGER_SHOWN);
    const children = await Promise.all(
      this.kinds
        .filter((candidate) => candidate.parent?.kind === kindName)
        .map(async (child) => ({ kind: child.name, counts: await this.#store.countByStatus(child.name, { field: (child.parent as { key: string }).key, value: id }) })),
    );
    const parentId = kind.parent === undefined ? undefined : document[kind.parent.key];
    return {
      kind: kindName,
      id,
      status: document['process_status'] as ProcessStatus,
      document,
      ledger: ledgerRows(kindName, id, shown),
      ledgerTruncated: records.length > LEDGER_SHOWN,
      children,
      parent: kind.parent !== undefined && typeof parentId === 'string' ? { kind: kind.parent.kind, id: parentId } : null,
      processes: Object.keys(kind.processes ?? {}),
    };
  }

  /** The `sync_counter` of a proc's document, or null when it has none (the live feed polls it). */
  async headOf(kindName: string, id: string): Promise<number | null> {
    this.kind(kindName);
    const counters = await this.#store.readSyncCounters(kindName, [id]);
    return counters.get(id) ?? null;
  }
}

interface Bookkeeping {
  readonly call?: { readonly pending_since?: string } | null;
  readonly run?: { readonly started_at?: string } | null;
}

function sinceOf(document: StoredDocument): string | null {
  const bookkeeping = document['procstate'] as Bookkeeping | undefined;
  const completed = document['complete_time'];
  if (bookkeeping?.run?.started_at !== undefined) return bookkeeping.run.started_at;
  if (bookkeeping?.call?.pending_since !== undefined) return bookkeeping.call.pending_since;
  if (completed instanceof Date) return completed.toISOString();
  return typeof completed === 'string' ? completed : null;
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function processingRow(kind: string, document: StoredDocument): ProcessingRow {
  const { message: _message, ...row } = listRow(document);
  return { kind, ...row };
}

function listRow(document: StoredDocument): ListRow {
  return {
    id: document._id,
    status: document['process_status'] as ProcessStatus,
    process: textOrNull(document['current_process']),
    step: textOrNull(document['current_process_step']),
    message: textOrNull(document['last_status_message']),
    since: sinceOf(document),
  };
}

function ledgerRows(kind: string, id: string, records: readonly TransitionRecord[]): LedgerRow[] {
  const consistent = new Map<number, boolean>();
  for (const entry of replayLedger(kind, id, records)) if (entry.type === '@xstate.snapshot') consistent.set(entry.seq, entry.consistent);
  return records.map((record) => {
    const context = record.snapshot?.context as { errors?: readonly string[] } | undefined;
    return {
      seq: record.seq,
      at: record.at.toISOString(),
      from: record.from,
      to: record.to,
      cause: record.cause,
      worker: record.worker,
      run: record.run_id,
      event: record.event,
      errors: record.to === 'FAILURE' ? (context?.errors ?? []) : [],
      consistent: consistent.get(record.seq) ?? true,
    };
  });
}
