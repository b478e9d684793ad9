import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { get, qs, type Page } from '../api';
import { Chip, duration, Empty, ErrorBox, PageHead, Pager, SkeletonRows, Time } from '../components/ui';
import type { Process, Run } from '../types';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];

export function Runs() {
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? '';
  const process = params.get('process') ?? '';
  const entity = params.get('entity') ?? '';
  const batch = params.get('batch') ?? '';
  const cursor = params.get('cursor') ?? '';
  const [prev, setPrev] = useState<string[]>([]);
  const processes = useQuery({ queryKey: ['processes'], queryFn: ({ signal }) => get<Page<Process>>('/processes?limit=500', signal) });
  const runs = useQuery({
    queryKey: ['runs', { status, process, entity, batch, cursor }],
    queryFn: ({ signal }) => get<Page<Run>>(`/runs${qs({ status, process, entity, batch, cursor, limit: 50 })}`, signal),
    placeholderData: keepPreviousData,
  });
  const update = (next: Record<string, string>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    if (!('cursor' in next)) {
      p.delete('cursor');
      setPrev([]);
    }
    setParams(p);
  };
  const filtered = !!(status || process || entity || batch);
  return (
    <>
      <PageHead title="Runs" sub="every execution of an API process, newest first" />
      <div className="filters" role="search">
        <label className="field">
          <span>Status</span>
          <select value={status} onChange={(e) => update({ status: e.target.value })}>
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Process</span>
          <select value={process} onChange={(e) => update({ process: e.target.value })}>
            <option value="">All processes</option>
            {processes.data?.items.map((p) => (
              <option key={p.key} value={p.key}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Entity id</span>
          <input value={entity} onChange={(e) => update({ entity: e.target.value.trim() })} placeholder="any" />
        </label>
        {batch ? (
          <div className="field small" style={{ alignSelf: 'flex-end' }}>
            <span>
              Batch <Link className="mono" to={`/batches/${batch}`}>{batch.slice(-8)}</Link>{' '}
              <button className="ghost icon" onClick={() => update({ batch: '' })} aria-label="Show runs of every batch">✕</button>
            </span>
          </div>
        ) : null}
      </div>
      <ErrorBox error={runs.error} />
      <div className="table-wrap">
        <table aria-label="Runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Process</th>
              <th scope="col">Status</th>
              <th scope="col">Entity</th>
              <th scope="col">Trigger</th>
              <th scope="col">Queued</th>
              <th scope="col">Took</th>
            </tr>
          </thead>
          {runs.isPending ? (
            <SkeletonRows cols={7} />
          ) : (
            <tbody>
              {runs.data?.items.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link className="mono" to={`/runs/${r.id}`}>
                      {r.id!.slice(-8)}
                    </Link>
                  </td>
                  <td>
                    {r.process} <span className="muted small">v{r.processVersion}</span>
                  </td>
                  <td>
                    <Chip value={r.status} />
                    {r.error ? (
                      <div className="small mono" style={{ color: 'var(--bad)' }}>
                        {r.error.code}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    <Link className="mono" to={`/entities/${r.entityType}/${r.entityId}`}>
                      {r.entityType}/{r.entityId.slice(-8)}
                    </Link>
                  </td>
                  <td className="small">
                    {r.trigger.batchId ? (
                      <Link to={`/batches/${r.trigger.batchId}`}>batch {r.trigger.batchId.slice(-8)}</Link>
                    ) : r.trigger.type === 'status' ? (
                      `entered ${r.trigger.status}`
                    ) : (
                      r.trigger.type
                    )}
                  </td>
                  <td>
                    <Time iso={r.queuedAt} />
                  </td>
                  <td className="num small">{duration(r.startedAt, r.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          )}
        </table>
        {runs.data && runs.data.items.length === 0 ? (
          <Empty title={filtered ? 'No run matches these filters' : 'No runs yet'}>
            <p>{filtered ? 'Loosen a filter.' : 'Runs appear when an entity enters a status that triggers a process, or when you process an entity by hand.'}</p>
          </Empty>
        ) : null}
      </div>
      <Pager cursor={cursor} nextCursor={runs.data?.nextCursor} prev={prev} setPrev={setPrev} go={(c) => update({ cursor: c })} />
    </>
  );
}
