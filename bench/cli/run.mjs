// `statusflow --help` start-up time (goal: ≤ 300 ms on this machine, issue 13). Runs the build
// (`npm run build` first) N times per command, one after another, and prints wall-clock figures next to
// bare `node -e 0`, so the CLI's own share is visible on a loaded machine.
// Then the wall time of `statusflow demo` from launch until it prints "Try next:" (goal: under a minute),
// three times, each in a fresh data folder on a free port.
// Usage: node bench/cli/run.mjs [runs=20] [--json file]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = `${root}dist/cli/main.js`;
if (!existsSync(main)) {
  console.error('no build: run "npm run build" first');
  process.exit(1);
}
const runs = Number(process.argv[2] ?? 20) || 20;
const jsonAt = process.argv.indexOf('--json');
const cases = [
  ['node -e 0 (baseline)', ['-e', '0']],
  ['statusflow --version', [main, '--version']],
  ['statusflow --help', [main, '--help']],
  ['statusflow apply --help', [main, 'apply', '--help']],
];

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const results = [];
console.log(`cli bench: ${runs} rounds, node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start`);
console.log('each round runs every command once, in turn, so load that comes and goes weighs on all of them alike;');
console.log('"over node" is the median of (command − bare node) within a round: what the CLI itself costs');
// Interleaved: round after round of every case.
const wall = cases.map(() => []);
for (let i = 0; i < runs; i++) {
  cases.forEach(([name, args], c) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    wall[c].push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
  });
}
cases.forEach(([name], c) => {
  const over = wall[c].map((ms, i) => ms - wall[0][i]).sort((a, b) => a - b);
  const sorted = [...wall[c]].sort((a, b) => a - b);
  const row = { name, runs, minMs: +sorted[0].toFixed(1), p50Ms: +pct(sorted, 50).toFixed(1), p90Ms: +pct(sorted, 90).toFixed(1), maxMs: +sorted[sorted.length - 1].toFixed(1), overNodeP50Ms: +pct(over, 50).toFixed(1) };
  results.push(row);
  console.log(`${name.padEnd(26)} min ${row.minMs.toFixed(0).padStart(4)} ms   p50 ${row.p50Ms.toFixed(0).padStart(4)} ms   p90 ${row.p90Ms.toFixed(0).padStart(4)} ms   max ${row.maxMs.toFixed(0).padStart(4)} ms   over node p50 ${row.overNodeP50Ms.toFixed(0).padStart(4)} ms`);
});

const freePort = () => new Promise((ok) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); }); });
async function demoOnce() {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-bench-demo-'));
  const env = { ...process.env, PORT: String(await freePort()), STATUSFLOW_DATA_DIR: join(dir, 'demo-data') };
  for (const k of ['DATABASE_URL', 'STATUSFLOW_ADMIN_KEY', 'NODE_OPTIONS']) delete env[k];
  const t0 = performance.now();
  const child = spawn(process.execPath, [main, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ms = await new Promise((ok, fail) => {
    child.stdout.on('data', (d) => { out += d; if (out.includes('Try next:')) ok(performance.now() - t0); });
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => fail(new Error(`the demo exited (${code}) before it finished:\n${out}`)));
  });
  child.removeAllListeners('exit');
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
  return { ms, inside: Number(/Done in ([\d.]+) s/.exec(out)?.[1]) * 1000 };
}
const demos = [];
for (let i = 0; i < 3; i++) demos.push(await demoOnce());
for (const d of demos) console.log(`statusflow demo: ${(d.ms / 1000).toFixed(1)} s from launch to "Try next:" (${(d.inside / 1000).toFixed(1)} s after the server started work)`);
results.push({ name: 'statusflow demo (launch to "Try next:")', runs: demos.length, msEach: demos.map((d) => Math.round(d.ms)) });

const help = results.find((r) => r.name === 'statusflow --help');
console.log(`goal: statusflow --help p50 ≤ 300 ms → ${help.p50Ms <= 300 ? 'met' : 'NOT met'} (${help.p50Ms} ms)`);
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify({ at: new Date().toISOString(), node: process.version, loadavg: loadavg(), results }, null, 2)}\n`);
