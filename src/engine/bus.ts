/**
 * In-process events: `entity.saved`, `run.updated`, `batch.updated` (bus-events.ts; for Server-Sent Events) and `runs.queued`
 * (wakes this process's workers at once; other processes hear of new runs through Postgres
 * LISTEN/NOTIFY or their polling). On Postgres the event relay (event-relay.ts) sends what is
 * published here to the other statusflow processes and delivers theirs here.
 */
import { EventEmitter } from 'node:events';
import type { BusEvent } from './bus-events.js';

/** The events and their builders are in bus-events.ts. */
export type { BusEvent } from './bus-events.js';

export class Bus {
  readonly #emitter = new EventEmitter();
  /** Every open stream subscribes; there can be many. */
  readonly #subscribers = new Set<(event: BusEvent) => void>();
  readonly #relays = new Set<(event: BusEvent) => void>();

  /** An event that happened in this process. */
  publish(event: BusEvent): void {
    this.deliver(event);
    notifyAll(this.#relays, event);
  }

  /** An event that happened in another process (relayed): reaches the subscribers here only. */
  deliver(event: BusEvent): void {
    notifyAll(this.#subscribers, event);
  }

  /** Events published in this process (not those delivered from elsewhere): what the relay sends on. */
  onPublished(listener: (event: BusEvent) => void): () => void {
    return addTo(this.#relays, listener);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    return addTo(this.#subscribers, listener);
  }

  /** Runs were queued (by this process, committed): wake the workers here and, on Postgres, elsewhere. */
  runsQueued(): void {
    this.#emitter.emit('runs.queued');
  }

  /**
   * A run of a process at its concurrency cap ended: runs waiting only for its slot can be claimed.
   * Wakes the workers like runsQueued (here and, on Postgres, elsewhere), but tells them that only
   * runs of a capped process they saw already became claimable (see the executor's look-past).
   */
  slotFreed(): void {
    this.#emitter.emit('slot.freed');
  }

  onSlotFreed(listener: () => void): () => void {
    this.#emitter.on('slot.freed', listener);
    return () => this.#emitter.off('slot.freed', listener);
  }

  onRunsQueued(listener: () => void): () => void {
    this.#emitter.on('runs.queued', listener);
    return () => this.#emitter.off('runs.queued', listener);
  }
}

function addTo(set: Set<(event: BusEvent) => void>, listener: (event: BusEvent) => void): () => void {
  // Wrapped, so that one function subscribed twice is two subscriptions.
  const entry = (event: BusEvent) => listener(event);
  set.add(entry);
  return () => set.delete(entry);
}

/** Each listener is called even if another throws: a failing stream must not fail a save that already committed. */
function notifyAll(set: ReadonlySet<(event: BusEvent) => void>, event: BusEvent): void {
  for (const listener of set) {
    try {
      listener(event);
    } catch {
      // the listener's own problem; the others and the publisher go on
    }
  }
}
