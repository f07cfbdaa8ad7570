/**
 * Turns: the writers of one proc inside one runtime go one after the other, in arrival order.
 * They would conflict anyway (each needs the proc's next sequence number); taking turns here
 * leaves only other runtimes to race with, and no writer of this runtime overtakes another.
 */
export class Turns {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task of `key` has ended. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#tails.set(key, tail);
    if (previous !== undefined) await previous;
    try {
      return await task();
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
      release();
    }
  }
}
