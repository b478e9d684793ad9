/**
 * In-process mutual exclusion per key. Saves of one entity made through one process queue here
 * instead of racing and retrying; saves from other processes are still caught by the version check.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.#tails.set(key, mine);
    try {
      if (previous) await previous;
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === mine) this.#tails.delete(key);
    }
  }
}
