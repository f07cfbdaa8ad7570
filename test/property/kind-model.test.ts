/**
 * The model runner of `procstate/testing` on NOMAD's shape of kinds (docs/testing.md's): an
 * upload that fans out into entries, then into a second level, joining each — here with an entry
 * that fails and a blocking process besides. The correct kinds keep every guarantee under any
 * sequence of calls, deliveries, duplicates, drops, crashes and clock moves; the same kinds with
 * a join that forgets the second level are caught, and shrunk to a few commands.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { archive, entry, upload } from '../../docs/examples/testing-kinds.js';
import type { KindDefinition } from '../../src/index.js';
import { checkKinds, InvariantViolationError, kindProperty } from '../../src/testing/index.js';

const failingEntry: KindDefinition = {
  ...entry,
  processes: {
    process_entry: {
      child: true,
      run: async (ctx) => {
        await ctx.setStep('Parsing mainfile');
        if (ctx.id.endsWith('-2')) throw new Error('unparsable mainfile');
      },
    },
  },
};

// Blocking: a second call while it is current or queued is refused, and records nothing.
const publishing: KindDefinition = { ...upload, processes: { ...upload.processes, publish: { blocking: true, run: (ctx) => ctx.setStep('Publishing') } } };

const forgetful: KindDefinition = {
  ...publishing,
  join: async (ctx) => {
    if ((await ctx.childCounts('archive')).total > 0) return;
    await ctx.startChild('archive', `${ctx.id}-archive`, 'write_archive');
  },
};

const args = { upload: { process_upload: fc.record({ entries: fc.integer({ min: 0, max: 3 }) }) } };

describe('procstate/testing: the model runner', () => {
  it('finds no broken guarantee in correct two-level kinds, whatever the deliveries, duplicates, drops, crashes and clock', async () => {
    await checkKinds([publishing, failingEntry, archive], { args, numRuns: 300 });
  }, 300_000);

  it('finds a join that forgets its second level, and shrinks it to a short sequence', async () => {
    const details = await fc.check(kindProperty([forgetful, failingEntry, archive], { args }), { numRuns: 200 });
    expect(details.failed).toBe(true);
    expect(details.errorInstance).toBeInstanceOf(InvariantViolationError);
    expect((details.errorInstance as InvariantViolationError).violations.join('\n')).toMatch(/upload "p\d" is SUCCESS after its join while 1 of its children is still processing/);
    const shrunk = String(details.counterexample?.[0]);
    console.log(`shrunk counterexample: ${shrunk}`);
    // At most: create, call, and a few deliveries; the runner delivers the rest while settling.
    expect(shrunk.split(',').length).toBeLessThanOrEqual(5);
  }, 300_000);
});
