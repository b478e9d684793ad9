/**
 * Postgres: bus events cross processes. An API server's streams (`GET /stream`) must show the runs
 * that `statusflow worker` processes execute and the saves other API servers make, so every process
 * sends the events published in it on the channel `statusflow_events`, and the processes that serve
 * streams LISTEN and deliver the other processes' events to their own bus.
 *
 * Events are sent only while another process listens: listeners announce themselves on
 * `statusflow_listeners` when they start, every ANNOUNCE_MS, and when a sender starts and asks, so a
 * single `statusflow start` pays nothing for the relay. Sending costs one statement per batch, not one
 * per event: while a batch is on its way, the events published meanwhile wait and go together in the
 * next one (split into payloads under Postgres's 8,000-byte limit). Delivery is best effort, as for the
 * stream itself: events lost with a broken connection are not sent again (a stream's client reads the
 * current state when it reconnects).
 */
import { newId } from '../domain/ids.js';
import type { Database } from '../store/db.js';
import type { Bus } from './bus.js';
import { EVENT_TYPES, type BusEvent } from './bus-events.js';

export const EVENTS_CHANNEL = 'statusflow_events';
export const LISTENERS_CHANNEL = 'statusflow_listeners';
/** How often a listening process says so; senders stop PEER_TTL_MS after they last heard one. */
const ANNOUNCE_MS = 10_000;
const PEER_TTL_MS = 3 * ANNOUNCE_MS;
/** Postgres refuses a NOTIFY payload of 8,000 bytes or more; this leaves room for the header. */
export const MAX_PAYLOAD_BYTES = 7_900;
/** Events waiting to be sent beyond this many are dropped (the database is unreachable or far behind). */
const MAX_PENDING = 10_000;
/** The longest error message an event carries across; longer ones are cut (the run keeps the whole). */
const MESSAGE_CHARS = 1_000;

export type RelayLog = (level: 'warn', msg: string, extra?: Record<string, unknown>) => void;

export class EventRelay {
  /** This process's mark on its payloads: what it hears of its own is ignored. */
  readonly origin = newId();
  #seq = 0;
  /** JSON of the events waiting to be sent. */
  #pending: string[] = [];
  #sending: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #unlisten: (() => Promise<void>)[] = [];
  #announcer: NodeJS.Timeout | undefined;
  #listening = false;
  #hearing: Promise<void> | undefined;
  /** Until when another process is known to listen. */
  #peersUntil = 0;
  #dropped = 0;
  #log: RelayLog = () => {};

  constructor(
    private readonly bus: Bus,
    private readonly database: Database,
  ) {}

  /** Events published here and not sent (too large, too many waiting, or the NOTIFY failed). */
  get dropped(): number {
    return this.#dropped;
  }

  /** True while another process is known to listen (events published now are sent). */
  get sending(): boolean {
    return this.#unsubscribe !== undefined && this.#peersUntil > Date.now();
  }

  /** Sends the events published in this process to the others while any listens (Postgres; nothing to do on SQLite). */
  async startSending(log?: RelayLog): Promise<void> {
    const { notifyPayloads } = this.database;
    if (!notifyPayloads || this.#unsubscribe) return;
    if (log) this.#log = log;
    this.#unsubscribe = this.bus.onPublished((event) => this.#queue(event));
    try {
      await this.#hearListeners();
    } catch (err) {
      this.#unsubscribe();
      this.#unsubscribe = undefined; // may be started again
      throw err;
    }
    await notifyPayloads(LISTENERS_CHANNEL, [`ask ${this.origin}`]);
  }

  /** Delivers the other processes' events to this process's bus (Postgres; nothing to do on SQLite). */
  async startListening(): Promise<void> {
    const { listen, notifyPayloads } = this.database;
    if (!listen || !notifyPayloads || this.#listening) return;
    this.#listening = true;
    try {
      this.#unlisten.push(await listen(EVENTS_CHANNEL, (payload) => this.#receive(payload)));
      await this.#hearListeners();
    } catch (err) {
      this.#listening = false; // may be started again
      throw err;
    }
    this.#announcer = setInterval(() => this.#announce(), ANNOUNCE_MS);
    this.#announcer.unref();
    this.#announce();
  }

  /** Stops both, after sending what is waiting. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearInterval(this.#announcer);
    this.#announcer = undefined;
    await this.#sending;
    await Promise.all(this.#unlisten.map((unlisten) => unlisten()));
    this.#unlisten = [];
    this.#hearing = undefined;
    this.#listening = false;
  }

  /** `hello <origin>`: a process listens (senders send for the next PEER_TTL_MS); `ask <origin>`: a sender started (listeners say hello). */
  #hearListeners(): Promise<void> {
    const listen = this.database.listen!;
    this.#hearing ??= listen(LISTENERS_CHANNEL, (payload) => {
      const [what, origin] = payload.split(' ');
      if (origin === this.origin) return;
      if (what === 'hello') this.#peersUntil = Date.now() + PEER_TTL_MS;
      else if (what === 'ask' && this.#announcer) this.#announce();
    }).then(
      (unlisten) => {
        this.#unlisten.push(unlisten);
      },
      (err: unknown) => {
        this.#hearing = undefined; // may be tried again
        throw err;
      },
    );
    return this.#hearing;
  }

