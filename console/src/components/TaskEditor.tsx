/** One task's form: key, kind, connection, `when`, and the kind's own input fields (expressions checked as you type). */
import type { ReactNode } from 'react';
import { ExpressionEditor, type ExprError } from './ExpressionEditor';
import type { Connection, EntityType, Task } from '../types';

export const KINDS: { kind: string; label: string; provider?: Connection['provider'] }[] = [
  { kind: 'http.request', label: 'HTTP request', provider: 'http' },
  { kind: 'hubspot.upsert', label: 'HubSpot upsert', provider: 'hubspot' },
  { kind: 'hubspot.associate', label: 'HubSpot associate', provider: 'hubspot' },
  { kind: 'dropbox.upload', label: 'Dropbox upload', provider: 'dropbox' },
  { kind: 'entity.update', label: 'Update entity' },
  { kind: 'entity.create', label: 'Create entity' },
  { kind: 'delay', label: 'Delay' },
];

export function newTask(kind: string, existing: Task[]): Task {
  const base = kind.split('.').pop()!.replace(/[^a-z0-9_]/g, '_');
  let key = base;
  for (let i = 2; existing.some((t) => t.key === key); i++) key = `${base}_${i}`;
  const input: Record<string, unknown> =
    kind === 'http.request'
      ? { method: 'POST', path: "'/'", body: '{ "id": entity.id }' }
      : kind === 'hubspot.upsert'
        ? { object: 'deals', properties: '{}' }
        : kind === 'dropbox.upload'
          ? { path: "'/' & entity.id & '.json'", content: '$string(entity)', mode: 'overwrite' }
          : kind === 'entity.update'
            ? { attributes: '{}' }
            : kind === 'entity.create'
              ? { entityType: '', attributes: '{}' }
              : kind === 'delay'
                ? { ms: 1000 }
                : {};
  return { key, kind, input };
}

type Errors = Record<string, ExprError>;

function F({ label, children, id }: { label: string; children: ReactNode; id: string }) {
  return (
    <div style={{ display: 'grid', gap: 4, fontSize: 13 }}>
      <label htmlFor={id} className="muted" style={{ fontWeight: 500 }}>
        {label}
      </label>
      {children}
    </div>
  );
}

