/**
 * The processing control panel, second half: one batch live. The bar, counts, rate and ETA move with
 * the stream's `batch.updated` events (no reload, no polling); pause / resume / cancel (confirmed, with
 * what it affects); the failed items with their errors, and "retry failed".
 */
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get, type Page } from '../api';
import { useSession } from '../session';
import { Chip, Empty, ErrorBox, Loading, Modal, PageHead, SkeletonRows, Time } from '../components/ui';
import { BatchProgress, notStarted } from '../components/BatchProgress';
import type { Batch, BatchFilter, BatchItem, Process } from '../types';

/** The filter in words ("status received · total > 10 · not linked through hubspot_main"). */
export function describeFilter(f: BatchFilter): string {
  const parts: string[] = [];
  if (f.status?.length) parts.push(`status ${f.status.join(' or ')}`);
  if (f.where) parts.push(f.where);
  if (f.linked) parts.push(`${f.linked.exists ? 'linked' : 'not linked'} through ${f.linked.connection}`);
  if (f.ids?.length) parts.push(`${f.ids.length} chosen id${f.ids.length === 1 ? '' : 's'}`);
  if (f.updatedAfter) parts.push(`updated after ${f.updatedAfter}`);
  if (f.updatedBefore) parts.push(`updated before ${f.updatedBefore}`);
  return parts.length ? parts.join(' · ') : 'every entity of the type';
}

