/** Small shared pieces: status chips, error and empty states, skeletons, JSON, times, the process icon. */
import { useEffect, useRef, type ReactNode } from 'react';
import { ApiError } from '../api';

export function Chip({ value, kind = 'run' }: { value: string; kind?: 'run' | 'status' }) {
  return <span className={`chip ${kind === 'status' ? 'status' : value}`}>{value}</span>;
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div className="alert" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {e ? <code>{e.code}</code> : null} {e ? e.message : String((error as Error)?.message ?? error)}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}

export function SkeletonRows({ rows = 6, cols = 4 }: { rows?: number; cols?: number }) {
  return (
    <tbody aria-busy="true">
      {Array.from({ length: rows }, (_, i) => (
        <tr key={i}>
          {Array.from({ length: cols }, (_, j) => (
            <td key={j}>
              <div className="skeleton" style={{ width: `${50 + ((i * 7 + j * 13) % 40)}%` }} />
            </td>
          ))}
        </tr>
      ))}
    </tbody>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="card" aria-busy="true" aria-label={label}>
      <div className="skeleton" style={{ width: '40%', marginBottom: 10 }} />
      <div className="skeleton" style={{ width: '70%', marginBottom: 10 }} />
      <div className="skeleton" style={{ width: '55%' }} />
    </div>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  if (value === undefined || value === null) return <span className="muted">—</span>;
  return <pre aria-label={label} tabIndex={0}>{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const s = (Date.parse(iso) - Date.now()) / 1000;
  const abs = Math.abs(s);
  if (abs < 45) return rtf.format(Math.round(s), 'second');
  if (abs < 2700) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return <time dateTime={iso} title={new Date(iso).toLocaleString()}>{ago(iso)}</time>;
}
export function duration(a?: string | null, b?: string | null): string {
  if (!a || !b) return '—';
  const ms = Date.parse(b) - Date.parse(a);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function ProcessIcon() {
  return (
    <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round">
      <path d="M4 2.8v10.4L13 8z" />
    </svg>
  );
}

/** A modal on the native <dialog> (showModal traps focus and makes the page inert; Esc closes). */
export function Modal({ open, onClose, title, children, footer, labelId }: { open: boolean; onClose(): void; title: ReactNode; children: ReactNode; footer?: ReactNode; labelId: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={labelId} onClose={onClose} onCancel={onClose}>
      {open ? (
        <>
          <div className="dialog-head">
            <h2 id={labelId} style={{ margin: 0 }}>{title}</h2>
            <span className="spacer" />
            <button className="ghost icon" onClick={onClose} aria-label="Close">✕</button>
          </div>
          <div className="dialog-body">{children}</div>
          {footer ? <div className="dialog-foot">{footer}</div> : null}
        </>
      ) : null}
    </dialog>
  );
}

export function PageHead({ title, sub, crumbs, actions }: { title: ReactNode; sub?: ReactNode; crumbs?: ReactNode; actions?: ReactNode }) {
  return (
    <>
      {crumbs ? <div className="crumbs">{crumbs}</div> : null}
      <div className="page-head">
        <h1>{title}</h1>
        {sub ? <span className="sub">{sub}</span> : null}
        {actions ? <div className="actions">{actions}</div> : null}
      </div>
    </>
  );
}

/**
 * Newer/Older buttons over cursor pages. `prev` holds the cursors of the pages before this one (the
 * API's cursors only go older), `go` moves to a cursor ('' for the first page).
 */
export function Pager(props: { cursor: string; nextCursor: string | null | undefined; prev: string[]; setPrev: (p: string[]) => void; go: (cursor: string) => void; updating?: boolean }) {
  const { cursor, nextCursor, prev, setPrev, go } = props;
  return (
    <nav className="pager" aria-label="Pages">
      {props.updating ? <span>Updating…</span> : null}
      <button
        disabled={prev.length === 0 && !cursor}
        onClick={() => {
          const p = [...prev];
          const back = p.pop() ?? '';
          setPrev(p);
          go(back);
        }}
      >
        ← Newer
      </button>
      <button
        disabled={!nextCursor}
        onClick={() => {
          setPrev([...prev, cursor]);
          go(nextCursor!);
        }}
      >
        Older →
      </button>
    </nav>
  );
}

/** The enforced requirements a 422 save named (ENTITY_REQUIREMENTS_FAILED), as a checklist of what refused it. */
export function RefusedRequirements({ error }: { error: unknown }) {
  const refused = error instanceof ApiError && error.status === 422 ? ((error.details as { requirements?: { key: string; message: string }[] })?.requirements ?? []) : [];
  if (refused.length === 0) return null;
  return (
    <ul className="checklist" aria-label="Refusing requirements">
      {refused.map((r) => (
        <li key={r.key} className="fail">
          <span className="mark">✕</span>
          <span>
            <strong>{r.key}</strong> — {r.message}
          </span>
        </li>
      ))}
    </ul>
  );
}
