/**
 * A counting semaphore: at most `size` tasks at once, the others wait in arrival order. Bounds
 * how many process functions a runtime's jobs run together, whether a job carries one run or a
 * batch of fifty.
 */
export class Slots {
  readonly #size: number;
  #used = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Runs `task` in a free slot, waiting for one first. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#used >= this.#size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#used += 1;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so none can be overtaken.
      if (next !== undefined) next();
      else this.#used -= 1;
    }
  }
}
