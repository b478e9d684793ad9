import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get, type Page } from '../api';
import { useSession } from '../session';
import { useEntityTypes } from '../Layout';
import { Empty, ErrorBox, Modal, PageHead, SkeletonRows, Time } from '../components/ui';
import type { Process, RunStatus } from '../types';

const SHOWN: RunStatus[] = ['running', 'queued', 'waiting', 'succeeded', 'failed', 'cancelled'];

export function Processes() {
  const { can } = useSession();
  const client = useQueryClient();
  const [creating, setCreating] = useState(false);
  const list = useQuery({ queryKey: ['processes'], queryFn: ({ signal }) => get<Page<Process>>('/processes?limit=500', signal) });
  const items = list.data?.items ?? [];
  const toggle = useMutation({
    mutationFn: (p: Process) =>
      api<Process>('PUT', `/processes/${p.key}`, { body: { name: p.name, entityType: p.entityType, trigger: p.trigger, enabled: !p.enabled, settings: p.settings, tasks: p.tasks } }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['processes'] }),
  });
  return (
    <>
      <PageHead
        title="API processes"
        sub="ordered tasks that run when an entity reaches a status, or by hand"
        actions={can.definitions ? <button className="primary" onClick={() => setCreating(true)}>New process</button> : null}
      />
      <ErrorBox error={list.error} />
      <ErrorBox error={toggle.error} title="Not changed" />
      <div className="table-wrap">
        <table aria-label="API processes">
          <thead>
            <tr>
              <th scope="col">Process</th>
              <th scope="col">Entity type</th>
              <th scope="col">Trigger</th>
              <th scope="col">Enabled</th>
              <th scope="col">Runs by status</th>
              <th scope="col">Last failure</th>
            </tr>
          </thead>
          {list.isPending ? (
            <SkeletonRows cols={6} rows={3} />
          ) : (
            <tbody>
              {items.map((p) => {
                const last = p.lastFailure;
                return (
                  <tr key={p.key} data-process={p.key}>
                    <td>
                      <Link to={`/processes/${p.key}`}>
                        <strong>{p.name}</strong>
                      </Link>
                      <div className="small muted">
                        <span className="mono">{p.key}</span> · v{p.version} · {p.tasks.length} task{p.tasks.length === 1 ? '' : 's'}
                        {can.entities ? (
                          <>
                            {' · '}
                            <Link to={`/batches/new?process=${p.key}`} style={{ whiteSpace: 'nowrap' }}>
                              run on a set<span className="sr-only"> of entities: {p.name}</span>
                            </Link>
                          </>
                        ) : null}
                      </div>
                    </td>
                    <td>{p.entityType}</td>
                    <td>{p.trigger.status ? <>enters <span className="chip status">{p.trigger.status}</span></> : <span className="muted">manual only</span>}</td>
                    <td>
                      <label className="switch">
                        <input type="checkbox" checked={p.enabled} disabled={!can.definitions || toggle.isPending} onChange={() => toggle.mutate(p)} aria-label={`${p.name} enabled`} />
                        <span className="small">{p.enabled ? 'on' : 'off'}</span>
                      </label>
                    </td>
                    <td>
                      <div className="row" style={{ gap: 4 }}>
                        {SHOWN.filter((s) => (p.runs?.[s] ?? 0) > 0).map((s) => (
                          <Link key={s} to={`/runs?process=${p.key}&status=${s}`} className={`chip ${s}`}>
                            {p.runs![s]} {s}
                          </Link>
                        ))}
                        {SHOWN.every((s) => !p.runs?.[s]) ? <span className="muted small">no runs yet</span> : null}
                      </div>
                    </td>
                    <td className="small">
                      {last ? (
                        <>
                          <Link to={`/runs/${last.runId}`} className="mono" title={last.message ?? undefined}>
                            {last.code ?? 'failed'}
                          </Link>{' '}
                          <Time iso={last.at} />
                          {last.message ? <div className="muted clip" title={last.message}>{last.message}</div> : null}
                        </>
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          )}
        </table>
        {list.data && items.length === 0 ? (
          <Empty title="No API process yet">
            <p>{can.definitions ? 'Create one: pick the entity type and the status that starts it, then add its tasks.' : 'An editor can create one.'}</p>
          </Empty>
        ) : null}
      </div>
      {creating ? <NewProcess onClose={() => setCreating(false)} /> : null}
    </>
  );
}

function NewProcess({ onClose }: { onClose(): void }) {
  const types = useEntityTypes();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [type, setType] = useState('');
  const [status, setStatus] = useState('');
  const et = types.data?.items.find((t) => t.key === (type || types.data?.items[0]?.key));
  const create = useMutation({
    mutationFn: () =>
      api<Process>('PUT', `/processes/${key}`, {
        body: { name: name || key, entityType: et?.key, trigger: status ? { status } : { manual: true }, enabled: false, tasks: [{ key: 'wait', kind: 'delay', input: { ms: 0 } }] },
      }),
    onSuccess: (p) => {
      void client.invalidateQueries({ queryKey: ['processes'] });
      onClose();
      navigate(`/processes/${p.key}`);
    },
  });
  return (
    <Modal
      open
      onClose={onClose}
      labelId="new-process-title"
      title="New API process"
      footer={
        <>
          <button onClick={onClose}>Cancel</button>
          <button className="primary" disabled={!key || !et || create.isPending} onClick={() => create.mutate()}>
            Create and edit tasks
          </button>
        </>
      }
    >
      <div className="form-grid">
        <label className="field">
          <span>Key</span>
          <input value={key} onChange={(e) => setKey(e.target.value.toLowerCase().replace(/[^a-z0-9_]/g, '_'))} placeholder="copy_to_hubspot" />
        </label>
        <label className="field">
          <span>Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Copy order to HubSpot" />
        </label>
        <label className="field">
          <span>Entity type</span>
          <select value={et?.key ?? ''} onChange={(e) => setType(e.target.value)}>
            {types.data?.items.map((t) => (
              <option key={t.key} value={t.key}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Trigger</span>
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Manual only</option>
            {et?.statuses.map((s) => (
              <option key={s.key} value={s.key}>
                When it enters “{s.name ?? s.key}”
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted small" style={{ margin: 0 }}>It starts disabled with a placeholder step; enable it once its tasks are ready and tested.</p>
      <ErrorBox error={create.error} />
    </Modal>
  );
}
