/**
 * How long the event loop was blocked, two ways. monitorEventLoopDelay's max is what a request
 * waiting behind the loop sees; on a loaded machine it also counts time the OS did not run the
 * thread at all (an idle process here sees up to ~85 ms at a load average of 20 on 2 cores). So,
 * on Linux, the CPU time the main thread spent between two ticks of a 10 ms timer is measured
 * too: the longest such stretch is work that kept the loop from turning, whatever the load.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { eventually } from './wait.js';

/** CPU time of the main thread in ms (utime + stime; USER_HZ is 100 on Linux), or undefined elsewhere. */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

export interface LoopReport {
  /** monitorEventLoopDelay's max, ms. */
  delayMaxMs: number;
  /** Longest main-thread CPU time between two timer ticks, ms (undefined off Linux). */
  busyMaxMs: number | undefined;
  /** The longest gap between two timer ticks, ms (wall). */
  gapMaxMs: number;
}

/** Starts watching; resolves once the histogram's timer runs (a block before that would go unseen). */
export async function watchEventLoop(): Promise<{ stop(): LoopReport }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let wall = performance.now();
  let cpu = mainThreadCpuMs();
  let busyMax = cpu === undefined ? undefined : 0;
  let gapMax = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    const nowWall = performance.now();
    const nowCpu = mainThreadCpuMs();
    gapMax = Math.max(gapMax, nowWall - wall);
    if (busyMax !== undefined && cpu !== undefined && nowCpu !== undefined) busyMax = Math.max(busyMax, nowCpu - cpu);
    wall = nowWall;
    cpu = nowCpu;
  }, 10);
  // Both watchers running: the histogram has a sample and this timer has ticked.
  await eventually(() => histogram.count > 0 && ticks > 0, 10_000, 'the event loop watchers to run');
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
      return { delayMaxMs: histogram.max / 1e6, busyMaxMs: busyMax, gapMaxMs: gapMax };
    },
  };
}
