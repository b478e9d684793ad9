/** Entity type editor: attributes, statuses, requirements (expression editor with inline errors), transitions, and the status graph. */
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../api';
import { useEntityTypes } from '../Layout';
import { useSession } from '../session';
import { ErrorBox, Loading, PageHead } from '../components/ui';
import { ExpressionEditor, type ExprError } from '../components/ExpressionEditor';
import { StatusGraph } from '../components/StatusGraph';
import type { Attribute, AttributeType, EntityType } from '../types';

const TYPES: AttributeType[] = ['string', 'number', 'integer', 'boolean', 'date', 'datetime', 'enum', 'json'];
const BLANK: EntityType = {
  key: '',
  name: '',
  attributes: [{ key: 'name', type: 'string', required: true }],
  statuses: [{ key: 'new', name: 'New', initial: true }],
  requirements: [],
  transitions: [],
};

export function EntityTypeEditor() {
  const { key = '' } = useParams();
  const types = useEntityTypes();
  if (key === 'new') return <Editor initial={BLANK} isNew />;
  if (types.error) return <ErrorBox error={types.error} />;
  if (!types.data) return <Loading />;
  const et = types.data.items.find((t) => t.key === key);
  if (!et) return <ErrorBox error={new Error(`No entity type "${key}".`)} />;
  return <Editor key={`${et.key}-${et.version}`} initial={et} isNew={false} />;
}

function fieldErrors(err: unknown): Map<string, ExprError> {
  const out = new Map<string, ExprError>();
  const fields = (err as { details?: { fields?: { path: string; code: string; message: string; line?: number; column?: number }[] } } | null)?.details?.fields ?? [];
  for (const f of fields) out.set(f.path, { message: f.message, code: f.code, line: f.line, column: f.column });
  return out;
}

