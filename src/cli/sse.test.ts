import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sseEvent } from '../api/routes/stream.js';
import { SseParser } from './sse.js';
import type { BusEvent } from '../engine/bus-events.js';

test('SseParser reads what the stream route writes, split anywhere, with pings and retry in between', () => {
  const batch = { id: '01kbatch', status: 'running', total: 3, succeeded: 1, note: 'a: b\nc' };
  const wire = `retry: 2000\n\n: ping\n\n${sseEvent({ type: 'batch.updated', orgId: 'o', data: batch } as unknown as BusEvent)}${sseEvent({ type: 'run.updated', orgId: 'o', data: { id: 'r' } } as unknown as BusEvent)}`;
  for (let cut = 0; cut <= wire.length; cut++) {
    const parser = new SseParser();
    const events = [...parser.feed(wire.slice(0, cut)), ...parser.feed(wire.slice(cut))];
    assert.deepEqual(events, [
      { type: 'batch.updated', data: batch },
      { type: 'run.updated', data: { id: 'r' } },
    ], `cut at ${cut}`);
  }
});

test('SseParser: CRLF line ends, several data lines, no event name, data that is not JSON', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.feed('data: {"a":\r\ndata: 1}\r\n\r\nevent: x\ndata:plain\n\nevent: empty\n\n'), [
    { type: 'message', data: { a: 1 } },
    { type: 'x', data: 'plain' },
  ]);
  assert.deepEqual(parser.feed('data: 1'), [], 'no event before its blank line');
  assert.deepEqual(parser.feed('\n\n'), [{ type: 'message', data: 1 }]);
});
