/** The status graph drawn as SVG: statuses in columns by distance from the initial one, transitions as arrows (dashed: manual). */
import type { EntityType } from '../types';

export function StatusGraph({ et }: { et: Pick<EntityType, 'statuses' | 'transitions'> }) {
  const keys = et.statuses.map((s) => s.key).filter(Boolean);
  if (keys.length === 0) return null;
  const depth = new Map<string, number>();
  const start = et.statuses.find((s) => s.initial)?.key ?? keys[0]!;
  depth.set(start, 0);
  const queue = [start];
  while (queue.length) {
    const k = queue.shift()!;
    for (const t of et.transitions) {
      if (!t.from.includes(k) || depth.has(t.to)) continue;
      depth.set(t.to, depth.get(k)! + 1);
      queue.push(t.to);
    }
  }
  let maxD = Math.max(...depth.values());
  for (const k of keys) if (!depth.has(k)) depth.set(k, ++maxD);
  const cols = new Map<number, string[]>();
  for (const k of keys) cols.set(depth.get(k)!, [...(cols.get(depth.get(k)!) ?? []), k]);
  const W = 130;
  const H = 34;
  const GX = 70;
  const GY = 26;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, ks] of cols) ks.forEach((k, i) => pos.set(k, { x: 10 + d * (W + GX), y: 10 + i * (H + GY) }));
  const width = 20 + (maxD + 1) * (W + GX) - GX;
  const height = 20 + Math.max(...[...cols.values()].map((c) => c.length)) * (H + GY) - GY;
  const name = (k: string) => et.statuses.find((s) => s.key === k)?.name || k;
  return (
    <div className="graph">
      <svg width={width} height={height + 16} role="img" aria-label={`Status graph: ${et.transitions.map((t) => `${t.from.join('/')} to ${t.to}`).join(', ')}`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0 0 10 5 0 10z" fill="var(--muted)" />
          </marker>
        </defs>
        {et.transitions.flatMap((t, i) =>
          t.from.map((f) => {
            const a = pos.get(f);
            const b = pos.get(t.to);
            if (!a || !b) return null;
            const back = b.x <= a.x;
            const x1 = back ? a.x + W / 2 : a.x + W;
            const y1 = back ? a.y + H : a.y + H / 2;
            const x2 = back ? b.x + W / 2 : b.x;
            const y2 = back ? b.y + H : b.y + H / 2;
            const d = back ? `M${x1} ${y1} C ${x1} ${y1 + 30}, ${x2} ${y2 + 30}, ${x2} ${y2 + 2}` : `M${x1} ${y1} C ${x1 + GX / 2} ${y1}, ${x2 - GX / 2} ${y2}, ${x2 - 2} ${y2}`;
            return <path key={`${i}-${f}`} d={d} fill="none" stroke="var(--muted)" strokeWidth="1.4" strokeDasharray={t.auto ? undefined : '4 3'} markerEnd="url(#arrow)" />;
          }),
        )}
        {keys.map((k) => {
          const p = pos.get(k)!;
          const initial = k === start;
          return (
            <g key={k}>
              <rect x={p.x} y={p.y} width={W} height={H} rx={8} fill="var(--panel)" stroke={initial ? 'var(--accent)' : 'var(--border)'} strokeWidth={initial ? 2 : 1} />
              <text x={p.x + W / 2} y={p.y + H / 2 + 4} textAnchor="middle">
                {name(k)}
              </text>
            </g>
          );
        })}
      </svg>
      <div className="small muted">Solid arrow: automatic transition · dashed: only when asked · highlighted: initial status</div>
    </div>
  );
}