function Editor({ initial, isNew }: { initial: EntityType; isNew: boolean }) {
  const { can } = useSession();
  const ro = !can.definitions;
  const navigate = useNavigate();
  const client = useQueryClient();
  const [d, setD] = useState<EntityType>(initial);
  const [key, setKey] = useState(initial.key);
  const save = useMutation({
    mutationFn: () => {
      const { key: _k, version: _v, createdAt: _c, updatedAt: _u, ...body } = d;
      return api<EntityType>('PUT', `/entity-types/${key}`, { body });
    },
    onSuccess: (saved) => {
      void client.invalidateQueries({ queryKey: ['entity-types'] });
      if (isNew) navigate(`/types/${saved.key}`);
    },
  });
  const errs = fieldErrors(save.error);
  const unplaced = [...errs.entries()].filter(([p]) => !/^requirements\[\d+\]\.condition$/.test(p));
  const set = <K extends keyof EntityType>(k: K, v: EntityType[K]) => setD({ ...d, [k]: v });
  const upd = <T,>(list: T[], i: number, v: Partial<T>) => list.map((x, j) => (j === i ? { ...x, ...v } : x));
  const statusKeys = d.statuses.map((s) => s.key);
  const reqKeys = d.requirements.map((r) => r.key);

  return (
    <>
      <PageHead
        crumbs={<Link to="/types">Entity types</Link>}
        title={isNew ? 'New entity type' : d.name}
        sub={!isNew ? <span className="mono small">{initial.key} · version {initial.version}</span> : undefined}
        actions={
          !ro ? (
            <button className="primary" disabled={save.isPending || !key} onClick={() => save.mutate()}>
              {save.isPending ? 'Saving…' : isNew ? 'Create type' : 'Save'}
            </button>
          ) : null
        }
      />
      {save.isSuccess ? <div className="note" role="status" style={{ marginBottom: 12 }}>Saved.</div> : null}
      <ErrorBox error={save.error} title="Not saved" />
      {unplaced.length ? (
        <ul className="field-error">
          {unplaced.map(([p, e]) => (
            <li key={p}>
              {p}: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="stack">
        <section className="card form-grid">
          <label className="field">
            <span>Key</span>
            <input value={key} disabled={!isNew || ro} onChange={(e) => setKey(e.target.value.toLowerCase().replace(/[^a-z0-9_]/g, '_'))} placeholder="order" />
          </label>
          <label className="field">
            <span>Name</span>
            <input value={d.name} disabled={ro} onChange={(e) => set('name', e.target.value)} placeholder="Order" />
          </label>
        </section>

        <section className="card" aria-labelledby="attr-h">
          <h2 id="attr-h">Attributes</h2>
          <table aria-labelledby="attr-h">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Type</th>
                <th scope="col">Required</th>
                <th scope="col">Values (enum)</th>
                <th scope="col"><span className="sr-only">Remove</span></th>
              </tr>
            </thead>
            <tbody>
              {d.attributes.map((a, i) => (
                <tr key={i}>
                  <td>
                    <input aria-label={`Attribute ${i + 1} key`} disabled={ro} value={a.key} onChange={(e) => set('attributes', upd<Attribute>(d.attributes, i, { key: e.target.value }))} />
                  </td>
                  <td>
                    <select aria-label={`Attribute ${i + 1} type`} disabled={ro} value={a.type} onChange={(e) => set('attributes', upd<Attribute>(d.attributes, i, { type: e.target.value as AttributeType }))}>
                      {TYPES.map((t) => (
                        <option key={t}>{t}</option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input type="checkbox" aria-label={`Attribute ${i + 1} required`} disabled={ro} checked={!!a.required} onChange={(e) => set('attributes', upd<Attribute>(d.attributes, i, { required: e.target.checked }))} />
                  </td>
                  <td>
                    {a.type === 'enum' ? (
                      <input aria-label={`Attribute ${i + 1} values`} disabled={ro} value={(a.values ?? []).join(', ')} onChange={(e) => set('attributes', upd<Attribute>(d.attributes, i, { values: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) }))} placeholder="web, phone" />
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>
                    {!ro ? <button className="ghost icon danger" aria-label={`Remove attribute ${a.key}`} onClick={() => set('attributes', d.attributes.filter((_, j) => j !== i))}>✕</button> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {!ro ? <button style={{ marginTop: 8 }} onClick={() => set('attributes', [...d.attributes, { key: '', type: 'string' }])}>+ Attribute</button> : null}
        </section>

        <section className="card" aria-labelledby="st-h">
          <h2 id="st-h">Statuses</h2>
          <div className="stack" style={{ gap: 6 }}>
            {d.statuses.map((s, i) => (
              <div className="row" key={i}>
                <input aria-label={`Status ${i + 1} key`} disabled={ro} value={s.key} onChange={(e) => set('statuses', upd(d.statuses, i, { key: e.target.value }))} placeholder="received" />
                <input aria-label={`Status ${i + 1} name`} disabled={ro} value={s.name ?? ''} onChange={(e) => set('statuses', upd(d.statuses, i, { name: e.target.value }))} placeholder="Received" />
                <label className="switch">
                  <input type="radio" name="initial" disabled={ro} checked={!!s.initial} onChange={() => set('statuses', d.statuses.map((x, j) => ({ ...x, initial: j === i })))} /> initial
                </label>
                {!ro ? <button className="ghost icon danger" aria-label={`Remove status ${s.key}`} onClick={() => set('statuses', d.statuses.filter((_, j) => j !== i))}>✕</button> : null}
              </div>
            ))}
          </div>
          {!ro ? <button style={{ marginTop: 8 }} onClick={() => set('statuses', [...d.statuses, { key: '', name: '' }])}>+ Status</button> : null}
        </section>

        <section className="card" aria-labelledby="rq-h">
          <h2 id="rq-h">Requirements</h2>
          <p className="muted small" style={{ marginTop: 0 }}>
            A condition on the attributes (JSONata). It passes only when it is exactly <code>true</code>. “Enforce” refuses a save that fails it.
          </p>
          <div className="stack" style={{ gap: 12 }}>
            {d.requirements.map((r, i) => (
              <div key={i} className="task" style={{ padding: 10, display: 'grid', gap: 8 }} data-requirement-editor={i}>
                <div className="row">
                  <input aria-label={`Requirement ${i + 1} key`} disabled={ro} value={r.key} onChange={(e) => set('requirements', upd(d.requirements, i, { key: e.target.value }))} placeholder="has_email" />
                  <input aria-label={`Requirement ${i + 1} message`} disabled={ro} style={{ flex: 1 }} value={r.message} onChange={(e) => set('requirements', upd(d.requirements, i, { message: e.target.value }))} placeholder="Message shown when it fails" />
                  <label className="switch">
                    <input type="checkbox" disabled={ro} checked={!!r.enforce} onChange={(e) => set('requirements', upd(d.requirements, i, { enforce: e.target.checked }))} /> enforce
                  </label>
                  {!ro ? <button className="ghost icon danger" aria-label={`Remove requirement ${r.key}`} onClick={() => set('requirements', d.requirements.filter((_, j) => j !== i))}>✕</button> : null}
                </div>
                <ExpressionEditor label={`Requirement ${i + 1} condition`} readOnly={ro} value={r.condition} onChange={(v) => set('requirements', upd(d.requirements, i, { condition: v }))} error={errs.get(`requirements[${i}].condition`)} check placeholder="total > 0" />
              </div>
            ))}
          </div>
          {!ro ? <button style={{ marginTop: 8 }} onClick={() => set('requirements', [...d.requirements, { key: '', condition: '', message: '' }])}>+ Requirement</button> : null}
        </section>

        <section className="card" aria-labelledby="tr-h">
          <h2 id="tr-h">Transitions</h2>
          <div className="stack" style={{ gap: 8 }}>
            {d.transitions.map((t, i) => (
              <div key={i} className="task" style={{ padding: 10, display: 'grid', gap: 8 }}>
                <div className="row">
                  <span className="muted small">From</span>
                  {statusKeys.map((k) => (
                    <label key={k} className="switch small">
                      <input type="checkbox" aria-label={`Transition ${i + 1} from ${k}`} disabled={ro} checked={t.from.includes(k)} onChange={(e) => set('transitions', upd(d.transitions, i, { from: e.target.checked ? [...t.from, k] : t.from.filter((x) => x !== k) }))} /> {k}
                    </label>
                  ))}
                  <span className="muted small">to</span>
                  <select aria-label={`Transition ${i + 1} to`} disabled={ro} value={t.to} onChange={(e) => set('transitions', upd(d.transitions, i, { to: e.target.value }))}>
                    {statusKeys.map((k) => (
                      <option key={k}>{k}</option>
                    ))}
                  </select>
                  <label className="switch">
                    <input type="checkbox" aria-label={`Transition ${i + 1} automatic`} disabled={ro} checked={!!t.auto} onChange={(e) => set('transitions', upd(d.transitions, i, { auto: e.target.checked }))} /> automatic
                  </label>
                  <span className="spacer" />
                  {!ro ? <button className="ghost icon danger" aria-label={`Remove transition ${i + 1}`} onClick={() => set('transitions', d.transitions.filter((_, j) => j !== i))}>✕</button> : null}
                </div>
                <div className="row">
                  <span className="muted small">when passing</span>
                  {reqKeys.map((k) => (
                    <label key={k} className="switch small">
                      <input type="checkbox" aria-label={`Transition ${i + 1} when ${k} passes`} disabled={ro} checked={!!t.when?.includes(k)} onChange={(e) => set('transitions', upd(d.transitions, i, { when: e.target.checked ? [...(t.when ?? []), k] : (t.when ?? []).filter((x) => x !== k) }))} /> {k}
                    </label>
                  ))}
                  <span className="muted small">when failing</span>
                  {reqKeys.map((k) => (
                    <label key={k} className="switch small">
                      <input type="checkbox" aria-label={`Transition ${i + 1} when ${k} fails`} disabled={ro} checked={!!t.whenFailing?.includes(k)} onChange={(e) => set('transitions', upd(d.transitions, i, { whenFailing: e.target.checked ? [...(t.whenFailing ?? []), k] : (t.whenFailing ?? []).filter((x) => x !== k) }))} /> {k}
                    </label>
                  ))}
                </div>
              </div>
            ))}
          </div>
          {!ro ? <button style={{ marginTop: 8 }} onClick={() => set('transitions', [...d.transitions, { from: statusKeys.slice(0, 1), to: statusKeys[1] ?? statusKeys[0] ?? '', when: [], auto: true }])}>+ Transition</button> : null}
          <h3 style={{ marginTop: 16 }}>Status graph</h3>
          <StatusGraph et={d} />
        </section>
      </div>
    </>
  );
}
