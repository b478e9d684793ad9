/** An edit form generated from an entity type's attribute schema; field errors come from the API's details.fields. */
import type { Attribute } from '../types';

export type Draft = Record<string, string | boolean>;

/** Form values (text for inputs) from stored attributes. */
export function toDraft(attrs: Attribute[], values: Record<string, unknown>): Draft {
  const d: Draft = {};
  for (const a of attrs) {
    const v = values[a.key] ?? (a.default !== undefined ? a.default : undefined);
    if (a.type === 'boolean') d[a.key] = v === true;
    else if (a.type === 'json') d[a.key] = v === undefined ? '' : JSON.stringify(v, null, 2);
    else d[a.key] = v === undefined || v === null ? '' : String(v);
  }
  return d;
}

/** The attributes to send: changed fields only when `before` is given. Throws on unparsable JSON or numbers. */
export function fromDraft(attrs: Attribute[], draft: Draft, before?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of attrs) {
    const raw = draft[a.key];
    let v: unknown;
    if (a.type === 'boolean') v = raw === true;
    else if (raw === '' || raw === undefined) v = before && before[a.key] !== undefined ? null : undefined;
    else if (a.type === 'number' || a.type === 'integer') {
      v = Number(raw);
      if (!Number.isFinite(v as number)) throw new Error(`${a.key}: "${String(raw)}" is not a number`);
    } else if (a.type === 'json') {
      try {
        v = JSON.parse(String(raw));
      } catch {
        throw new Error(`${a.key}: not valid JSON`);
      }
    } else v = raw;
    if (v === undefined) continue;
    if (before && JSON.stringify(before[a.key] ?? null) === JSON.stringify(v)) continue;
    out[a.key] = v;
  }
  return out;
}

export function AttributeForm({ attrs, draft, onChange, errors, readOnly, idPrefix }: { attrs: Attribute[]; draft: Draft; onChange(d: Draft): void; errors?: Record<string, string>; readOnly?: boolean; idPrefix: string }) {
  const set = (k: string, v: string | boolean) => onChange({ ...draft, [k]: v });
  return (
    <div className="form-grid">
      {attrs.map((a) => {
        const id = `${idPrefix}-${a.key}`;
        const err = errors?.[a.key];
        const common = { id, disabled: readOnly, 'aria-invalid': err ? true : undefined, 'aria-describedby': err ? `${id}-err` : undefined };
        let input;
        if (a.type === 'boolean')
          input = (
            <span className="switch">
              <input type="checkbox" {...common} checked={draft[a.key] === true} onChange={(e) => set(a.key, e.target.checked)} /> {draft[a.key] ? 'yes' : 'no'}
            </span>
          );
        else if (a.type === 'enum')
          input = (
            <select {...common} value={String(draft[a.key] ?? '')} onChange={(e) => set(a.key, e.target.value)}>
              <option value="">—</option>
              {a.values?.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          );
        else if (a.type === 'json') input = <textarea {...common} rows={3} value={String(draft[a.key] ?? '')} onChange={(e) => set(a.key, e.target.value)} />;
        else
          input = (
            <input
              {...common}
              type={a.type === 'number' || a.type === 'integer' ? 'number' : a.type === 'date' ? 'date' : 'text'}
              step={a.type === 'integer' ? 1 : 'any'}
              value={String(draft[a.key] ?? '')}
              onChange={(e) => set(a.key, e.target.value)}
            />
          );
        return (
          <div key={a.key} className="field" style={{ display: 'grid', gap: 4, fontSize: 13, gridColumn: a.type === 'json' ? '1 / -1' : undefined }}>
            <label htmlFor={id} className="muted" style={{ fontWeight: 500 }}>
              {a.key}
              {a.required ? ' *' : ''} <span className="small">({a.type})</span>
            </label>
            {input}
            {err ? (
              <span className="field-error" id={`${id}-err`}>
                {err}
              </span>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

/** Field errors by attribute key from an API 400's details.fields (`attributes.x` or `x`). */
export function fieldErrors(err: unknown): Record<string, string> {
  const fields = (err as { details?: { fields?: { path: string; message: string }[] } } | null)?.details?.fields ?? [];
  const out: Record<string, string> = {};
  for (const f of fields) out[f.path.replace(/^attributes\./, '')] = f.message;
  return out;
}
