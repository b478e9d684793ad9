/**
 * How a followed batch shows its progress, on standard error (standard output keeps the summary, or
 * the JSON of `--json`). On a terminal: a live bar (cli-progress, loaded only then) with the counts,
 * the rate and the ETA. Elsewhere (a file, a pipe, CI): one plain line at most every second, and only
 * when something changed, so a log of a long batch stays readable.
 */
import { ended, type Batch } from './batch-api.js';

export interface Reporter {
  update(b: Batch): void;
  /** A line of its own (e.g. "the stream dropped: polling"), printed above a live bar. */
  notice(line: string): void;
  /** Draws the last state (if not shown yet) and lets go of the terminal. */
  stop(): void;
}

/** Items ended per second over the last `windowMs`, from the updates seen. */
export class RateMeter {
  readonly #samples: Array<{ at: number; ended: number }> = [];

  constructor(private readonly windowMs = 10_000) {}

  add(endedNow: number, at = Date.now()): void {
    this.#samples.push({ at, ended: endedNow });
    while (this.#samples.length > 2 && at - this.#samples[1]!.at > this.windowMs) this.#samples.shift();
  }

  /** Null until two updates at least 200 ms apart have been seen. */
  perSecond(): number | null {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < 200) return null;
    return Math.max(0, ((last.ended - first.ended) * 1000) / (last.at - first.at));
  }
}

/** `95 s` → `1m35s`; `null` → `?`. */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The time left: the server's estimate when it has one, else what the rate seen here gives. */
export function etaSeconds(b: Batch, rate: number | null): number | null {
  if (b.status === 'completed' || b.status === 'cancelled') return 0;
  if (typeof b.etaSeconds === 'number') return b.etaSeconds;
  if (rate === null || rate === 0) return null;
  return (b.total - ended(b)) / rate;
}

function rateText(rate: number | null): string {
  return rate === null ? '?' : rate >= 10 ? rate.toFixed(0) : rate.toFixed(1);
}

/** One plain progress line: `[0:03] 12/40 (30%)  succeeded 11  failed 1  skipped 0  cancelled 0  3.9/s  ETA 7s  running`. */
export function progressLine(b: Batch, elapsedMs: number, rate: number | null): string {
  const done = ended(b);
  const pct = b.total > 0 ? Math.floor((done * 100) / b.total) : 100;
  const clock = `${Math.floor(elapsedMs / 60_000)}:${String(Math.floor(elapsedMs / 1000) % 60).padStart(2, '0')}`;
  return `[${clock}] ${done}/${b.total} (${pct}%)  succeeded ${b.succeeded}  failed ${b.failed}  skipped ${b.skipped}  cancelled ${b.cancelled}  ${rateText(rate)}/s  ETA ${duration(etaSeconds(b, rate))}  ${b.status}`;
}

/** Plain lines: the first update at once, then at most one line per `everyMs`, the last state on stop. */
export function plainReporter(write: (line: string) => void, everyMs = 1000, now = () => Date.now()): Reporter {
  const started = now();
  const rate = new RateMeter();
  let latest: Batch | null = null;
  let shown: string | null = null;
  let lastAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    if (!latest) return;
    const key = `${latest.status} ${latest.succeeded} ${latest.failed} ${latest.skipped} ${latest.cancelled} ${latest.running}`;
    if (key === shown) return;
    shown = key;
    lastAt = now();
    write(progressLine(latest, lastAt - started, rate.perSecond()));
  };
  return {
    update(b) {
      latest = b;
      rate.add(ended(b));
      if (timer) return;
      const wait = lastAt + everyMs - now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    notice: write,
    stop() {
      if (timer) clearTimeout(timer);
      flush();
    },
  };
}

/** The live bar of a terminal (cli-progress redraws it in place, 10 times a second at most). */
export async function barReporter(stream: NodeJS.WriteStream): Promise<Reporter> {
  const { SingleBar } = (await import('cli-progress')).default;
  const bar = new SingleBar({
    stream,
    format: '{bar} {value}/{total} {percentage}% | succeeded {succeeded} failed {failed} skipped {skipped} cancelled {cancelled} | {rate}/s ETA {left} | {state}',
    barCompleteChar: '█',
    barIncompleteChar: '░',
    barsize: 24,
    hideCursor: true,
    fps: 10,
  });
  const rate = new RateMeter();
  let started = false;
  return {
    update(b) {
      rate.add(ended(b));
      const perSecond = rate.perSecond();
      const payload = { succeeded: b.succeeded, failed: b.failed, skipped: b.skipped, cancelled: b.cancelled, rate: rateText(perSecond), left: duration(etaSeconds(b, perSecond)), state: b.status };
      if (!started) {
        started = true;
        bar.start(Math.max(b.total, 1), ended(b), payload);
      } else {
        bar.setTotal(Math.max(b.total, 1));
        bar.update(ended(b), payload);
      }
    },
    notice(line) {
      // Above the bar: clear its line, write, and let the next redraw put it back.
      stream.write(`\r\x1b[2K${line}\n`);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
