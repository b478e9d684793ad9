/**
 * Where the server's CPU goes during the measured phases, from `node --cpu-prof` files (one per thread).
 * Two views per thread:
 *  - self time by place: package, Node subsystem (undici = the fetch of http.request tasks) or
 *    statusflow folder; native code is charged to the JavaScript that called it;
 *  - time by statusflow step: each sample is charged to the innermost statusflow function on its
 *    stack (so Kysely, better-sqlite3, pg, fastify… called from claimRuns count as claimRuns).
 *    Work resumed after an `await` has only the async function's own frame below it, so library
 *    code that runs in its own continuations (pg's protocol parsing, fastify's reply) stays with
 *    the library: read it as "our code and what it calls synchronously".
 *
 *   npx tsx bench/e2e/profile.ts <dir-or-file.cpuprofile>…
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }
/** Microseconds on the monotonic clock (process.hrtime), which V8 profiles use too. */
export type Window = [startUs: number, endUs: number];

const ROOT = resolve(import.meta.dirname, '../..');

function place(url: string): string | undefined {
  if (url === '') return undefined;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) {
    if (url.includes('deps/undici')) return 'node: undici (fetch)';
    const name = url.slice(5).replace(/^internal\//, '').split('/')[0]!.replace(/^_/, '');
    if (/^(http|https|http_\w+|net|stream_base_commons|streams|stream|dns|tls|url|dgram)$/.test(name)) return 'node: http/net/streams';
    if (/^(process|timers|async_hooks|promise|event_target|events|task_queues|abort_controller)$/.test(name)) return 'node: event loop/timers/promises/abort';
    if (/^(worker|worker_threads|per_context)$/.test(name)) return 'node: worker messaging';
    return `node: ${name}`;
  }
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(ROOT)) {
    const rel = path.slice(ROOT.length + 1).split('/');
    return rel[0] === 'src' || rel[0] === 'dist' ? `statusflow ${rel.slice(1, -1).join('/') || rel[1]}` : `statusflow ${rel[0]}`;
  }
  return url;
}

const ours = (url: string) => {
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(join(ROOT, 'dist')) || path.startsWith(join(ROOT, 'src'));
};

export interface ThreadSummary { file: string; busyMs: number; idleMs: number; byPlace: Array<[string, number]>; byStep: Array<[string, number]>; top: Array<[string, number]> }

export function summarizeProfile(file: string, windows?: readonly Window[]): ThreadSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, { place: string; step: string }>();
  const classify = (id: number) => {
    let m = memo.get(id);
    if (m) return m;
    let where: string | undefined;
    let step: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined && (!where || !step); cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      where ??= place(f.url);
      if (!step && ours(f.url)) step = `${basename(f.url).replace(/\.[jt]s$/, '')} ${f.functionName || '(anonymous)'}`;
    }
    const { functionName: fn } = byId.get(id)!.callFrame;
    const own = byId.get(id)!.callFrame.url;
    const placeName = fn === '(garbage collector)' ? 'GC' : fn === '(program)' ? 'V8/native (program)' : own === '' ? `${where ?? '(no JS caller)'} › native` : place(own)!;
    m = { place: placeName, step: fn === '(garbage collector)' ? 'GC' : fn === '(program)' ? '(program)' : (step ?? `(no statusflow frame: ${where ?? 'native'})`) };
    memo.set(id, m);
    return m;
  };
  const add = (map: Map<string, number>, k: string, ms: number) => map.set(k, (map.get(k) ?? 0) + ms);
  const byPlace = new Map<string, number>();
  const byStep = new Map<string, number>();
  const top = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (windows && !windows.some(([a, b]) => at >= a && at <= b)) continue;
    const ms = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const id = p.samples[i]!;
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    busy += ms;
    const c = classify(id);
    add(byPlace, c.place, ms);
    add(byStep, c.step, ms);
    add(top, `${f.functionName || '(anonymous)'} ${f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : '(native)'} [${c.place}]`, ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { file: basename(file), busyMs: busy, idleMs: idle, byPlace: sorted(byPlace), byStep: sorted(byStep), top: sorted(top) };
}

export function formatSummary(s: ThreadSummary, rows = 30): string {
  const pct = (ms: number) => `${((ms / s.busyMs) * 100).toFixed(1).padStart(5)}%`;
  const list = (xs: Array<[string, number]>) => xs.filter(([, ms]) => ms / s.busyMs >= 0.004).slice(0, rows).map(([k, ms]) => `    ${pct(ms)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${k}`);
  return [
    `${s.file}: ${(s.busyMs / 1000).toFixed(2)} s busy, ${(s.idleMs / 1000).toFixed(2)} s idle`,
    '  self time by place:',
    ...list(s.byPlace),
    '  time by innermost statusflow function (includes the libraries it calls synchronously):',
    ...list(s.byStep),
    '  top functions by self time:',
    ...list(s.top.slice(0, 15)),
  ].join('\n');
}

/** Every .cpuprofile in `dir` (one per thread), the main thread (thread id 0) first. */
export function summarizeProfiles(dir: string, windows?: readonly Window[]): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const tid = (f: string) => Number(f.split('.').at(-3));
  files.sort((a, b) => tid(a) - tid(b));
  return files.map((f) => formatSummary(summarizeProfile(join(dir, f), windows))).join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  for (const arg of process.argv.slice(2)) console.log(statSync(arg).isDirectory() ? summarizeProfiles(arg) : formatSummary(summarizeProfile(arg)));
}
