/**
 * Splitting a batch into the commands a server takes: `$in` lists, update statements per
 * command (`ServerCapabilities.updatesPerCommand`), job removals.
 */

/** The items in order, in parts of at most `size` (the last may be shorter). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`a chunk size must be a positive integer, got ${String(size)}`);
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
