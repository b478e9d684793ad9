/** A batch's progress: the bar (a real progressbar for screen readers), counts by outcome, rate and ETA. */
import type { Batch } from '../types';

/** Items that have ended, whatever their outcome. */
export function ended(b: Batch): number {
  return b.succeeded + b.failed + b.skipped + b.cancelled;
}

/** Items not started yet: pending (no run yet) and queued runs. */
export function notStarted(b: Batch): number {
  return (b.pending ?? 0) + b.queued;
}

export function percent(b: Batch): number {
  return b.total === 0 ? 100 : Math.floor((ended(b) / b.total) * 100);
}

/** Items per second since the batch started (until it finished); null before a second has passed. */
export function rate(b: Batch, now = Date.now()): number | null {
  if (!b.startedAt) return null;
  const secs = ((b.finishedAt ? Date.parse(b.finishedAt) : now) - Date.parse(b.startedAt)) / 1000;
  return secs >= 1 ? ended(b) / secs : null;
}

export function etaText(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function Bar({ batch: b, label }: { batch: Batch; label: string }) {
  const pct = percent(b);
  return (
    <div className={`bar ${b.status}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={`${pct}% — ${ended(b)} of ${b.total} items`}>
      <span className="ok" style={{ width: `${b.total ? (b.succeeded / b.total) * 100 : 0}%` }} />
      <span className="bad" style={{ width: `${b.total ? (b.failed / b.total) * 100 : 0}%` }} />
      <span className="off" style={{ width: `${b.total ? ((b.skipped + b.cancelled) / b.total) * 100 : 0}%` }} />
    </div>
  );
}

const COUNTS = ['succeeded', 'failed', 'running', 'queued', 'skipped', 'cancelled'] as const;
const count = (b: Batch, k: (typeof COUNTS)[number]) => (k === 'queued' ? notStarted(b) : b[k]);

export function BatchProgress({ batch: b }: { batch: Batch }) {
  const r = rate(b);
  const active = b.status === 'running' || b.status === 'paused';
  return (
    <div className="stack" style={{ gap: 10 }}>
      <div className="row">
        <strong className="big-num" aria-hidden="true">{percent(b)}%</strong>
        <span className="muted">
          {ended(b).toLocaleString()} of {b.total.toLocaleString()} items done
        </span>
        <span className="spacer" />
        <span className="small muted">
          {r === null ? '— items/s' : `${r < 10 ? r.toFixed(1) : Math.round(r)} items/s`}
          {active ? <> · ETA {b.status === 'paused' ? 'paused' : etaText(b.etaSeconds)}</> : null}
        </span>
      </div>
      <Bar batch={b} label="Batch progress" />
      <dl className="counts" aria-label="Items by outcome">
        {COUNTS.map((k) => (
          <div key={k} className={count(b, k) ? '' : 'zero'}>
            <dt>
              <span className={`chip ${k}`}>{k === 'queued' ? 'not started' : k}</span>
            </dt>
            <dd data-count={k}>{count(b, k).toLocaleString()}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
