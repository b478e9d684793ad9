/**
 * The processing control panel, first half: pick a process, build the filter (statuses, where, linked or
 * not, last saved after/before, explicit ids), see how many entities it takes and a sample (POST
 * /batches/preview), then start the batch. The process and filter live in the URL, so a set can be shared
 * and the back button works — except a pasted list of ids (up to 10,000), which would not fit in one.
 */
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get, type Page } from '../api';
import { useSession } from '../session';
import { useEntityTypes } from '../Layout';
import { Chip, Empty, ErrorBox, PageHead } from '../components/ui';
import { ExpressionEditor, exprErrorOf } from '../components/ExpressionEditor';
import type { Batch, BatchFilter, BatchPreview, Connection, Process } from '../types';

export function BatchNew() {
  const { can } = useSession();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const processes = useQuery({ queryKey: ['processes'], queryFn: ({ signal }) => get<Page<Process>>('/processes?limit=500', signal) });
  const connections = useQuery({ queryKey: ['connections'], queryFn: ({ signal }) => get<Page<Connection>>('/connections?limit=500', signal) });
  const types = useEntityTypes();
  const procKey = params.get('process') ?? '';
  const chosen = processes.data?.items.find((p) => p.key === procKey) ?? processes.data?.items[0];
  const et = types.data?.items.find((t) => t.key === chosen?.entityType);
  const statuses = (params.get('status') ?? '').split(',').filter(Boolean);
  const where = params.get('where') ?? '';
  const linked = params.get('linked') ?? ''; // '<connection>:yes' | '<connection>:no' | ''
  const after = params.get('after') ?? '';
  const before = params.get('before') ?? '';
  const [whereDraft, setWhereDraft] = useState(where);
  const [idsDraft, setIdsDraft] = useState('');
  const [ids, setIds] = useState<string[]>([]);

  const filter: BatchFilter = {};
  if (statuses.length) filter.status = statuses;
  if (where) filter.where = where;
  if (linked) {
    const [connection, exists] = linked.split(':');
    filter.linked = { connection: connection!, exists: exists === 'yes' };
  }
  if (after) filter.updatedAfter = after;
  if (before) filter.updatedBefore = before;
  if (ids.length) filter.ids = ids;
  const body = chosen ? { process: chosen.key, filter } : null;
  const preview = useQuery({
    queryKey: ['batch-preview', body],
    queryFn: ({ signal }) => api<BatchPreview>('POST', '/batches/preview', { body, signal }),
    enabled: !!body,
    staleTime: 0,
  });
  const start = useMutation({
    mutationFn: () => api<Batch>('POST', '/batches', { body }),
    onSuccess: (b) => {
      client.setQueryData(['batch', b.id], b);
      void client.invalidateQueries({ queryKey: ['batches'] });
      navigate(`/batches/${b.id}`);
    },
  });
  const update = (next: Record<string, string>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    setParams(p, { replace: true });
  };
  const toggleStatus = (s: string) => update({ status: (statuses.includes(s) ? statuses.filter((x) => x !== s) : [...statuses, s]).join(',') });
  const whereError = preview.error instanceof ApiError && preview.error.code.startsWith('EXPR') ? exprErrorOf(preview.error, 'filter.where') ?? exprErrorOf(preview.error) ?? { message: preview.error.message, code: preview.error.code } : null;
  const total = preview.data?.total;
  const cols = (et?.attributes ?? []).slice(0, 2);

  return (
    <>
      <PageHead crumbs={<Link to="/batches">Batches</Link>} title="Processing control panel" sub="run an API process over a filtered set of entities" />
      {processes.data && processes.data.items.length === 0 ? (
        <Empty title="No API process yet">
          <p>
            <Link to="/processes">Create an API process</Link> first; then run it here over many entities at once.
          </p>
        </Empty>
      ) : null}
      <ErrorBox error={processes.error} />
      {chosen ? (
        <div className="grid2 panel">
          <section className="card stack" aria-labelledby="set-h" style={{ gap: 14 }}>
            <h2 id="set-h" style={{ margin: 0 }}>1. Process and filter</h2>
            <label className="field">
              <span>API process</span>
              <select value={chosen.key} onChange={(e) => {
                  setIds([]);
                  setIdsDraft('');
                  update({ process: e.target.value, status: '', where: '', linked: '', after: '', before: '' });
                }}>
                {processes.data?.items.map((p) => (
                  <option key={p.key} value={p.key}>
                    {p.name} — {p.entityType}
                    {p.enabled ? '' : ' (disabled)'}
                  </option>
                ))}
              </select>
            </label>
            {!chosen.enabled ? <div className="note small">This process is disabled: its batch runs once it is enabled again.</div> : null}
            <fieldset className="plain">
              <legend>Statuses <span className="small muted">(none ticked: any status)</span></legend>
              <div className="row">
                {et?.statuses.map((s) => (
                  <label key={s.key} className="switch">
                    <input type="checkbox" checked={statuses.includes(s.key)} onChange={() => toggleStatus(s.key)} />
                    <span>{s.name ?? s.key}</span>
                  </label>
                ))}
              </div>
            </fieldset>
            <div className="field">
              <label htmlFor="batch-where" className="muted" style={{ fontSize: 13, fontWeight: 500 }}>
                Where <span className="small">(a condition, e.g. total &gt; 100)</span>
              </label>
              <div className="row" style={{ flexWrap: 'nowrap', alignItems: 'flex-start' }}>
                <div style={{ flex: 1, minWidth: 0 }}>
                  <ExpressionEditor id="batch-where" label="Where condition" value={whereDraft} onChange={setWhereDraft} error={whereError} placeholder="any entity" onEnter={() => update({ where: whereDraft.trim() })} />
                </div>
                <button onClick={() => update({ where: whereDraft.trim() })}>Apply</button>
              </div>
            </div>
            <label className="field">
              <span>Links</span>
              <select value={linked} onChange={(e) => update({ linked: e.target.value })}>
                <option value="">Linked or not</option>
                {connections.data?.items.flatMap((c) => [
                  <option key={`${c.key}:no`} value={`${c.key}:no`}>
                    Not linked through {c.name ?? c.key}
                  </option>,
                  <option key={`${c.key}:yes`} value={`${c.key}:yes`}>
                    Linked through {c.name ?? c.key}
                  </option>,
                ])}
              </select>
            </label>
            <fieldset className="plain">
              <legend>Last saved <span className="small muted">(either bound may be left empty)</span></legend>
              <div style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 8 }}>
                <label className="field">
                  <span>after</span>
                  <input type="datetime-local" aria-label="Last saved after" style={{ width: '100%' }} value={toLocalInput(after)} onChange={(e) => update({ after: fromLocalInput(e.target.value) })} />
                </label>
                <label className="field">
                  <span>before</span>
                  <input type="datetime-local" aria-label="Last saved before" style={{ width: '100%' }} value={toLocalInput(before)} onChange={(e) => update({ before: fromLocalInput(e.target.value) })} />
                </label>
              </div>
            </fieldset>
            <div className="field" style={{ display: 'grid', gap: 4 }}>
              <label htmlFor="batch-ids" className="muted" style={{ fontSize: 13, fontWeight: 500 }}>
                Only these entities <span className="small">(ids, one per line or separated by commas; up to 10,000)</span>
              </label>
              <textarea id="batch-ids" rows={3} value={idsDraft} onChange={(e) => setIdsDraft(e.target.value)} placeholder="any entity" />
              <div className="row">
                <button onClick={() => setIds(parseIds(idsDraft))}>Apply ids</button>
                {ids.length ? <span className="small muted">{ids.length.toLocaleString()} {ids.length === 1 ? 'id' : 'ids'} in the filter</span> : null}
              </div>
            </div>
          </section>
          <section className="card stack" aria-labelledby="preview-h" style={{ gap: 12 }}>
            <h2 id="preview-h" style={{ margin: 0 }}>2. Preview and start</h2>
            <div className="row" role="status" aria-live="polite">
              {preview.isFetching && total === undefined ? (
                <span className="muted">Counting…</span>
              ) : total !== undefined ? (
                <>
                  <strong className="big-num" data-testid="preview-total">{total.toLocaleString()}</strong>
                  <span>{total === 1 ? `${et?.name.toLowerCase() ?? 'entity'} matches` : `${et?.name.toLowerCase() ?? 'entitie'}s match`}</span>
                  {preview.isFetching ? <span className="muted small">updating…</span> : null}
                </>
              ) : null}
            </div>
            {whereError ? null : <ErrorBox error={preview.error} title="Preview" />}
            {preview.data && preview.data.sample.length > 0 ? (
              <div className="table-wrap">
                <table aria-label="Sample of the set">
                  <thead>
                    <tr>
                      <th scope="col">Entity</th>
                      <th scope="col">Status</th>
                      {cols.map((a) => (
                        <th key={a.key} scope="col">{a.key}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {preview.data.sample.slice(0, 8).map((e) => (
                      <tr key={e.id}>
                        <td>
                          <Link className="mono" to={`/entities/${e.type}/${e.id}`}>{e.id.slice(-8)}</Link>
                        </td>
                        <td><Chip value={e.status} kind="status" /></td>
                        {cols.map((a) => (
                          <td key={a.key} className="small">{e.attributes[a.key] === undefined || e.attributes[a.key] === null ? '—' : String(typeof e.attributes[a.key] === 'object' ? JSON.stringify(e.attributes[a.key]) : e.attributes[a.key])}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
            {total !== undefined && preview.data && preview.data.sample.length < total ? <p className="small muted" style={{ margin: 0 }}>A sample of {Math.min(8, preview.data.sample.length)}; the batch takes all {total.toLocaleString()}.</p> : null}
            <p className="small muted" style={{ margin: 0 }}>The set is fixed when the batch starts: entities that match later are not added.</p>
            <ErrorBox error={start.error} title="Not started" />
            {can.entities ? (
              <div className="row">
                <button className="primary" disabled={!total || start.isPending || preview.isFetching} onClick={() => start.mutate()}>
                  {start.isPending ? 'Starting…' : total ? `Start batch: ${chosen.name} on ${total.toLocaleString()}` : 'Start batch'}
                </button>
              </div>
            ) : (
              <div className="note small">Your role can look but not start batches (operators and above can).</div>
            )}
          </section>
        </div>
      ) : null}
    </>
  );
}

/** Pasted ids: split on commas and white space, duplicates dropped. */
function parseIds(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).filter(Boolean))];
}

/** An ISO instant as a datetime-local input's value (the browser's time zone). */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A datetime-local input's value (the browser's time zone) as an ISO instant; empty: no bound. */
function fromLocalInput(value: string): string {
  const d = new Date(value);
  return value && !Number.isNaN(d.getTime()) ? d.toISOString() : '';
}
