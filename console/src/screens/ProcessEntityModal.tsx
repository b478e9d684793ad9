/**
 * "Process entity": pick a process valid for this entity, dry-run it (each task's evaluated input),
 * run it, and watch its steps finish live (the stream refreshes the run, step by step once its events
 * carry the step; polled while active until then).
 */
import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, get, type Page } from '../api';
import { Chip, ErrorBox, Modal } from '../components/ui';
import { StepList } from '../components/Steps';
import { streamSendsSteps } from '../stream';
import type { Entity, Process, Run } from '../types';

const ACTIVE = new Set(['queued', 'running', 'waiting']);

export function ProcessEntityModal({ entity, onClose }: { entity: Entity; onClose(): void }) {
  const processes = useQuery({ queryKey: ['processes'], queryFn: ({ signal }) => get<Page<Process>>('/processes?limit=500', signal) });
  const valid = processes.data?.items.filter((p) => p.entityType === entity.type) ?? [];
  const [key, setKey] = useState('');
  const chosen = valid.find((p) => p.key === key) ?? valid[0];
  const [dry, setDry] = useState<Run | null>(null);
  const [runId, setRunId] = useState<string | null>(null);

  const dryRun = useMutation({
    mutationFn: () => api<{ run: Run }>('POST', `/entities/${entity.type}/${entity.id}/process`, { body: { process: chosen!.key, dryRun: true } }),
    onSuccess: (r) => setDry(r.run),
  });
  const start = useMutation({
    mutationFn: () => api<{ run: Run }>('POST', `/entities/${entity.type}/${entity.id}/process`, { body: { process: chosen!.key } }),
    onSuccess: (r) => setRunId(r.run.id),
  });
  const run = useQuery({
    queryKey: ['run', runId],
    queryFn: ({ signal }) => get<Run>(`/runs/${runId}`, signal),
    enabled: !!runId,
    // The stream marks it stale on every change. Until the server's run.updated events carry the step
    // they committed (streamSendsSteps), the steps inside a running run are polled as well.
    refetchInterval: (q) => (q.state.data && !ACTIVE.has(q.state.data.status) ? false : streamSendsSteps() ? false : 700),
  });
  const live = run.data;

  return (
    <Modal
      open
      onClose={onClose}
      labelId="process-entity-title"
      title={<>Process entity <span className="mono muted small">{entity.id.slice(-8)}</span></>}
      footer={
        <>
          <button onClick={onClose}>{live ? 'Close' : 'Cancel'}</button>
          {!runId ? (
            <>
              <button onClick={() => dryRun.mutate()} disabled={!chosen || dryRun.isPending}>
                {dryRun.isPending ? 'Evaluating…' : 'Dry run'}
              </button>
              <button className="primary" onClick={() => start.mutate()} disabled={!chosen || start.isPending}>
                {start.isPending ? 'Starting…' : 'Run now'}
              </button>
            </>
          ) : null}
        </>
      }
    >
      {processes.isPending ? <div className="skeleton" style={{ width: '60%' }} /> : null}
      <ErrorBox error={processes.error} />
      {processes.data && valid.length === 0 ? (
        <div className="note">
          No API process works on this entity type yet. <Link to="/processes">Create one</Link> for “{entity.type}”.
        </div>
      ) : null}
      {valid.length > 0 ? (
        <label className="field">
          <span>Process</span>
          <select
            value={chosen?.key ?? ''}
            disabled={!!runId}
            onChange={(e) => {
              setKey(e.target.value);
              setDry(null);
            }}
          >
            {valid.map((p) => (
              <option key={p.key} value={p.key}>
                {p.name} ({p.key}, v{p.version}){p.enabled ? '' : ' — disabled'}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {chosen && !chosen.enabled ? <div className="note small">This process is disabled: a dry run works, a real run is refused.</div> : null}
      <ErrorBox error={dryRun.error} title="Dry run" />
      <ErrorBox error={start.error} title="Run" />
      {dry && !runId ? (
        <section aria-label="Dry run result">
          <div className="row" style={{ marginBottom: 8 }}>
            <h3 style={{ margin: 0 }}>Dry run</h3>
            <Chip value={dry.status} />
            <span className="muted small">nothing was sent or written</span>
          </div>
          {dry.error ? (
            <div className="alert" style={{ marginBottom: 8 }}>
              <code>{dry.error.code}</code> {dry.error.message}
            </div>
          ) : null}
          <StepList run={dry} open />
        </section>
      ) : null}
      {runId ? (
        <section aria-label="Run" aria-live="polite">
          <div className="row" style={{ marginBottom: 8 }}>
            <h3 style={{ margin: 0 }}>Run</h3>
            {live ? <Chip value={live.status} /> : <Chip value="queued" />}
            <span className="spacer" />
            <Link to={`/runs/${runId}`} className="small">
              Open run
            </Link>
          </div>
          {live?.error ? (
            <div className="alert" style={{ marginBottom: 8 }}>
              <code>{live.error.code}</code> {live.error.message}
            </div>
          ) : null}
          {live ? <StepList run={live} process={chosen} /> : null}
        </section>
      ) : null}
    </Modal>
  );
}
