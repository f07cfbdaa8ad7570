/**
 * Counting a parent's children by status, over all its child kinds or one: what NOMAD's upload
 * view shows, and what `childCounts` returns to callers and process functions alike.
 */
import { UnknownKindError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import type { ProcessStatus } from '../../machines/process-status.js';
import type { ProcStore } from '../../persistence/proc-store.js';
import { emptyStatusCounts } from '../../persistence/records.js';
import { childCountsOf, type ChildCounts } from '../process-context.js';
import type { KindRegistry } from './kind-registry.js';

/** Counts of the parent's children by status. @throws UnknownKindError when `childKind` is not one of its child kinds. */
export async function countChildren(store: ProcStore, registry: KindRegistry, parent: ProcRef, childKind?: string): Promise<ChildCounts> {
  const children = registry.kind(parent.kind).children.filter((child) => childKind === undefined || child.name === childKind);
  if (childKind !== undefined && children.length === 0) throw new UnknownKindError(childKind, `it is not a child kind of ${parent.kind}`);
  const byStatus = emptyStatusCounts();
  for (const child of children) {
    const counts = await store.countByStatus(child.name, { field: child.parentKey, value: parent.id });
    for (const status of Object.keys(byStatus) as ProcessStatus[]) byStatus[status] += counts[status];
  }
  return childCountsOf(byStatus);
}
