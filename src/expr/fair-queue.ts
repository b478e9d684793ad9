/**
 * A queue served round-robin over keys (organizations): each take() serves the key after the last
 * one served, so one organization's backlog never delays another's next call by more than one of
 * its own calls. Used by the pool (calls waiting for a worker) and by the worker (calls received).
 */
export class FairQueue<T> {
  /** Per key, its items in arrival order; the Map's order is the round's order. */
  readonly #queues = new Map<string, T[]>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(key: string, item: T): void {
    const items = this.#queues.get(key);
    if (items) items.push(item);
    else this.#queues.set(key, [item]);
    this.#size++;
  }

  /** Put an item back at the front of its key's queue (a call sent again after its worker was stopped). */
  unshift(key: string, item: T): void {
    const items = this.#queues.get(key);
    if (items) items.unshift(item);
    else this.#queues.set(key, [item]);
    this.#size++;
  }

  /** The next item in round-robin order among the keys `eligible` accepts; undefined when there is none. */
  take(eligible?: (key: string) => boolean): T | undefined {
    for (const [key, items] of this.#queues) {
      if (eligible && !eligible(key)) continue;
      const item = items.shift()!;
      this.#queues.delete(key);
      if (items.length > 0) this.#queues.set(key, items); // to the back of the round
      this.#size--;
      return item;
    }
    return undefined;
  }

  /** Removes and returns every item. */
  clear(): T[] {
    const all = [...this.#queues.values()].flat();
    this.#queues.clear();
    this.#size = 0;
    return all;
  }
}
