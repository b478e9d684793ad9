/**
 * The live stream: one `GET /api/v1/stream` per tab, read with fetch (EventSource cannot send the
 * Authorization header, and the key must not go in a URL). Each event invalidates the cached queries
 * it makes stale; invalidations are coalesced over 150 ms so a burst of saves costs one refetch.
 */
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import type { Run } from './types';

export type StreamState = 'connecting' | 'live' | 'offline';

interface RunEvent { id: string; process: string; entityId: string; entityType: string; status: string; step?: { index: number; task: string; status: string } }

let stepEvents = false;
/**
 * True once a `run.updated` event carried the step it committed (`step: {index, task, status}`): the
 * server then reports step progress itself, and a watched run need not be polled for it.
 */
export function streamSendsSteps(): boolean {
  return stepEvents;
}
interface EntityEvent { id: string; type: string }
interface BatchEvent { id: string; total?: number; status?: string }

export function openStream(key: string, client: QueryClient, onState: (s: StreamState) => void): () => void {
  const abort = new AbortController();
  const pending = new Map<string, QueryKey>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stale = (...keys: QueryKey[]) => {
    for (const k of keys) pending.set(JSON.stringify(k), k);
    timer ??= setTimeout(() => {
      timer = undefined;
      const keys = [...pending.values()];
      pending.clear();
      for (const queryKey of keys) void client.invalidateQueries({ queryKey });
    }, 150);
  };
  const handle = (type: string, data: string) => {
    let d: unknown;
    try {
      d = JSON.parse(data);
    } catch {
      return;
    }
    if (type === 'entity.saved') {
      const e = d as EntityEvent;
      stale(['entities', e.type], ['entity', e.type, e.id], ['events', e.id]);
    } else if (type === 'run.updated') {
      const r = d as RunEvent;
      if (r.step && typeof r.step.index === 'number') {
        stepEvents = true;
        // Show the step's new status at once; the refetch below brings its input, output and timing.
        const step = r.step;
        client.setQueryData<Run>(['run', r.id], (run) => {
          if (!run) return run;
          // By task key (the index is the task's place in the process, which a run's steps follow).
          const steps = [...(run.steps ?? [])];
          const at = steps.findIndex((s) => s.task === step.task);
          if (at >= 0) steps[at] = { ...steps[at]!, status: step.status };
          else steps.push({ task: step.task, status: step.status });
          return { ...run, status: r.status as Run['status'], steps };
        });
      }
      // A step went by and the run goes on: only the views that show steps (and links a step may make) changed.
      if (r.step && r.status === 'running') return stale(['run', r.id], ['entity-runs', r.entityId], ['links', r.entityId]);
      // A run that ended may have met a 429 (the connection's detail and the list's "recent 429s" count).
      stale(['runs'], ['run', r.id], ['entity-runs', r.entityId], ['links', r.entityId], ['processes'], ['connection'], ['connections']);
    } else if (type === 'batch.updated') {
      const b = d as BatchEvent;
      // The event carries the batch: show it at once, then let the lists catch up.
      if (typeof b.total === 'number' && b.status) client.setQueryData(['batch', b.id], b);
      stale(['batches'], ['batch-items', b.id]);
    }
  };

  void (async () => {
    let delay = 1000;
    let connectedBefore = false;
    while (!abort.signal.aborted) {
      onState('connecting');
      try {
        const res = await fetch('/api/v1/stream', { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`stream: ${res.status}`);
        onState('live');
        delay = 1000;
        // Anything missed while disconnected: refetch what is on screen (not on the first connection).
        if (connectedBefore) void client.invalidateQueries();
        connectedBefore = true;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut: number;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            }
            if (data.length) handle(event, data.join('\n'));
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      onState('offline');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  })();
  return () => {
    abort.abort();
    clearTimeout(timer);
  };
}