export function TaskEditor({ task, index, onChange, connections, types, errors, readOnly }: { task: Task; index: number; onChange(t: Task): void; connections: Connection[]; types: EntityType[]; errors: Errors; readOnly: boolean }) {
  const id = (f: string) => `t${index}-${f}`;
  const input = task.input ?? {};
  const setInput = (k: string, v: unknown) => {
    const next = { ...input };
    if (v === undefined || v === '') delete next[k];
    else next[k] = v;
    onChange({ ...task, input: next });
  };
  const provider = KINDS.find((k) => k.kind === task.kind)?.provider;
  const expr = (field: string, label: string, placeholder = '') => (
    <F key={field} label={`${label} (expression)`} id={id(field)}>
      <ExpressionEditor id={id(field)} label={`${task.key} ${label}`} value={String(input[field] ?? '')} onChange={(v) => setInput(field, v)} check error={errors[`input.${field}`]} placeholder={placeholder} readOnly={readOnly} />
    </F>
  );
  let fields: ReactNode;
  switch (task.kind) {
    case 'http.request':
      fields = (
        <>
          <div className="form-grid">
            <F label="Method" id={id('method')}>
              <select id={id('method')} disabled={readOnly} value={String(input.method ?? 'POST')} onChange={(e) => setInput('method', e.target.value)}>
                {['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </F>
            <F label="Expected status" id={id('expect')}>
              <input
                id={id('expect')}
                disabled={readOnly}
                value={Array.isArray(input.expectStatus) ? input.expectStatus.join(',') : String(input.expectStatus ?? '')}
                onChange={(e) => {
                  const v = e.target.value.split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
                  setInput('expectStatus', v.length === 0 ? undefined : v.length === 1 ? v[0] : v);
                }}
                placeholder="any 2xx (or 200, 201)"
              />
            </F>
          </div>
          {task.connection ? expr('path', 'Path', "'/orders'") : expr('url', 'URL', "'https://example.com/hook'")}
          {expr('body', 'Body', '{ "id": entity.id }')}
        </>
      );
      break;
    case 'hubspot.upsert':
      fields = (
        <>
          <div className="form-grid">
            <F label="Object" id={id('object')}>
              <select id={id('object')} disabled={readOnly} value={String(input.object ?? 'deals')} onChange={(e) => setInput('object', e.target.value)}>
                {['contacts', 'companies', 'deals'].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </F>
            <F label="Id property (optional)" id={id('idp')}>
              <input id={id('idp')} disabled={readOnly} value={String(input.idProperty ?? '')} onChange={(e) => setInput('idProperty', e.target.value)} />
            </F>
          </div>
          {expr('properties', 'Property mapping', "{ 'dealname': 'Order ' & order_number }")}
        </>
      );
      break;
    case 'dropbox.upload':
      fields = (
        <>
          {expr('path', 'Path', "'/orders/' & order_number & '.json'")}
          {expr('content', 'Content', '$string(entity)')}
          <div className="form-grid">
            <F label="Mode" id={id('mode')}>
              <select id={id('mode')} disabled={readOnly} value={String(input.mode ?? 'overwrite')} onChange={(e) => setInput('mode', e.target.value)}>
                {['overwrite', 'add'].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </F>
            <label className="switch" style={{ alignSelf: 'end' }}>
              <input type="checkbox" disabled={readOnly} checked={input.sharedLink === true} onChange={(e) => setInput('sharedLink', e.target.checked || undefined)} /> Shared link
            </label>
          </div>
        </>
      );
      break;
    case 'entity.update':
      fields = expr('attributes', 'Attributes', "{ 'synced': true }");
      break;
    case 'entity.create':
      fields = (
        <>
          <F label="Entity type" id={id('etype')}>
            <select id={id('etype')} disabled={readOnly} value={String(input.entityType ?? '')} onChange={(e) => setInput('entityType', e.target.value)}>
              <option value="">—</option>
              {types.map((t) => (
                <option key={t.key} value={t.key}>
                  {t.name}
                </option>
              ))}
            </select>
          </F>
          {expr('attributes', 'Attributes', '{}')}
        </>
      );
      break;
    case 'delay':
      fields = (
        <F label="Wait (ms)" id={id('ms')}>
          <input id={id('ms')} type="number" min={0} disabled={readOnly} value={String(input.ms ?? '')} onChange={(e) => setInput('ms', e.target.value === '' ? undefined : Number(e.target.value))} />
        </F>
      );
      break;
    default:
      fields = (
        <F label="Input (JSON)" id={id('json')}>
          <textarea id={id('json')} rows={5} disabled={readOnly} defaultValue={JSON.stringify(input, null, 2)} onBlur={(e) => { try { onChange({ ...task, input: JSON.parse(e.target.value) as Record<string, unknown> }); } catch { /* kept until valid */ } }} />
        </F>
      );
  }
  const usable = connections.filter((c) => c.provider === provider);
  return (
    <div className="task-body">
      <div className="form-grid">
        <F label="Key" id={id('key')}>
          <input id={id('key')} disabled={readOnly} value={task.key} onChange={(e) => onChange({ ...task, key: e.target.value })} pattern="[a-z][a-z0-9_]*" />
        </F>
        {provider ? (
          <F label="Connection" id={id('conn')}>
            <select id={id('conn')} disabled={readOnly} value={task.connection ?? ''} onChange={(e) => onChange({ ...task, connection: e.target.value || undefined })}>
              <option value="">{provider === 'http' ? 'none (absolute URL)' : '— pick one —'}</option>
              {usable.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.name ?? c.key}
                </option>
              ))}
            </select>
          </F>
        ) : null}
      </div>
      {errors.connection ? <div className="field-error">{errors.connection.message}</div> : null}
      <F label="Run only when (expression, optional)" id={id('when')}>
        <ExpressionEditor id={id('when')} label={`${task.key} when`} value={task.when ?? ''} onChange={(v) => onChange({ ...task, when: v || undefined })} check error={errors.when} placeholder="always" readOnly={readOnly} />
      </F>
      {fields}
      {errors.other ? <div className="field-error">{errors.other.message}</div> : null}
    </div>
  );
}
