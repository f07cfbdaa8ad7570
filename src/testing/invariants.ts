/**
 * The guarantees the runtime makes about every proc, as checks over what a store holds: the
 * ledger replays through the machine, it has no gap, its document is at its head (unless a
 * crashed worker wrote it last), a function ran once per recorded start, a wait was joined at
 * most once, a join did not succeed while a child was still processing; and, once nothing is
 * left to deliver and every lease has run out, nothing is processing, every document is at its
 * ledger head, every start ran its function and every wait was joined.
 * The model runner checks them after every command; a test can call them on any store.
 */
import { ProcessStatus, STATUSES_PROCESSING, PROCESS_STATUSES } from '../../machines/process-status.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import type { StoredDocument, TransitionRecord } from '../../persistence/records.js';
import type { KindDefinition } from '../define-kind.js';
import { replayLedger } from '../inspection.js';

/** One proc as the store holds it. */
export interface ProcView {
  readonly kind: string;
  readonly id: string;
  readonly document: StoredDocument | undefined;
  readonly history: readonly TransitionRecord[];
}

/** How often each recorded start's function was entered, by {@link startKey}. */
export type Invocations = ReadonlyMap<string, number>;

/** The key of one start (the record at `seq` that started a run or a join). */
export function startKey(kind: string, id: string, seq: number): string {
  return `${kind}/${id}@${seq}`;
}

const PAGE = 1_000;

/** Every proc of the given kinds, with its document and its whole ledger. */
export async function readProcs(store: ProcStore, kinds: readonly KindDefinition[]): Promise<ProcView[]> {
  const views: ProcView[] = [];
  for (const kind of kinds) {
    let afterId: string | undefined;
    for (;;) {
      const documents = await store.findByStatus(kind.name, PROCESS_STATUSES, { limit: PAGE, afterId });
      for (const document of documents) {
        const ref = { kind: kind.name, id: document._id };
        views.push({ kind: kind.name, id: document._id, document, history: await store.readTransitions(ref) });
      }
      if (documents.length < PAGE) break;
      afterId = documents.at(-1)?._id;
    }
  }
  return views;
}

/** What {@link violationsOf} checks against. */
export interface InvariantContext {
  readonly kinds: readonly KindDefinition[];
  /** Function entries per start; leave out to skip the once-per-start checks. */
  readonly invocations?: Invocations | undefined;
  /** Nothing left to deliver, every lease and timeout past, the sweep run: the end-state checks apply. */
  readonly settled: boolean;
  /** Workers that crashed: a start of theirs may never have entered its function. */
  readonly crashedWorkers?: ReadonlySet<string> | undefined;
  /** A join may succeed while children go on (fire-and-forget children). @defaultValue false */
  readonly detachedChildren?: boolean | undefined;
}

const STARTS = new Set(['worker.started', 'join.started']);

function name(view: { kind: string; id: string }): string {
  return `${view.kind} ${JSON.stringify(view.id)}`;
}

/** Every broken guarantee among `procs`, one line each; empty when all hold. */
export function violationsOf(procs: readonly ProcView[], context: InvariantContext): string[] {
  const violations: string[] = [];
  const byKey = new Map(procs.map((view) => [`${view.kind}/${view.id}`, view]));
  for (const view of procs) {
    const { history } = view;
    const seqs = history.map((record) => record.seq);
    if (seqs.some((seq, index) => seq !== index + 1)) violations.push(`${name(view)}: its ledger has a gap (seqs ${seqs.join(', ')})`);
    for (const step of replayLedger(view.kind, view.id, history)) {
      if (step.type === '@xstate.snapshot' && !step.consistent) {
        violations.push(`${name(view)}: record ${step.seq} is not a transition the machine makes from the record before it`);
      }
    }
    // One join per wait: between entering WAITING_FOR_RESULT and leaving it.
    let joins = 0;
    for (const record of history) {
      if (record.cause === 'run.waiting') joins = 0;
      if (record.cause === 'join.started') {
        joins += 1;
        if (joins === 2) violations.push(`${name(view)}: joined twice for one wait (record ${record.seq})`);
      }
    }
    const status = statusOf(view);
    // A join that succeeded ended the wait: no child may still be processing then. (A parent
    // that ends otherwise — terminated, then called again — may leave children running.)
    const lastStart = history.findLast((record) => STARTS.has(record.cause));
    if (status === ProcessStatus.SUCCESS && lastStart?.cause === 'join.started' && history.at(-1)?.cause === 'run.succeeded' && context.detachedChildren !== true) {
      const processing = children(procs, context.kinds, view).filter((child) => isProcessing(child));
      if (processing.length > 0) {
        violations.push(`${name(view)} is SUCCESS after its join while ${processing.length} of its children ${processing.length === 1 ? 'is' : 'are'} still processing (${processing.slice(0, 3).map(name).join(', ')})`);
      }
    }
    if (context.settled) {
      if (status !== undefined && STATUSES_PROCESSING.includes(status)) {
        violations.push(`${name(view)} is still ${status} with nothing left to deliver and every lease expired`);
      }
    }
    // A document copies its ledger's head once the writer is done; a crashed writer may leave it
    // behind until a sweep repairs it, so those are checked once settled.
    const head = history.at(-1);
    const crashedWrote = history.some((record) => record.worker !== null && context.crashedWorkers?.has(record.worker) === true);
    if ((context.settled || !crashedWrote) && view.document !== undefined && head !== undefined && view.document['sync_counter'] !== head.seq) {
      violations.push(`${name(view)}: its document is at record ${String(view.document['sync_counter'])}, its ledger at ${head.seq}`);
    }
  }
  const invocations = context.invocations;
  if (invocations !== undefined) {
    for (const [key, count] of invocations) {
      const at = key.lastIndexOf('@');
      const view = byKey.get(key.slice(0, at));
      const record = view?.history.find((candidate) => candidate.seq === Number(key.slice(at + 1)));
      if (record === undefined || !STARTS.has(record.cause)) violations.push(`${key}: a function ran with no start recorded at that record`);
      else if (count > 1) violations.push(`${key}: the function of one start ran ${count} times`);
    }
    if (context.settled) {
      for (const view of procs) {
        for (const record of view.history) {
          if (!STARTS.has(record.cause) || invocations.has(startKey(view.kind, view.id, record.seq))) continue;
          // A kind without a join ends its wait with no function of the user's to run.
          if (record.cause === 'join.started' && context.kinds.find((kind) => kind.name === view.kind)?.join === undefined) continue;
          if (record.worker !== null && context.crashedWorkers?.has(record.worker) === true) continue;
          violations.push(`${name(view)}: record ${record.seq} (${record.cause}) started a run whose function never ran`);
        }
      }
    }
  }
  return violations;
}

function statusOf(view: ProcView): ProcessStatus | undefined {
  const status = view.document?.['process_status'];
  return typeof status === 'string' && (PROCESS_STATUSES as readonly string[]).includes(status) ? (status as ProcessStatus) : undefined;
}

function isProcessing(view: ProcView): boolean {
  const status = statusOf(view);
  return status !== undefined && STATUSES_PROCESSING.includes(status);
}

function children(procs: readonly ProcView[], kinds: readonly KindDefinition[], parent: ProcView): ProcView[] {
  const childKinds = kinds.filter((kind) => kind.parent?.kind === parent.kind);
  return procs.filter((view) => {
    const kind = childKinds.find((candidate) => candidate.name === view.kind);
    return kind?.parent !== undefined && view.document?.[kind.parent.key] === parent.id;
  });
}
