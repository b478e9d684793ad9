import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api';
import { useSession } from '../session';
import { Chip, duration, ErrorBox, Loading, Modal, PageHead, Time } from '../components/ui';
import { StepList } from '../components/Steps';
import { streamSendsSteps } from '../stream';
import type { Run } from '../types';

const ACTIVE = new Set(['queued', 'running', 'waiting']);

export function RunDetail() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const client = useQueryClient();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const run = useQuery({
    queryKey: ['run', id],
    queryFn: ({ signal }) => get<Run>(`/runs/${id}`, signal),
    // Polled while active only until the stream's run.updated events carry each committed step.
    refetchInterval: (q) => (q.state.data && ACTIVE.has(q.state.data.status) && !streamSendsSteps() ? 1000 : false),
  });
  const done = (r: Run) => {
    client.setQueryData(['run', id], r);
    void client.invalidateQueries({ queryKey: ['run', id] });
  };
  const retry = useMutation({ mutationFn: (from: 'failed' | 'start') => api<Run>('POST', `/runs/${id}/retry`, { body: { from } }), onSuccess: done });
  const cancel = useMutation({ mutationFn: () => api<Run>('POST', `/runs/${id}/cancel`), onSuccess: (r) => (setConfirmCancel(false), done(r)) });
  if (run.error) return <ErrorBox error={run.error} />;
  if (!run.data) return <Loading />;
  const r = run.data;
  const retryable = r.status === 'failed' || r.status === 'cancelled';
  return (
    <>
      <PageHead
        crumbs={<Link to="/runs">Runs</Link>}
        title={
          <>
            {r.process} <span className="muted mono small">{r.id?.slice(-8)}</span>
          </>
        }
        sub={<Chip value={r.status} />}
        actions={
          can.entities ? (
            <>
              {retryable ? (
                <>
                  <button onClick={() => retry.mutate('failed')} disabled={retry.isPending}>
                    Retry from failed step
                  </button>
                  <button onClick={() => retry.mutate('start')} disabled={retry.isPending}>
                    Restart from first task
                  </button>
                </>
              ) : null}
              {ACTIVE.has(r.status) ? (
                <button className="danger" onClick={() => setConfirmCancel(true)} disabled={r.cancelRequested}>
                  {r.cancelRequested ? 'Cancelling…' : 'Cancel run'}
                </button>
              ) : null}
            </>
          ) : null
        }
      />
      <ErrorBox error={retry.error} title="Retry" />
      <ErrorBox error={cancel.error} title="Cancel" />
      <div className="grid2">
        <section className="stack" aria-labelledby="steps-h">
          <h2 id="steps-h" style={{ margin: 0 }}>Steps</h2>
          {r.error ? (
            <div className="alert">
              <code>{r.error.code}</code> {r.error.message}
              <div className="small">{r.error.retryable ? 'Retryable: the engine retries it by the process’s retry policy.' : 'Not retryable: fix the cause, then retry.'}</div>
            </div>
          ) : null}
          <StepList run={r} />
        </section>
        <section className="card" aria-labelledby="facts-h">
          <h2 id="facts-h">Details</h2>
          <dl className="kv">
            <dt>Process</dt>
            <dd>
              <Link to={`/processes/${r.process}`}>{r.process}</Link> version {r.processVersion}
            </dd>
            <dt>Entity</dt>
            <dd>
              <Link className="mono" to={`/entities/${r.entityType}/${r.entityId}`}>
                {r.entityType}/{r.entityId}
              </Link>
            </dd>
            <dt>Trigger</dt>
            <dd>
              {r.trigger.type}
              {r.trigger.status ? ` (entered ${r.trigger.status})` : ''}
              {r.trigger.actor ? <span className="muted small"> by {r.trigger.actor}</span> : null}
            </dd>
            {r.trigger.batchId ? (
              <>
                <dt>Batch</dt>
                <dd>
                  <Link className="mono" to={`/batches/${r.trigger.batchId}`}>{r.trigger.batchId}</Link>
                </dd>
              </>
            ) : null}
            <dt>Attempt</dt>
            <dd>{r.attempt}</dd>
            <dt>Queued</dt>
            <dd>
              <Time iso={r.queuedAt} />
            </dd>
            <dt>Started</dt>
            <dd>
              <Time iso={r.startedAt} />
            </dd>
            <dt>Finished</dt>
            <dd>
              <Time iso={r.finishedAt} />
            </dd>
            <dt>Took</dt>
            <dd>{duration(r.startedAt, r.finishedAt)}</dd>
          </dl>
        </section>
      </div>
      <Modal
        open={confirmCancel}
        onClose={() => setConfirmCancel(false)}
        labelId="cancel-run-title"
        title="Cancel this run?"
        footer={
          <>
            <button onClick={() => setConfirmCancel(false)}>Keep running</button>
            <button className="primary" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
              Cancel run
            </button>
          </>
        }
      >
        <p style={{ margin: 0 }}>
          {r.process} for {r.entityType}/{r.entityId.slice(-8)}: {r.status === 'running' ? 'the step now running finishes, no further step starts.' : 'it will not start.'}
        </p>
      </Modal>
    </>
  );
}
