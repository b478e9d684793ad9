/**
 * The command palette (⌘K / Ctrl-K, or the "Jump to…" button): type to find an entity type, a process,
 * a connection, a batch or a run (by any part of its id), then Enter. A combobox over a listbox: arrows
 * move, Enter opens, Esc closes; the native <dialog> traps focus.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { get, type Page } from '../api';
import type { Batch, Connection, EntityType, Process, Run } from '../types';

interface Item {
  id: string;
  kind: string;
  label: string;
  hint?: string;
  to: string;
}

const PAGES: Item[] = [
  { id: 'page:processes', kind: 'Page', label: 'API processes', to: '/processes' },
  { id: 'page:batches', kind: 'Page', label: 'Batches', to: '/batches' },
  { id: 'page:new-batch', kind: 'Page', label: 'Start a batch (processing control panel)', to: '/batches/new' },
  { id: 'page:runs', kind: 'Page', label: 'Runs', to: '/runs' },
  { id: 'page:failed', kind: 'Page', label: 'Failed runs', to: '/runs?status=failed' },
  { id: 'page:types', kind: 'Page', label: 'Entity types', to: '/types' },
  { id: 'page:connections', kind: 'Page', label: 'Connections', to: '/connections' },
];
const ID = /^[0-9a-z_-]{6,}$/i;

/** Opens on ⌘K / Ctrl-K anywhere in the console. */
export function usePaletteShortcut(open: () => void) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.metaKey || e.ctrlKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        open();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);
}

export function Palette({ onClose }: { onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const navigate = useNavigate();
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const types = useQuery({ queryKey: ['palette', 'entity-types'], staleTime: 0, queryFn: ({ signal }) => get<Page<EntityType>>('/entity-types?limit=500', signal) });
  const processes = useQuery({ queryKey: ['palette', 'processes'], staleTime: 0, queryFn: ({ signal }) => get<Page<Process>>('/processes?limit=500', signal) });
  const connections = useQuery({ queryKey: ['palette', 'connections'], staleTime: 0, queryFn: ({ signal }) => get<Page<Connection>>('/connections?limit=500', signal) });
  const batches = useQuery({ queryKey: ['palette', 'batches'], staleTime: 0, queryFn: ({ signal }) => get<Page<Batch>>('/batches?limit=50', signal) });
  const runs = useQuery({ queryKey: ['palette', 'runs'], staleTime: 0, queryFn: ({ signal }) => get<Page<Run>>('/runs?limit=100', signal) });

  // Its own cache keys, read afresh on every open: a palette opened a moment before something was
  // created elsewhere (the CLI, another tab) must not leave the screens a list that looks fresh but is not.
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    // showModal focuses the dialog itself (no autofocus attribute is rendered by React): the input, please.
    input.current?.focus();
  }, []);

  const all = useMemo<Item[]>(() => {
    const out: Item[] = [];
    for (const t of types.data?.items ?? []) {
      out.push({ id: `entities:${t.key}`, kind: 'Entities', label: t.name, hint: t.key, to: `/entities/${t.key}` });
      out.push({ id: `type:${t.key}`, kind: 'Entity type', label: `${t.name} (definition)`, hint: t.key, to: `/types/${t.key}` });
    }
    for (const p of processes.data?.items ?? []) out.push({ id: `process:${p.key}`, kind: 'Process', label: p.name, hint: p.key, to: `/processes/${p.key}` });
    for (const c of connections.data?.items ?? []) out.push({ id: `connection:${c.key}`, kind: 'Connection', label: c.name ?? c.key, hint: `${c.key} · ${c.provider}`, to: '/connections' });
    for (const b of batches.data?.items ?? []) out.push({ id: `batch:${b.id}`, kind: 'Batch', label: `${b.process} ${b.id.slice(-8)}`, hint: `${b.status} · ${b.id}`, to: `/batches/${b.id}` });
    for (const r of runs.data?.items ?? []) if (r.id) out.push({ id: `run:${r.id}`, kind: 'Run', label: `${r.process} ${r.id.slice(-8)}`, hint: `${r.status} · ${r.id}`, to: `/runs/${r.id}` });
    return [...out, ...PAGES];
  }, [types.data, processes.data, connections.data, batches.data, runs.data]);

  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    if (!needle) return all.filter((i) => i.kind !== 'Run' && i.kind !== 'Batch').concat(all.filter((i) => i.kind === 'Batch').slice(0, 3)).slice(0, 12);
    const scored = all
      .map((i) => {
        const hay = `${i.label} ${i.hint ?? ''} ${i.kind}`.toLowerCase();
        const at = hay.indexOf(needle);
        return { i, score: at < 0 ? -1 : at === 0 ? 3 : i.label.toLowerCase().startsWith(needle) ? 2 : 1 };
      })
      .filter((x) => x.score >= 0)
      .sort((a, b) => b.score - a.score)
      .map((x) => x.i)
      .slice(0, 12);
    // A whole id typed or pasted: open it as a run or a batch even when it is not among the recent ones.
    if (ID.test(needle) && needle.length >= 20 && !scored.some((i) => i.id.endsWith(needle))) {
      scored.push({ id: `open-run:${needle}`, kind: 'Run', label: `Open run ${needle}`, to: `/runs/${q.trim()}` });
      scored.push({ id: `open-batch:${needle}`, kind: 'Batch', label: `Open batch ${needle}`, to: `/batches/${q.trim()}` });
    }
    return scored;
  }, [all, q]);

  const at = Math.min(active, Math.max(0, shown.length - 1));
  const go = (item: Item | undefined) => {
    if (!item) return;
    onClose();
    navigate(item.to);
  };
  const onKey = (e: React.KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = shown.length;
      if (n) setActive((at + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      go(shown[at]);
    }
  };
  const optionId = (i: number) => `palette-option-${i}`;
  useEffect(() => {
    document.getElementById(optionId(at))?.scrollIntoView({ block: 'nearest' });
  }, [at]);

  return (
    <dialog ref={ref} className="palette" aria-label="Jump to" onClose={onClose} onCancel={onClose}>
      <input
        ref={input}
        className="palette-input"
        role="combobox"
        aria-expanded="true"
        aria-controls="palette-list"
        aria-activedescendant={shown.length ? optionId(at) : undefined}
        aria-autocomplete="list"
        aria-label="Jump to"
        placeholder="Jump to an entity type, process, connection, batch or run id…"
        value={q}
        onChange={(e) => {
          setQ(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKey}
      />
      <ul id="palette-list" role="listbox" aria-label="Results" className="palette-list">
        {shown.map((item, i) => (
          <li key={item.id} id={optionId(i)} role="option" aria-selected={i === at} onMouseMove={() => setActive(i)} onClick={() => go(item)}>
            <span className="palette-kind">{item.kind}</span>
            <span className="palette-label">{item.label}</span>
            {item.hint ? <span className="palette-hint mono">{item.hint}</span> : null}
          </li>
        ))}
      </ul>
      {shown.length === 0 ? <p className="muted palette-none">Nothing matches “{q}”.</p> : null}
      <div className="palette-foot small muted">↑ ↓ to move · Enter to open · Esc to close</div>
    </dialog>
  );
}
