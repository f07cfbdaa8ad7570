/**
 * Group commit: operations submitted while a round trip is in flight share the next one.
 *
 * The first item of a quiet moment goes out at the end of the current turn of the event loop
 * (`setImmediate`: no timer, so a lone transition waits for nothing); whatever is submitted while
 * that round trip is in flight goes out together in the next, up to `maxBatch` items. One round
 * trip is in flight at a time per group, which is what makes batches form under load and keeps
 * the order of two submissions for the same key.
 */

/** Sends one batch; returns one result per item, in order. */
export type BatchSender<TItem, TResult> = (items: readonly TItem[]) => Promise<TResult[]>;

interface Pending<TItem, TResult> {
  readonly item: TItem;
  readonly resolve: (result: TResult) => void;
  readonly reject: (error: unknown) => void;
}

/** A queue of operations sent in batches. Internal. */
export class GroupCommit<TItem, TResult> {
  readonly #send: BatchSender<TItem, TResult>;
  readonly #maxBatch: number;
  #queue: Array<Pending<TItem, TResult>> = [];
  #running = false;

  constructor(send: BatchSender<TItem, TResult>, maxBatch: number) {
    this.#send = send;
    this.#maxBatch = maxBatch;
  }

  /** Queues one item; resolves with its result once its batch was sent. */
  submit(item: TItem): Promise<TResult> {
    return new Promise<TResult>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#wake();
    });
  }

  /** Queues several items to go out together (as far as `maxBatch` allows). */
  submitAll(items: readonly TItem[]): Promise<TResult[]> {
    return Promise.all(items.map((item) => this.submit(item)));
  }

  #wake(): void {
    if (this.#running) return;
    this.#running = true;
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.#send(batch.map((pending) => pending.item));
          batch.forEach((pending, index) => pending.resolve(results[index] as TResult));
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
