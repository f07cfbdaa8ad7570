/**
 * The persisted snapshot: XState's serialisable form of a proc state, as every ledger record
 * stores it. A leaf module without XState, so the persistence layer can build and read
 * snapshots without loading the machine.
 */
import type { PersistedProcSnapshot, ProcMachineState } from './proc-context.js';

/**
 * XState's persisted snapshot of a proc state: what `actor.getPersistedSnapshot()` returns for
 * this machine (a flat machine with no history and no children), built without resolving the
 * state. The one builder of the shape; a test checks it against XState's own. Pure.
 */
export function persistedSnapshotOf(state: ProcMachineState): PersistedProcSnapshot {
  return { status: 'active', value: state.status, context: state.context, historyValue: {}, children: {} };
}

/** The machine state held by a persisted snapshot; the inverse of {@link persistedSnapshotOf}. Pure. */
export function stateOfSnapshot(snapshot: PersistedProcSnapshot): ProcMachineState {
  return { status: snapshot.value, context: snapshot.context };
}
