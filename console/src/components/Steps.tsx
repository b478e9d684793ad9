/** A run's steps: status, attempts, timing, and input / output / error folded. */
import { Chip, duration, Json } from './ui';
import type { Process, Run, Step } from '../types';

export function StepList({ run, process, open = false }: { run: Run; process?: Process; open?: boolean }) {
  const steps = run.steps ?? [];
  const pending = process ? process.tasks.filter((t) => !steps.some((s) => s.task === t.key)) : [];
  return (
    <ol className="steps" aria-label="Steps">
      {steps.map((s, i) => (
        <StepItem key={`${s.task}-${i}`} step={s} open={open} dry={!!run.dryRun} showOutput={run.status === 'succeeded' && i === steps.length - 1} />
      ))}
      {run.status === 'queued' || run.status === 'running' || run.status === 'waiting'
        ? pending.map((t) => (
            <li key={t.key} className="muted">
              <div className="row">
                <strong>{t.key}</strong> <span className="small mono">{t.kind}</span>
                <span className="spacer" />
                <span className="small">not started</span>
              </div>
            </li>
          ))
        : null}
      {steps.length === 0 && pending.length === 0 ? <li className="muted">No step has run yet.</li> : null}
    </ol>
  );
}

function StepItem({ step: s, open, dry, showOutput }: { step: Step; open: boolean; dry: boolean; showOutput: boolean }) {
  return (
    <li data-step={s.task}>
      <div className="row">
        <strong>{s.task}</strong>
        {(s as { kind?: string }).kind ? <span className="small mono muted">{(s as { kind?: string }).kind}</span> : null}
        <Chip value={s.status} />
        <span className="spacer" />
        {!dry ? (
          <span className="small muted">
            {s.attempts ?? 0} attempt{s.attempts === 1 ? '' : 's'} · {duration(s.startedAt, s.finishedAt)}
          </span>
        ) : null}
      </div>
      {s.error ? (
        <div className="alert" style={{ marginTop: 6 }}>
          <code>{s.error.code}</code> {s.error.message}
          {s.error.retryable !== undefined ? <span className="small"> · {s.error.retryable ? 'retryable' : 'not retryable'}</span> : null}
        </div>
      ) : null}
      {s.note ? <div className="note small" style={{ marginTop: 6 }}>{s.note}</div> : null}
      <details open={open}>
        <summary>{dry ? 'Evaluated input' : 'Input'}</summary>
        <Json value={s.input} label={`Input of ${s.task}`} />
      </details>
      {!dry ? (
        <details open={showOutput}>
          <summary>Output</summary>
          <Json value={s.output} label={`Output of ${s.task}`} />
        </details>
      ) : null}
    </li>
  );
}
