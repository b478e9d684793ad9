/**
 * A client of `GET /api/v1/stream` (Server-Sent Events) over a real socket of its own (no pooled
 * connection outlives the test): the events and comments as they come, and a way to wait for one.
 */
import { request } from 'node:http';
import { eventually } from './wait.js';

export interface SseEvent {
  event: string;
  data: unknown;
}

export interface StreamClient {
  status: number;
  contentType: string;
  /** Everything received, as text. */
  raw: string;
  events: SseEvent[];
  /** Comment lines (`: ping`). */
  comments: string[];
  /** The server ended the stream (or the connection broke). */
  ended: boolean;
  /** The first event (already received or still to come) that matches. */
  next(match: (e: SseEvent) => boolean, ms?: number, what?: string): Promise<SseEvent>;
  close(): void;
}

/** Opens the stream of `base` with `key` (null: no Authorization header); resolves once the response has begun. */
export function openStream(base: string, key: string | null): Promise<StreamClient> {
  const client: StreamClient = {
    status: 0,
    contentType: '',
    raw: '',
    events: [],
    comments: [],
    ended: false,
    next: (match, ms = 10_000, what = 'an event on the stream') => eventually(() => client.events.find(match), ms, what),
    close: () => {},
  };
  return new Promise<StreamClient>((resolve, reject) => {
    const req = request(`${base}/api/v1/stream`, { agent: false, headers: key ? { authorization: `Bearer ${key}` } : {} }, (res) => {
      client.status = res.statusCode ?? 0;
      client.contentType = String(res.headers['content-type']);
      client.close = () => req.destroy();
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        client.raw += chunk;
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const lines = buffer.slice(0, cut).split('\n');
          buffer = buffer.slice(cut + 2);
          client.comments.push(...lines.filter((l) => l.startsWith(':')));
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event && data !== undefined) client.events.push({ event, data: JSON.parse(data) });
        }
      });
      res.on('close', () => (client.ended = true));
      resolve(client);
    });
    req.on('error', (err) => (client.status ? (client.ended = true) : reject(err)));
    req.end();
  });
}
