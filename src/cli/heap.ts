/**
 * The server's heap growth (STATUSFLOW_HEAP_GROWTH_PERCENT, default 100). After each full GC, V8 lets the old
 * generation grow to a factor of what survived before the next one; on a machine whose heap limit is 2 GB or
 * more (any with 16 GB of RAM) that factor is up to 4. A busy worker promotes much short-lived garbage (a run's
 * state outlives a few young-generation GCs while its provider call is out), so the heap filled with it: in
 * bench/batch (20,000 orders, SQLite) a heap snapshot mid-batch held 34 MB (28 MB idle), yet the heap reached
 * 145–195 MB and the server's RSS 280–322 MB. Factor 2 (100 %): heap ≤ 117 MB, RSS 227–247 MB; 1.5: 223–239 MB;
 * 1.25: 215–220 MB with entities/s visibly lower. No throughput cost of 2 showed through the shared machine's
 * noise (docs/operating.md "Memory"). It is not a limit: the heap still grows as far as live data needs, up to
 * V8's usual limit (--max-old-space-size).
 */
import { setFlagsFromString } from 'node:v8';

/** Sets V8's heap growing factor to 1 + percent/100 (0: V8's own); a --heap-growing-percent given to node wins. */
export function applyHeapGrowth(percent: number, execArgv: readonly string[] = process.execArgv, set: (flags: string) => void = setFlagsFromString): boolean {
  if (percent <= 0 || execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return false;
  // V8 reads this flag at every full GC, so setting it after start takes effect (Node keeps flags writable).
  set(`--heap-growing-percent=${percent}`);
  return true;
}
