/**
 * In-process events: `entity.saved`, `run.updated` (for Server-Sent Events) and `runs.queued`
 * (wakes this process's workers at once; other processes hear of new runs through Postgres
 * LISTEN/NOTIFY or their polling).
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

  publish(event: BusEvent): void {
    if (this.#emitter.listenerCount('event') > 0) this.#emitter.emit('event', event);
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
