import { useCallback, useState } from 'react';
import { NavLink, Outlet } from 'react-router';
import { Palette, usePaletteShortcut } from './components/Palette';
import { useQuery } from '@tanstack/react-query';
import { get, type Page } from './api';
import { useSession } from './session';
import type { EntityType } from './types';

export function useEntityTypes() {
  return useQuery({ queryKey: ['entity-types'], queryFn: ({ signal }) => get<Page<EntityType>>('/entity-types?limit=500', signal) });
}

export function Layout() {
  const { me, live, signOut } = useSession();
  const types = useEntityTypes();
  const [palette, setPalette] = useState(false);
  usePaletteShortcut(useCallback(() => setPalette(true), []));
  const mac = /Mac|iPhone|iPad/.test(navigator.platform);
  return (
    <div className="shell">
      <nav className="side" aria-label="Main">
        <div className="brand">
          <img src="/favicon.svg" alt="" /> Statusflow
        </div>
        <button className="jump" onClick={() => setPalette(true)} aria-keyshortcuts={mac ? 'Meta+K' : 'Control+K'}>
          <span>Jump to…</span>
          <kbd>{mac ? '⌘K' : 'Ctrl K'}</kbd>
        </button>
        <div className="nav-label">Entities</div>
        {types.data?.items.map((t) => (
          <NavLink key={t.key} to={`/entities/${t.key}`}>
            {t.name}
          </NavLink>
        ))}
        {types.data && types.data.items.length === 0 ? <span className="muted small" style={{ padding: '4px 10px' }}>No types yet</span> : null}
        <div className="nav-label">Automation</div>
        <NavLink to="/processes">API processes</NavLink>
        <NavLink to="/batches">Batches</NavLink>
        <NavLink to="/runs">Runs</NavLink>
        <div className="nav-label">Setup</div>
        <NavLink to="/types">Entity types</NavLink>
        <NavLink to="/connections">Connections</NavLink>
        <div className="who">
          <span className={`live ${live === 'live' ? 'on' : ''}`} title="Live updates">
            {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline, retrying'}
          </span>
          <span>
            {me.name} · <strong>{me.role}</strong>
          </span>
          <button className="ghost" style={{ padding: 0, justifyContent: 'flex-start', color: 'var(--muted)' }} onClick={signOut}>
            Sign out
          </button>
        </div>
      </nav>
      <main>
        <Outlet />
      </main>
      {palette ? <Palette onClose={() => setPalette(false)} /> : null}
    </div>
  );
}
