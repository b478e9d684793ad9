// Micro benchmark of the expression evaluator: `npx tsx bench/expr/run.ts [seconds]`.
// The save pipeline calls evaluateMany once per entity save with ~4 requirement expressions.
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import jsonata from 'jsonata';
import { createEvaluator } from '../../src/expr/index.js';

const SOURCES = [
  '$contains(order_number, /^ORD-[0-9]+$/)',
  "$exists(customer_email) and customer_email != ''",
  'total > 0',
  'paid = true',
];
const CALLERS = 16;
const SECONDS = Number(process.argv[2] ?? 3);

function input(i: number): Record<string, unknown> {
  const attributes = { order_number: `ORD-${i}`, customer_email: 'buyer@example.com', total: 10 + (i % 7), paid: i % 2 === 0 };
  return { ...attributes, entity: { id: `e${i}`, type: 'order', status: 'new', attributes }, tasks: {}, links: {}, now: '2025-01-01T00:00:00Z' };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** Run `call` from CALLERS concurrent loops for SECONDS; report throughput, latency and main-thread load. */
async function measure(label: string, call: (i: number) => Promise<unknown>): Promise<void> {
  const warmUntil = performance.now() + 500;
  let i = 0;
  while (performance.now() < warmUntil) await call(i++);
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await call(i++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const loop = performance.eventLoopUtilization(elu);
  latencies.sort((a, b) => a - b);
  const calls = latencies.length;
  const mainUs = (loop.active * 1000) / calls; // event-loop busy time of the main thread
  const cpuUs = (used.user + used.system) / calls; // all threads of the process
  console.log(
    `${label.padEnd(36)} ${(calls / elapsed).toFixed(0).padStart(6)} calls/s   p50 ${percentile(latencies, 0.5).toFixed(2)} ms   p99 ${percentile(latencies, 0.99).toFixed(2)} ms` +
      `   main thread ${mainUs.toFixed(0).padStart(3)} µs/call   CPU ${cpuUs.toFixed(0).padStart(3)} µs/call (${((used.user + used.system) / 1e4 / elapsed).toFixed(0)}% of a core)`,
  );
}

console.log(`expr bench: ${SOURCES.length} expressions per call, ${CALLERS} concurrent callers, ${SECONDS}s per run`);
console.log('main thread = busy time of its event loop per call; CPU = CPU time of all threads per call (less sensitive to other load than calls/s)');
const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${load} at start\n`);

const compiled = SOURCES.map((source) => jsonata(source));
await measure('baseline: main thread, no guards', async (i) => {
  const data = input(i);
  const out: unknown[] = [];
  for (const expression of compiled) out.push(await expression.evaluate(data));
  return out;
});

for (const threads of [1, 2]) {
  const evaluator = createEvaluator({ threads });
  try {
    await measure(`evaluateMany, worker pool threads=${threads}`, (i) => evaluator.evaluateMany(SOURCES, input(i)));
  } finally {
    await evaluator.close();
  }
}
