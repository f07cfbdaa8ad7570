/**
 * The demo's kinds: an `upload` that fans out into `entry` children over two parser levels,
 * like NOMAD's upload processing. Entries fail and warn at random, from a seed, so a run can
 * be repeated exactly. Also a valid `--module` for `procstate worker`.
 */
import { defineKind, type KindDefinition } from '../define-kind.js';
import type { ProcessContext } from '../process-context.js';
import { ProcessFailure } from '../../machines/errors.js';
import { ProcessResult } from '../../machines/process-status.js';

/** Arguments of `upload.process_upload`. */
export interface DemoUploadArgs {
  /** How many entries the upload has. */
  readonly entries: number;
  /** Seed of every random choice. */
  readonly seed: number;
  /** Milliseconds an entry step takes at most (the simulated work). */
  readonly stepMs: number;
}

/** What the seed decides for one entry. */
export interface DemoEntryPlan {
  readonly id: string;
  readonly level: 0 | 1;
  readonly fails: boolean;
  readonly warns: boolean;
}

/** A small, fast, seedable PRNG (mulberry32): the same seed always gives the same plan. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The plan of every entry of an upload: its parser level, and whether it fails or warns. */
export function planEntries(uploadId: string, args: DemoUploadArgs): DemoEntryPlan[] {
  const random = seededRandom(args.seed);
  return Array.from({ length: args.entries }, (_, index) => {
    const level: 0 | 1 = random() < 0.2 ? 1 : 0;
    const roll = random();
    return {
      id: `${uploadId}-entry-${String(index).padStart(5, '0')}`,
      level,
      fails: roll < 0.06,
      warns: roll >= 0.06 && roll < 0.18,
    };
  });
}

function parseUploadArgs(value: unknown): DemoUploadArgs {
  const args = (value ?? {}) as Partial<DemoUploadArgs>;
  const entries = Number(args.entries ?? 0);
  const seed = Number(args.seed ?? 1);
  const stepMs = Number(args.stepMs ?? 2);
  if (!Number.isSafeInteger(entries) || entries < 0) throw new ProcessFailure(`entries must be a non-negative integer, got ${String(args.entries)}`);
  return { entries, seed, stepMs };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** An error class of the demo's parser, so failures read like NOMAD's (`ParserError: …`). */
class ParserError extends Error {
  override readonly name = 'ParserError';
}

/** The parent kind: an upload with entries. */
const demoUpload = defineKind({
  name: 'upload',
  processes: {
    process_upload: {
      run: async (ctx) => {
        const args = parseUploadArgs(ctx.args);
        const plan = planEntries(ctx.id, args);
        await ctx.setStep('Matching');
        await pause(args.stepMs, ctx.signal);
        // Every entry exists from the start; level 1 waits in READY, which does not hold up the join.
        await ctx.setStep('Creating entries');
        for (const entry of plan) {
          await ctx.createChild('entry', entry.id, { mainfile: `raw/${entry.id}.json`, parser_level: entry.level });
        }
        return startLevel(ctx, plan, 0);
      },
    },
  },
  join: async (ctx) => {
    const args = parseUploadArgs(ctx.args);
    const counts = await ctx.childCounts('entry');
    if (counts.byStatus['READY'] !== undefined && counts.byStatus['READY'] > 0) {
      return startLevel(ctx, planEntries(ctx.id, args), 1);
    }
    await ctx.setStep('Cleanup');
    await pause(args.stepMs, ctx.signal);
    return undefined;
  },
});

async function startLevel(
  ctx: ProcessContext,
  plan: readonly DemoEntryPlan[],
  level: 0 | 1,
): Promise<ProcessResult> {
  const args = parseUploadArgs(ctx.args);
  await ctx.setStep(`Parsing level ${level}`);
  await ctx.startChildren(
    'entry',
    plan.filter((entry) => entry.level === level).map((entry) => ({
      id: entry.id,
      process: 'process_entry',
      args: { fails: entry.fails, warns: entry.warns, stepMs: args.stepMs },
    })),
  );
  await ctx.setStep(`Waiting for results (level ${level})`);
  return ProcessResult.WAITING_FOR_RESULT;
}

/** The child kind: one entry of an upload. */
const demoEntry = defineKind({
  name: 'entry',
  parent: { kind: 'upload', key: 'upload_id' },
  processes: {
    process_entry: {
      child: true,
      clearQueueOnFailure: false,
      run: async (ctx) => {
        const { fails, warns, stepMs } = (ctx.args ?? {}) as { fails?: boolean; warns?: boolean; stepMs?: number };
        const ms = stepMs ?? 2;
        await ctx.setStep('Parsing mainfile');
        await pause(ms, ctx.signal);
        if (fails === true) throw new ParserError('could not parse the mainfile: unexpected end of data');
        if (warns === true) ctx.warn('the mainfile lists no code version');
        await ctx.setStep('Normalizing');
        await pause(ms, ctx.signal);
        await ctx.setStep('Archiving');
        return undefined;
      },
    },
  },
});

/** The demo's kinds, as `procstate worker --module` expects them. */
export const kinds: readonly KindDefinition[] = [demoUpload, demoEntry];

/** The collections of the demo's kinds on MongoDB (NOMAD keeps uploads and entries apart too). */
export const collections: Readonly<Record<string, string>> = { upload: 'uploads', entry: 'entries' };
