import { defineKind, ProcessResult } from 'procstate';

// An upload fans out into entries; once they are done, its join starts a second level (an
// archive) and waits again; the second join ends the upload.
export const entry = defineKind({
  name: 'entry',
  parent: { kind: 'upload', key: 'upload_id' },
  processes: {
    process_entry: {
      child: true,
      run: async (ctx) => {
        await ctx.setStep('Parsing mainfile');
      },
    },
  },
});

export const archive = defineKind({
  name: 'archive',
  parent: { kind: 'upload', key: 'upload_id' },
  processes: { write_archive: { child: true, run: (ctx) => ctx.setStep('Writing archive') } },
});

export const upload = defineKind({
  name: 'upload',
  children: [entry, archive],
  processes: {
    process_upload: {
      run: async (ctx) => {
        const { entries } = ctx.args as { entries: number };
        await ctx.startChildren('entry', Array.from({ length: entries }, (_, n) => ({ id: `${ctx.id}-${n}`, process: 'process_entry' })));
        return ProcessResult.WAITING_FOR_RESULT;
      },
    },
  },
  join: async (ctx) => {
    if ((await ctx.childCounts('archive')).total > 0) return; // the second level is done
    await ctx.startChild('archive', `${ctx.id}-archive`, 'write_archive');
    return ProcessResult.WAITING_FOR_RESULT;
  },
});

export const kinds = [upload, entry, archive];
