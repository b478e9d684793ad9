import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get, type Page } from '../api';
import { useSession } from '../session';
import { Empty, ErrorBox, Modal, PageHead, SkeletonRows, Time } from '../components/ui';
import type { Connection, ConnectionDetail, Failure } from '../types';

const SECRETS: Record<Connection['provider'], { key: string; label: string; json?: boolean }[]> = {
  hubspot: [{ key: 'accessToken', label: 'Private app access token' }],
  dropbox: [
    { key: 'accessToken', label: 'Access token' },
    { key: 'refreshToken', label: 'Refresh token (instead of an access token)' },
    { key: 'appKey', label: 'App key' },
    { key: 'appSecret', label: 'App secret' },
  ],
  http: [{ key: 'headers', label: 'Secret headers (JSON, e.g. {"Authorization": "Bearer …"})', json: true }],
};

const per = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toLocaleString()} s` : `${ms} ms`);

/** The limit in force and the provider's recent 429s (GET /connections/{key}), a row's own query. */
function Limits({ conn }: { conn: Connection }) {
  const detail = useQuery({ queryKey: ['connection', conn.key], queryFn: ({ signal }) => get<ConnectionDetail>(`/connections/${conn.key}`, signal) });
  const d = detail.data;
  if (detail.error) return <span className="muted">—</span>;
  if (!d) return <div className="skeleton" style={{ width: 90 }} />;
  const last = d.recent429s[0];
  return (
    <div className="small" data-limits={conn.key}>
      {d.rateLimit ? (
        <div>
          {d.rateLimit.requests} per {per(d.rateLimit.perMs)} <span className="muted">({d.rateLimit.from})</span>
        </div>
      ) : (
        <div className="muted">no limit; 429s pause it</div>
      )}
      {last ? (
        <details className="recent-429">
          <summary>
            <span className="chip waiting">{d.recent429s.length === 20 ? '20+' : d.recent429s.length} × 429</span> last <Time iso={last.at} />
          </summary>
          <table aria-label={`Recent 429 answers of ${conn.name ?? conn.key}`}>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Retry-After</th>
              </tr>
            </thead>
            <tbody>
              {d.recent429s.map((a, i) => (
                <tr key={`${a.at}-${i}`}>
                  <td>
                    <Time iso={a.at} />
                  </td>
                  <td className="num">{a.retryAfterMs === null ? <span className="muted">none given</span> : per(a.retryAfterMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : (
        <div className="muted">no 429 lately</div>
      )}
    </div>
  );
}

export function Connections() {
  const { can } = useSession();
  const [editing, setEditing] = useState<Connection | 'new' | null>(null);
  const [results, setResults] = useState<Record<string, { ok: boolean; error?: Failure } | 'testing'>>({});
  // Connections added elsewhere (the CLI, another user, definitions applied) send no event: fetch on every visit.
  const list = useQuery({ queryKey: ['connections'], queryFn: ({ signal }) => get<Page<Connection>>('/connections?limit=500', signal), refetchOnMount: 'always' });
  const test = async (k: string) => {
    setResults((r) => ({ ...r, [k]: 'testing' }));
    try {
      const res = await api<{ ok: boolean; error?: Failure }>('POST', `/connections/${k}/test`);
      setResults((r) => ({ ...r, [k]: res }));
    } catch (err) {
      const e = err as { code?: string; message: string };
      setResults((r) => ({ ...r, [k]: { ok: false, error: { code: e.code ?? 'ERROR', message: e.message } } }));
    }
  };
  return (
    <>
      <PageHead
        title="Connections"
        sub="credentials and limits of the external accounts tasks talk to"
        actions={can.admin ? <button className="primary" onClick={() => setEditing('new')}>Add connection</button> : null}
      />
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table aria-label="Connections">
          <thead>
            <tr>
              <th scope="col">Connection</th>
              <th scope="col">Provider</th>
              <th scope="col">Base URL</th>
              <th scope="col">Rate limit · recent 429s</th>
              <th scope="col">Secrets</th>
              <th scope="col">Updated</th>
              <th scope="col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          {list.isPending ? (
            <SkeletonRows cols={7} rows={2} />
          ) : (
            <tbody>
              {list.data?.items.map((c) => {
                const r = results[c.key];
                return (
                  <tr key={c.key}>
                    <td>
                      <strong>{c.name ?? c.key}</strong> <span className="mono small muted">{c.key}</span>
                    </td>
                    <td>{c.provider}</td>
                    <td className="mono small">{String(c.config?.baseUrl ?? 'default')}</td>
                    <td>
                      <Limits conn={c} />
                    </td>
                    <td className="small">
                      {Object.keys(c.secrets ?? {}).length ? Object.keys(c.secrets!).map((k) => <div key={k}>{k}: <span className="chip succeeded">set</span></div>) : <span className="muted">none</span>}
                    </td>
                    <td>
                      <Time iso={c.updatedAt} />
                    </td>
                    <td>
                      <div className="row" style={{ justifyContent: 'flex-end' }}>
                        {r && r !== 'testing' ? (
                          r.ok ? (
                            <span className="chip succeeded" role="status">works</span>
                          ) : (
                            <span className="chip failed" role="status" title={r.error?.message}>
                              {r.error?.code}
                            </span>
                          )
                        ) : null}
                        {can.definitions ? (
                          <button onClick={() => void test(c.key)} disabled={r === 'testing'}>
                            {r === 'testing' ? 'Testing…' : 'Test'}
                          </button>
                        ) : null}
                        {can.admin ? <button onClick={() => setEditing(c)}>Edit</button> : null}
                      </div>
                      {r && r !== 'testing' && !r.ok ? <div className="small field-error">{r.error?.message}</div> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          )}
        </table>
        {list.data && list.data.items.length === 0 ? (
          <Empty title="No connection yet">
            <p>Add HubSpot, Dropbox or an HTTP API so processes can talk to it.</p>
          </Empty>
        ) : null}
      </div>
      {editing ? <EditConnection conn={editing === 'new' ? null : editing} onClose={() => setEditing(null)} /> : null}
    </>
  );
}

function EditConnection({ conn, onClose }: { conn: Connection | null; onClose(): void }) {
  const client = useQueryClient();
  const [key, setKey] = useState(conn?.key ?? '');
  const [provider, setProvider] = useState<Connection['provider']>(conn?.provider ?? 'http');
  const [name, setName] = useState(conn?.name ?? '');
  const [baseUrl, setBaseUrl] = useState(String(conn?.config?.baseUrl ?? ''));
  const rl = (conn?.config as { rateLimit?: { requests: number; perMs: number } } | undefined)?.rateLimit;
  const [requests, setRequests] = useState(rl ? String(rl.requests) : '');
  const [perMs, setPerMs] = useState(rl ? String(rl.perMs) : '');
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [local, setLocal] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: unknown) => api<Connection>('PUT', `/connections/${key}`, { body }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['connections'] });
      void client.invalidateQueries({ queryKey: ['connection'] });
      onClose();
    },
  });
  const submit = () => {
    setLocal(null);
    const config: Record<string, unknown> = { ...(conn?.config ?? {}) };
    if (baseUrl) config.baseUrl = baseUrl;
    else delete config.baseUrl;
    if (requests && perMs) config.rateLimit = { requests: Number(requests), perMs: Number(perMs) };
    else delete config.rateLimit;
    const given: Record<string, unknown> = {};
    try {
      for (const s of SECRETS[provider]) if (secrets[s.key]) given[s.key] = s.json ? JSON.parse(secrets[s.key]!) : secrets[s.key];
    } catch {
      setLocal('Secret headers must be a JSON object.');
      return;
    }
    // Without `secrets` the stored ones are kept.
    save.mutate({ provider, name: name || undefined, config, ...(Object.keys(given).length ? { secrets: given } : {}) });
  };
  return (
    <Modal
      open
      onClose={onClose}
      labelId="conn-title"
      title={conn ? `Edit ${conn.name ?? conn.key}` : 'Add connection'}
      footer={
        <>
          <button onClick={onClose}>Cancel</button>
          <button className="primary" onClick={submit} disabled={!key || save.isPending}>
            Save
          </button>
        </>
      }
    >
      <div className="form-grid">
        <label className="field">
          <span>Key</span>
          <input value={key} disabled={!!conn} onChange={(e) => setKey(e.target.value.toLowerCase().replace(/[^a-z0-9_]/g, '_'))} placeholder="hubspot_main" />
        </label>
        <label className="field">
          <span>Provider</span>
          <select value={provider} disabled={!!conn} onChange={(e) => setProvider(e.target.value as Connection['provider'])}>
            <option value="http">HTTP API</option>
            <option value="hubspot">HubSpot</option>
            <option value="dropbox">Dropbox</option>
          </select>
        </label>
        <label className="field">
          <span>Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Base URL {provider === 'http' ? '' : '(optional, e.g. a sandbox)'}</span>
          <input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder={provider === 'hubspot' ? 'https://api.hubapi.com' : 'https://…'} />
        </label>
        <label className="field">
          <span>Rate limit: requests</span>
          <input type="number" min={1} value={requests} onChange={(e) => setRequests(e.target.value)} placeholder="default" />
        </label>
        <label className="field">
          <span>per (ms)</span>
          <input type="number" min={1} value={perMs} onChange={(e) => setPerMs(e.target.value)} placeholder="10000" />
        </label>
      </div>
      <fieldset className="card" style={{ display: 'grid', gap: 10 }}>
        <legend className="small muted">Secrets (write-only: leave empty to keep what is stored)</legend>
        {SECRETS[provider].map((s) => (
          <label className="field" key={s.key}>
            <span>
              {s.label} {conn?.secrets?.[s.key] ? <span className="chip succeeded">set</span> : null}
            </span>
            {s.json ? (
              <textarea rows={2} value={secrets[s.key] ?? ''} onChange={(e) => setSecrets({ ...secrets, [s.key]: e.target.value })} placeholder={conn?.secrets?.[s.key] ? 'set — type to replace' : ''} />
            ) : (
              <input type="password" autoComplete="off" value={secrets[s.key] ?? ''} onChange={(e) => setSecrets({ ...secrets, [s.key]: e.target.value })} placeholder={conn?.secrets?.[s.key] ? 'set — type to replace' : ''} />
            )}
          </label>
        ))}
      </fieldset>
      {local ? <div className="alert" role="alert">{local}</div> : null}
      <ErrorBox error={save.error} />
    </Modal>
  );
}
