/**
 * In-process events: `entity.saved`, `run.updated` (for Server-Sent Events) and `runs.queued`
 * (wakes this process's workers at once; other processes hear of new runs through Postgres
 * LISTEN/NOTIFY or their polling). On Postgres the event relay (event-relay.ts) sends what is
 * published here to the other statusflow processes and delivers theirs here.
 */
import { EventEmitter } from 'node:events';

export interface BusEvent {
  type: 'entity.saved' | 'run.updated' | 'batch.updated';
  orgId: string;
  data: unknown;
}

export class Bus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Every open SSE stream listens; there can be many.
    this.#emitter.setMaxListeners(0);
  }

  /** An event that happened in this process. */
  publish(event: BusEvent): void {
    if (this.#emitter.listenerCount('event') > 0) this.#emitter.emit('event', event);
    if (this.#emitter.listenerCount('published') > 0) this.#emitter.emit('published', event);
  }

  /** An event that happened in another process (relayed): reaches the subscribers here only. */
  deliver(event: BusEvent): void {
    if (this.#emitter.listenerCount('event') > 0) this.#emitter.emit('event', event);
  }

  /** Events published in this process (not those delivered from elsewhere): what the relay sends on. */
  onPublished(listener: (event: BusEvent) => void): () => void {
    this.#emitter.on('published', listener);
    return () => this.#emitter.off('published', listener);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  /** Runs were queued (by this process, committed): wake the workers here and, on Postgres, elsewhere. */
  runsQueued(): void {
    this.#emitter.emit('runs.queued');
  }

  onRunsQueued(listener: () => void): () => void {
    this.#emitter.on('runs.queued', listener);
    return () => this.#emitter.off('runs.queued', listener);
  }
}
