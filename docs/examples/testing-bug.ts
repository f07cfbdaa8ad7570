import fc from 'fast-check';
import type { KindDefinition } from 'procstate';
import { checkKinds } from 'procstate/testing';
import { archive, entry, upload } from './testing-kinds.js';

// The bug: the join starts the second level but forgets to wait for it.
const forgetful: KindDefinition = {
  ...upload,
  join: async (ctx) => {
    if ((await ctx.childCounts('archive')).total > 0) return;
    await ctx.startChild('archive', `${ctx.id}-archive`, 'write_archive');
  },
};

try {
  await checkKinds([forgetful, entry, archive], {
    args: { upload: { process_upload: fc.record({ entries: fc.integer({ min: 0, max: 3 }) }) } },
    seed: 42,
  });
} catch (error) {
  const report = (error as Error).message;
  console.log(report.split('\n').filter((line) => /^(Counterexample|Shrunk|\{ seed)/.test(line)).join('\n'));
  console.log(String((error as Error).cause));
}
