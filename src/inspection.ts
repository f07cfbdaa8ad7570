/**
 * Seeing procs: live, through XState's own inspection events, and afterwards, by replaying a
 * proc's ledger.
 *
 * Live: the runtime decides transitions with the pure machine, so there is no long-lived actor
 * to inspect. When an inspection observer is given, each committed transition is mirrored into
 * an XState actor for that proc (`createActor(procMachine, { snapshot, inspect })`), which emits
 * the real `@xstate.actor`, `@xstate.event` and `@xstate.snapshot` records any XState tool
 * understands, the Stately inspector included.
 */
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { applyProcEvent } from '../machines/apply-event.js';
import { persistedSnapshotOf, stateOfSnapshot } from '../machines/persisted-snapshot.js';
import type { ProcMachineState } from '../machines/proc-context.js';
import type { ProcEvent } from '../machines/proc-events.js';
import { procMachine } from '../machines/proc-machine.js';
import { procMachineToJson } from '../machines/diagram.js';
import { isProcessing, type ProcessStatus } from '../machines/process-status.js';
import type { StoredProc } from '../persistence/proc-ledger.js';
import { canonicalJson } from '../persistence/proc-document.js';
import { RecordCause, type TransitionRecord } from '../persistence/records.js';

/** What XState's `inspect` option accepts: an observer or a plain callback. */
export type InspectionObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * `<kind>/<id>`: the session id of a proc's replay, and the name of its live mirror actors (whose
 * session ids XState assigns), so both show under one name in the inspector.
 */
export function sessionIdOf(kind: string, id: string): string {
  return `${kind}/${id}`;
}

interface Mirror {
  readonly actor: Actor<typeof procMachine>;
  seq: number;
}

/**
 * Mirrors committed transitions into XState actors that report to an inspection observer.
 * One actor per proc while it is processing; it is stopped once the proc completes, and made
 * again from the stored state when the proc moves again (also after other runtimes moved it).
 */
export class LiveInspection {
  readonly #inspect: InspectionObserver;
  readonly #mirrors = new Map<string, Mirror>();

  constructor(inspect: InspectionObserver) {
    this.#inspect = inspect;
  }

  /** A proc was created in `proc`'s state. */
  created(proc: StoredProc): void {
    this.#mirror(proc, true);
    this.#release(proc);
  }

  /** `event` moved the proc from `previous` to `next`. */
  transitioned(previous: StoredProc, next: StoredProc, event: ProcEvent): void {
    const mirror = this.#mirror(previous, false);
    mirror.actor.send(event);
    mirror.seq = next.seq;
    if (!isProcessing(next.state.status)) this.#release(next);
  }

  /** The proc deleted its object. */
  deleted(kind: string, id: string): void {
    const key = sessionIdOf(kind, id);
    this.#mirrors.get(key)?.actor.stop();
    this.#mirrors.delete(key);
  }

  /** Stops every actor. */
  stop(): void {
    for (const mirror of this.#mirrors.values()) mirror.actor.stop();
    this.#mirrors.clear();
  }

  #mirror(proc: StoredProc, fresh: boolean): Mirror {
    const key = sessionIdOf(proc.ref.kind, proc.ref.id);
    const existing = this.#mirrors.get(key);
    if (existing !== undefined && existing.seq === proc.seq && !fresh) return existing;
    existing?.actor.stop();
    const actor = createActor(procMachine, {
      id: key,
      snapshot: persistedSnapshotOf(proc.state) as never,
      inspect: this.#inspect,
      input: { parent: proc.state.context.parent },
    });
    actor.start();
    const mirror = { actor, seq: proc.seq };
    this.#mirrors.set(key, mirror);
    return mirror;
  }

  #release(proc: StoredProc): void {
    const key = sessionIdOf(proc.ref.kind, proc.ref.id);
    this.#mirrors.get(key)?.actor.stop();
    this.#mirrors.delete(key);
  }
}

/** One record of a replayed ledger, in the shape of the inspector's protocol. */
export type ReplayRecord =
  | { readonly type: '@xstate.actor'; readonly sessionId: string; readonly seq: number; readonly at: string; readonly snapshot: ReplaySnapshot; readonly definition: string }
  | { readonly type: '@xstate.event'; readonly sessionId: string; readonly seq: number; readonly at: string; readonly event: { readonly type: string; readonly [key: string]: unknown } }
  | {
      readonly type: '@xstate.snapshot';
      readonly sessionId: string;
      readonly seq: number;
      readonly at: string;
      readonly snapshot: ReplaySnapshot;
      readonly event: { readonly type: string };
      /** False when the machine would not have made this transition from the previous record. */
      readonly consistent: boolean;
      readonly worker: string | null;
    };

/** A snapshot as the inspector shows it. */
export interface ReplaySnapshot {
  readonly status: 'active' | 'done';
  readonly value: ProcessStatus | null;
  readonly context: unknown;
}

function snapshotOf(state: ProcMachineState | null): ReplaySnapshot {
  return state === null ? { status: 'done', value: null, context: null } : { status: 'active', value: state.status, context: state.context };
}

/**
 * Turns a proc's ledger (oldest record first) into inspection records: the actor, then each
 * event with the snapshot it led to. Every transition is checked against the machine: applying
 * the recorded event to the previous recorded state must give the recorded state. Pure.
 */
export function replayLedger(kind: string, id: string, records: readonly TransitionRecord[]): ReplayRecord[] {
  const sessionId = sessionIdOf(kind, id);
  const replay: ReplayRecord[] = [];
  let previous: ProcMachineState | null = null;
  for (const [index, record] of records.entries()) {
    const at = record.at.toISOString();
    const state = record.snapshot === null ? null : stateOfSnapshot(record.snapshot);
    if (index === 0) {
      replay.push({ type: '@xstate.actor', sessionId, seq: record.seq, at, snapshot: snapshotOf(state), definition: procMachineToJson() });
      previous = state;
      continue;
    }
    const event = { type: record.cause, ...(record.event ?? {}) };
    let consistent: boolean;
    if (record.cause === RecordCause.DELETED) consistent = previous !== null && previous.status === 'RUNNING';
    else if (record.cause === RecordCause.CREATED || record.cause === RecordCause.MIGRATED) consistent = previous === null;
    else if (previous === null || state === null) consistent = false;
    else {
      const result = applyProcEvent(previous, { ...event, at } as ProcEvent);
      consistent = result.accepted && canonicalJson(result.state) === canonicalJson(state);
    }
    replay.push({ type: '@xstate.event', sessionId, seq: record.seq, at, event });
    replay.push({ type: '@xstate.snapshot', sessionId, seq: record.seq, at, snapshot: snapshotOf(state), event: { type: record.cause }, consistent, worker: record.worker });
    previous = state;
  }
  return replay;
}
