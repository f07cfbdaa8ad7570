/**
 * Waiting for a proc to get somewhere. Transitions this runtime commits arrive as notices that
 * carry the new state, so they cost no read; changes made by other processes are found by
 * polling, where one read of the document says whether anything changed and the proc is loaded
 * through the ledger (and checked) only when it did.
 */
import { WaitTimeoutError } from '../../machines/errors.js';
import type { ProcRef } from '../../machines/proc-context.js';
import { toProcSnapshot, type ProcSnapshot } from '../proc-snapshot.js';
import type { Commit } from './commit.js';
import type { Notices } from './notices.js';
import { positive } from './texts.js';

/** Options of the wait helpers. */
export interface WaitOptions {
  /** Give up after this long, with `WaitTimeoutError`. @defaultValue 60000 */
  readonly timeoutMs?: number | undefined;
  /** Look for changes made by other processes this often. @defaultValue 200 */
  readonly pollMs?: number | undefined;
}

/**
 * Resolves once `predicate` holds for the proc; a proc that does not exist yet is waited for.
 * @throws WaitTimeoutError after `timeoutMs`; CorruptDocumentError when the proc cannot be loaded.
 */
export function waitFor(
  deps: { readonly commit: Commit; readonly notices: Notices },
  ref: ProcRef,
  predicate: (proc: ProcSnapshot) => boolean,
  options: WaitOptions = {},
): Promise<ProcSnapshot> {
  const timeoutMs = positive(options.timeoutMs, 60_000, 'timeoutMs');
  const pollMs = positive(options.pollMs, 200, 'pollMs');
  return new Promise<ProcSnapshot>((resolve, reject) => {
    let last: ProcSnapshot | undefined;
    let settled = false;
    let polling = false;
    const finish = (error: unknown, proc?: ProcSnapshot) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(poller);
      unsubscribe();
      if (error === undefined && proc !== undefined) resolve(proc);
      else reject(error);
    };
    const consider = (proc: ProcSnapshot) => {
      // Notices and polls can arrive out of order; never go back to an older state. The same
      // state is asked again: a predicate may look at more than the proc.
      if (settled || (last !== undefined && proc.seq < last.seq)) return;
      last = proc;
      if (predicate(proc)) finish(undefined, proc);
    };
    const check = async (always: boolean) => {
      if (polling || settled) return;
      polling = true;
      try {
        if (!always && last !== undefined) {
          const hint = await deps.commit.ledger.peek(ref);
          if (hint !== undefined && hint.seq <= last.seq) {
            consider(last);
            return;
          }
        }
        const proc = await deps.commit.load(ref);
        if (proc !== undefined) consider(toProcSnapshot(proc));
      } catch (error) {
        finish(error);
      } finally {
        polling = false;
      }
    };
    const deadline = setTimeout(() => finish(new WaitTimeoutError(ref.kind, ref.id, timeoutMs, last?.process_status)), timeoutMs);
    const poller = setInterval(() => void check(false), pollMs);
    const unsubscribe = deps.notices.subscribe((notice) => {
      if (notice.kind === ref.kind && notice.id === ref.id && notice.proc !== undefined) consider(notice.proc);
    });
    void check(true);
  });
}
