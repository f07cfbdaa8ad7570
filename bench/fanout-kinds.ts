/**
 * The kinds every fan-out figure uses: an upload that starts `entries` entries and waits for
 * them, entries that do nothing (or record one step), and a join that records one.
 */
import { defineKind, ProcessResult } from '../src/index.js';

/** The upload's arguments. */
interface FanOutArgs {
  readonly entries: number;
  /** Entries record one step (`Parsing mainfile`) instead of doing nothing. */
  readonly step?: boolean;
}

/** The upload and its entries. */
export const fanOutKinds = [
  defineKind({
    name: 'upload',
    processes: {
      process_upload: {
        run: async (ctx) => {
          const { entries, step } = ctx.args as FanOutArgs;
          await ctx.startChildren('entry', Array.from({ length: entries }, (_, index) => ({ id: `${ctx.id}-${index}`, process: 'process_entry', args: { step: step === true } })));
          return ProcessResult.WAITING_FOR_RESULT;
        },
      },
    },
    join: async (ctx) => ctx.setStep('Cleanup'),
  }),
  defineKind({
    name: 'entry',
    parent: { kind: 'upload', key: 'upload_id' },
    processes: {
      process_entry: {
        child: true,
        run: async (ctx) => {
          if ((ctx.args as { step: boolean }).step) await ctx.setStep('Parsing mainfile');
        },
      },
    },
  }),
];

