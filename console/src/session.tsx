/** Who is signed in (GET /me), what their role may do, and the live stream's state. */
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { get, session } from './api';
import { openStream, type StreamState } from './stream';
import type { Me, Role } from './types';

interface SessionValue {
  me: Me;
  live: StreamState;
  can: { definitions: boolean; entities: boolean; admin: boolean };
  signOut(): void;
}

const Ctx = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}

export function useKey(): string | null {
  return useSyncExternalStore(session.subscribe, session.key);
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, editor: 2, admin: 3 };

export function SessionProvider({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const key = useKey();
  const client = useQueryClient();
  const me = useQuery({ queryKey: ['me', key], queryFn: ({ signal }) => get<Me>('/me', signal), enabled: !!key, staleTime: Infinity, retry: false });
  const [live, setLive] = useState<StreamState>('connecting');
  useEffect(() => {
    if (!key || !me.data) return;
    return openStream(key, client, setLive);
  }, [key, me.data, client]);
  if (!key || me.isError) return <>{fallback}</>;
  if (!me.data) return <div className="signin"><div className="skeleton" style={{ width: 200 }} aria-label="Loading" /></div>;
  const r = rank[me.data.role];
  const value: SessionValue = {
    me: me.data,
    live,
    can: { entities: r >= 1, definitions: r >= 2, admin: r >= 3 },
    signOut() {
      session.set(null);
      client.clear();
    },
  };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