export function BatchDetail() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const client = useQueryClient();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const batch = useQuery({ queryKey: ['batch', id], queryFn: ({ signal }) => get<Batch>(`/batches/${id}`, signal) });
  const b = batch.data;
  const processes = useQuery({ queryKey: ['processes'], queryFn: ({ signal }) => get<Page<Process>>('/processes?limit=500', signal) });
  const proc = processes.data?.items.find((p) => p.key === b?.process);
  const failed = useQuery({
    queryKey: ['batch-items', id, 'failed'],
    queryFn: ({ signal }) => get<Page<BatchItem>>(`/batches/${id}/items?status=failed&limit=100`, signal),
    enabled: !!b && b.failed > 0,
  });
  const act = useMutation({
    mutationFn: (what: 'pause' | 'resume' | 'cancel' | 'retry-failed') => api<Batch | undefined>('POST', `/batches/${id}/${what}`),
    onSuccess: (res) => {
      setConfirmCancel(false);
      if (res && typeof res === 'object' && 'total' in res) client.setQueryData(['batch', id], res);
      void client.invalidateQueries({ queryKey: ['batch', id] });
      void client.invalidateQueries({ queryKey: ['batch-items', id] });
    },
  });
  if (batch.error) return <ErrorBox error={batch.error} />;
  if (!b) return <Loading label="Loading batch" />;
  const waiting = notStarted(b);
  const by = typeof b.createdBy === 'object' && b.createdBy ? b.createdBy.name ?? b.createdBy.id : b.createdBy;
  const entityType = b.entityType ?? proc?.entityType ?? '';
  const finished = b.status === 'completed' || b.status === 'cancelled';
  return (
    <>
      <PageHead
        crumbs={<Link to="/batches">Batches</Link>}
        title={
          <>
            {proc?.name ?? b.process} <span className="muted mono small">{b.id.slice(-8)}</span>
          </>
        }
        sub={
          <>
            <Chip value={b.status} />
            {finished && b.failed ? <span className="small" style={{ color: 'var(--bad)', marginLeft: 8 }}>with {b.failed.toLocaleString()} failed</span> : null}
          </>
        }
        actions={
          can.entities ? (
            <>
              {b.status === 'running' ? (
                <button onClick={() => act.mutate('pause')} disabled={act.isPending}>
                  Pause
                </button>
              ) : null}
              {b.status === 'paused' ? (
                <button className="primary" onClick={() => act.mutate('resume')} disabled={act.isPending}>
                  Resume
                </button>
              ) : null}
              {!finished ? (
                <button className="danger" onClick={() => setConfirmCancel(true)} disabled={act.isPending}>
                  Cancel batch
                </button>
              ) : null}
              {b.failed > 0 ? (
                <button onClick={() => act.mutate('retry-failed')} disabled={act.isPending}>
                  Retry failed ({b.failed.toLocaleString()})
                </button>
              ) : null}
            </>
          ) : null
        }
      />
      <ErrorBox error={act.error} title="Not done" />
      <div className="grid2">
        <div className="stack">
          <section className="card" aria-labelledby="progress-h">
            <h2 id="progress-h">Progress</h2>
            <BatchProgress batch={b} />
            {b.status === 'paused' ? <p className="small muted" style={{ margin: '10px 0 0' }}>Paused: no new run starts; runs already running finish.</p> : null}
          </section>
          <section aria-labelledby="failed-h" className="stack" style={{ gap: 8 }}>
            <h2 id="failed-h" style={{ margin: 0 }}>Failed items</h2>
            <ErrorBox error={failed.error} />
            {b.failed === 0 ? (
              <div className="card">
                <Empty title="No failed item">
                  <p>{finished ? 'Every item ended without a failure.' : 'Items that fail appear here with their error, ready to retry.'}</p>
                </Empty>
              </div>
            ) : (
              <div className="table-wrap">
                <table aria-label="Failed items">
                  <thead>
                    <tr>
                      <th scope="col">Entity</th>
                      <th scope="col">Error</th>
                      <th scope="col">Run</th>
                    </tr>
                  </thead>
                  {failed.isPending ? (
                    <SkeletonRows cols={3} rows={Math.min(b.failed, 4)} />
                  ) : (
                    <tbody>
                      {failed.data?.items.map((it) => (
                        <tr key={it.entityId}>
                          <td>
                            <Link className="mono" to={`/entities/${entityType}/${it.entityId}`}>{it.entityId.slice(-8)}</Link>
                          </td>
                          <td className="small">
                            {it.error ? (
                              <>
                                <code style={{ color: 'var(--bad)' }}>{it.error.code}</code> {it.error.message}
                              </>
                            ) : (
                              <span className="muted">no error recorded</span>
                            )}
                          </td>
                          <td>{it.runId ? <Link className="mono" to={`/runs/${it.runId}`}>{it.runId.slice(-8)}</Link> : <span className="muted">—</span>}</td>
                        </tr>
                      ))}
                    </tbody>
                  )}
                </table>
              </div>
            )}
          </section>
        </div>
        <section className="card" aria-labelledby="facts-h">
          <h2 id="facts-h">Details</h2>
          <dl className="kv">
            <dt>Process</dt>
            <dd>
              <Link to={`/processes/${b.process}`}>{b.process}</Link>
            </dd>
            <dt>Set</dt>
            <dd>{describeFilter(b.filter)}</dd>
            <dt>Items</dt>
            <dd>{b.total.toLocaleString()} (fixed at the start)</dd>
            <dt>Started</dt>
            <dd>
              <Time iso={b.startedAt ?? b.createdAt} />
              {by ? <span className="muted small"> by {by}</span> : null}
            </dd>
            <dt>Finished</dt>
            <dd>
              <Time iso={b.finishedAt} />
            </dd>
            <dt>Runs</dt>
            <dd>
              <Link to={`/runs?batch=${b.id}`}>Runs of this batch</Link>
            </dd>
          </dl>
        </section>
      </div>
      <Modal
        open={confirmCancel}
        onClose={() => setConfirmCancel(false)}
        labelId="cancel-batch-title"
        title="Cancel this batch?"
        footer={
          <>
            <button onClick={() => setConfirmCancel(false)}>Keep it going</button>
            <button className="primary" onClick={() => act.mutate('cancel')} disabled={act.isPending}>
              Cancel {waiting.toLocaleString()} items
            </button>
          </>
        }
      >
        <p style={{ margin: 0 }}>
          Cancel batch: {waiting.toLocaleString()} item{waiting === 1 ? '' : 's'} not started will be cancelled.
          {b.running ? ` The ${b.running.toLocaleString()} running now finish.` : ''} Items already done keep their result.
        </p>
      </Modal>
    </>
  );
}
