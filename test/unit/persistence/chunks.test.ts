/** Splitting batches into commands: order kept, the last part shorter, no part of size zero. */
import { describe, expect, it } from 'vitest';
import { chunks } from '../../../persistence/chunks.js';

describe('chunks', () => {
  it('cuts in order, the last part the rest', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a size of %d, which would never end', (size) => {
    expect(() => chunks([1], size)).toThrow(RangeError);
  });
});
