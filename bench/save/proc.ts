/** CPU and memory of a process (and its threads) from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

/** /proc CPU times are in clock ticks of 10 ms (USER_HZ = 100 on Linux). */
const TICK_MS = 10;

function parseStat(text: string): { name: string; ms: number } {
  const close = text.lastIndexOf(')');
  const name = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  return { name, ms: (Number(f[11]) + Number(f[12])) * TICK_MS }; // utime + stime: fields 14 and 15 of stat
}

/** utime+stime in ms: the whole process, its main thread (tid = pid), and each thread. */
export function cpuTimes(pid: number): { total: number; main: number; threads: Map<number, { name: string; ms: number }> } {
  const threads = new Map<number, { name: string; ms: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      /* the thread ended */
    }
  }
  const total = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ms;
  return { total, main: threads.get(pid)?.ms ?? 0, threads };
}

/** VmRSS (current) or VmHWM (peak) in kB; 0 once the process is gone. */
export function memoryKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : 0;
}

/** CPU time of the whole machine so far, ms: busy (all but idle and iowait) and total, summed over CPUs. */
export function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0) * TICK_MS;
  return { busy: total - (f[3]! + f[4]!) * TICK_MS, total };
}

/**
 * Waits (up to `maxMs`) until the machine has been nearly idle for one second — less than
 * `threshold` of one core busy — so that other processes' work does not land in a measurement.
 * Returns the busy fraction of one core in the last second.
 */
export async function waitForQuiet(maxMs = 120_000, threshold = 0.1): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineCpu();
    const load = (b.busy - a.busy) / 1000;
    if (load < threshold || Date.now() > deadline) return load;
  }
}

/** utime+stime in ms of every process whose name is `name` (e.g. the `postgres` server and its backends). */
export function processesCpu(name: string): number {
  let ms = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (stat.name === name) ms += stat.ms;
    } catch {
      /* the process ended */
    }
  }
  return ms;
}