  #announce(): void {
    this.database.notifyPayloads!(LISTENERS_CHANNEL, [`hello ${this.origin}`]).catch(() => {}); // the next one will do
  }

  #queue(event: BusEvent): void {
    if (this.#peersUntil <= Date.now()) return; // nobody else listens
    if (this.#pending.length >= MAX_PENDING) {
      this.#dropped++;
      return;
    }
    const json = fitted(event);
    if (json === undefined) {
      this.#dropped++;
      return;
    }
    this.#pending.push(json);
    this.#sending ??= this.#send();
  }

  async #send(): Promise<void> {
    // Let the events of the same moment (a save publishes several) gather into one statement.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await this.database.notifyPayloads!(EVENTS_CHANNEL, this.#payloads(batch));
      } catch (err) {
        this.#dropped += batch.length;
        this.#log('warn', 'events not relayed to other statusflow processes', { events: batch.length, err: (err as Error).message });
      }
    }
    this.#sending = undefined;
  }

  /** `<origin> <seq>\n[event,…]`, each under MAX_PAYLOAD_BYTES; the sequence number keeps payloads distinct (Postgres folds identical ones). */
  #payloads(events: readonly string[]): string[] {
    const payloads: string[] = [];
    let part: string[] = [];
    let bytes = 0;
    const flush = () => {
      if (part.length === 0) return;
      payloads.push(`${this.origin} ${this.#seq++}\n[${part.join(',')}]`);
      part = [];
      bytes = 0;
    };
    for (const json of events) {
      const size = Buffer.byteLength(json) + 1;
      if (bytes + size > MAX_PAYLOAD_BYTES - 64) flush();
      part.push(json);
      bytes += size;
    }
    flush();
    return payloads;
  }

  #receive(payload: string): void {
    const newline = payload.indexOf('\n');
    if (newline < 0 || payload.startsWith(`${this.origin} `)) return;
    let events: unknown;
    try {
      events = JSON.parse(payload.slice(newline + 1));
    } catch {
      return; // not ours: anyone with access to the database can NOTIFY this channel
    }
    if (!Array.isArray(events)) return;
    for (const e of events) if (isBusEvent(e)) this.bus.deliver(e);
  }
}

/** The event's JSON, with a long error message cut and error details left out if it would not fit a payload; undefined if it still does not. */
function fitted(event: BusEvent): string | undefined {
  const json = JSON.stringify(event);
  const limit = MAX_PAYLOAD_BYTES - 64;
  if (json.length * 3 <= limit || Buffer.byteLength(json) <= limit) return json;
  if (event.type === 'run.updated' && event.data.error) {
    const { details: _details, ...error } = event.data.error;
    if (error.message.length > MESSAGE_CHARS) error.message = `${error.message.slice(0, MESSAGE_CHARS)}…`;
    if (error.cause && error.cause.message.length > MESSAGE_CHARS) error.cause = { ...error.cause, message: `${error.cause.message.slice(0, MESSAGE_CHARS)}…` };
    const trimmed = JSON.stringify({ ...event, data: { ...event.data, error } });
    if (Buffer.byteLength(trimmed) <= limit) return trimmed;
  }
  return undefined;
}

function isBusEvent(e: unknown): e is BusEvent {
  if (!e || typeof e !== 'object') return false;
  const { type, orgId } = e as Partial<BusEvent>;
  const { data } = e as { data?: unknown };
  return typeof type === 'string' && EVENT_TYPES.has(type) && typeof orgId === 'string' && typeof data === 'object' && data !== null && !Array.isArray(data);
}
