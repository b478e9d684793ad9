// Preloaded into bench/batch's server (node --import) by `run.ts --memory-log`, so into its main thread (thread 0)
// and its expression worker thread alike: every 500 ms each appends one line of
// process.memoryUsage() in MB, and the heap spaces' committed MB (new = the young generation), to $BENCH_MEMORY_LOG as
// JSON (`{thread, t, rss, heapTotal, heapUsed, external, arrayBuffers, spaces}`). For measurement only; changes no behaviour.
import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { threadId } from 'node:worker_threads';

const out = process.env.BENCH_MEMORY_LOG;
const MB = 1024 * 1024;
const t0 = Date.now();
if (out) {
  setInterval(() => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), Math.round(s.space_size / MB)]));
    const line = { thread: threadId, t: (Date.now() - t0) / 1000, rss: Math.round(m.rss / MB), heapTotal: Math.round(m.heapTotal / MB), heapUsed: Math.round(m.heapUsed / MB), external: Math.round(m.external / MB), arrayBuffers: Math.round(m.arrayBuffers / MB), spaces };
    appendFileSync(out, JSON.stringify(line) + '\n');
  }, 500).unref();
}
