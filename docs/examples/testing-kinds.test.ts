import fc from 'fast-check';
import { checkKinds } from 'procstate/testing';
import { it } from 'vitest';
import { kinds } from './testing-kinds.js';

it('keeps every guarantee, whatever the deliveries, duplicates, drops, crashes and clock', async () => {
  await checkKinds(kinds, {
    args: { upload: { process_upload: fc.record({ entries: fc.integer({ min: 0, max: 3 }) }) } },
  });
}, 60_000);
