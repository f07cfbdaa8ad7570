/**
 * Waiting for something for a bounded time, as every drain and close does: the wait ends when
 * `work` settles or `ms` have passed, whichever is first, and the timer goes with it.
 */

/**
 * Resolves once `work` resolved or `ms` passed; rejects if `work` rejects first. With
 * `keepAlive: false` the timer does not hold the process open by itself.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number, options: { readonly keepAlive?: boolean } = {}): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise((resolve) => {
        timer = setTimeout(resolve, ms);
        if (options.keepAlive === false) timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
