/**
 * Reads `GET /api/v1/stream` (Server-Sent Events) with the API key in the Authorization header, which
 * browsers' EventSource cannot send. The wire format is the small part of the SSE spec the server
 * writes (src/api/routes/stream.ts): `event:` and `data:` lines, a blank line ends an event, `:`
 * starts a comment (the keep-alive ping), `retry:` is ignored (the caller decides what a drop means).
 */
import type { ApiClient } from './client.js';

export interface StreamEvent {
  type: string;
  data: unknown;
}

/** Splits SSE text into events; `feed` takes chunks as they come and returns the events they completed. */
export class SseParser {
  #buffer = '';

  feed(chunk: string): StreamEvent[] {
    this.#buffer += chunk;
    const events: StreamEvent[] = [];
    for (;;) {
      const end = /\r?\n\r?\n|\r\r/.exec(this.#buffer);
      if (!end) break;
      const block = this.#buffer.slice(0, end.index);
      this.#buffer = this.#buffer.slice(end.index + end[0].length);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }
}

function parseBlock(block: string): StreamEvent | null {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  const text = data.join('\n');
  try {
    return { type, data: JSON.parse(text) as unknown };
  } catch {
    return { type, data: text };
  }
}

/**
 * Opens the stream and calls `onOpen` once the server has answered (events from then on are not
 * missed), then `onEvent` for each event, awaiting each. Resolves when the stream ends or `signal`
 * aborts; rejects when it cannot be opened or breaks off (the caller falls back to polling).
 */
export async function readStream(api: ApiClient, signal: AbortSignal, onOpen: () => Promise<void>, onEvent: (e: StreamEvent) => Promise<void>): Promise<void> {
  const res = await api.open('/api/v1/stream', 'text/event-stream', signal);
  if (!res.body) throw new Error('the stream has no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  try {
    await onOpen();
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const event of parser.feed(value)) {
        if (signal.aborted) return;
        await onEvent(event);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
