/**
 * Summarizes the V8 CPU profiles written by `node --cpu-prof` (one file per thread): self time by
 * package / source folder / Node subsystem, and the top functions. Native functions (JSON.parse,
 * better-sqlite3's prepare/run…) are charged to the package of the JavaScript that called them.
 *
 *   npx tsx bench/save/cpuprofile.ts <dir-or-file.cpuprofile>…
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const ROOT = resolve(import.meta.dirname, '../..');

function place(url: string): string | undefined {
  if (url === '') return undefined;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) {
    const name = url.slice(5).replace(/^internal\//, '').split('/')[0]!.replace(/^_/, '');
    if (/^(http|https|http_\w+|net|stream_base_commons|streams|stream|dns|tls|url)$/.test(name)) return 'node: http/net/streams';
    if (/^(process|timers|async_hooks|promise|event_target|events|task_queues)$/.test(name)) return 'node: event loop/timers/promises';
    if (/^(worker|worker_threads|per_context|deps)$/.test(name)) return 'node: worker messaging';
    return `node: ${name}`;
  }
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(ROOT)) {
    const rel = path.slice(ROOT.length + 1).split('/');
    return rel[0] === 'src' || rel[0] === 'dist' ? `statusflow ${rel[1]?.replace(/\.[jt]s$/, '') ?? ''}` : `statusflow ${rel[0]}`;
  }
  return url;
}

/** A time window in microseconds of the monotonic clock (`process.hrtime`), which V8 profiles use too. */
export type Window = [startUs: number, endUs: number];

/** Self time per node in ms, from the sample stream; only samples inside `windows` when given. */
function selfTimes(p: Profile, windows?: readonly Window[]): Map<number, number> {
  const t = new Map<number, number>();
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (windows && !windows.some(([a, b]) => at >= a && at <= b)) continue;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    t.set(p.samples[i]!, (t.get(p.samples[i]!) ?? 0) + dt);
  }
  return t;
}

export function summarizeProfile(file: string, windows?: readonly Window[], top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const where = place(byId.get(cur)!.callFrame.url);
      if (where) return where;
    }
    return '(no JS caller)';
  };
  const self = selfTimes(p, windows);
  const categories = new Map<string, number>();
  const functions = new Map<string, { ms: number; where: string }>();
  let busy = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const { functionName: fn, url, lineNumber } = byId.get(id)!.callFrame;
    if (fn === '(idle)') {
      idle += ms;
      continue;
    }
    busy += ms;
    let category: string;
    if (fn === '(garbage collector)') category = 'GC';
    else if (fn === '(program)') category = 'V8/native, unattributed (program)';
    else if (url === '') category = `${owner(id)} › native`;
    else category = place(url)!;
    categories.set(category, (categories.get(category) ?? 0) + ms);
    const name = `${fn || '(anonymous)'} ${url ? `${basename(url)}:${lineNumber + 1}` : '(native)'}`;
    const f = functions.get(name) ?? { ms: 0, where: category };
    f.ms += ms;
    functions.set(name, f);
  }
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  const out = [`${basename(file)}: ${(busy / 1000).toFixed(2)} s busy, ${(idle / 1000).toFixed(2)} s idle`];
  out.push('  self time by place:');
  for (const [c, ms] of [...categories].sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms / busy >= 0.005)) {
    out.push(`    ${pct(ms)}  ${(ms / 1000).toFixed(2).padStart(6)} s  ${c}`);
  }
  out.push(`  top ${top} functions by self time:`);
  for (const [name, f] of [...functions].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    out.push(`    ${pct(f.ms)}  ${name}  [${f.where}]`);
  }
  return out.join('\n');
}

/** Every .cpuprofile in `dir` (one per thread), the main thread (thread id 0) first. */
export function summarizeProfiles(dir: string, windows?: readonly Window[], title = 'CPU profile'): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const tid = (f: string) => Number(f.split('.').at(-3));
  files.sort((a, b) => tid(a) - tid(b));
  return [`${title} (node --cpu-prof), per thread; thread 0 is the main thread:`, ...files.map((f) => summarizeProfile(join(dir, f), windows))].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  for (const arg of process.argv.slice(2)) {
    console.log(statSync(arg).isDirectory() ? summarizeProfiles(arg) : summarizeProfile(arg));
  }
}
