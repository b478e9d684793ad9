/** The bench's entity types and request bodies, shared by run.ts and breakdown.ts. */
import { ORDER_TYPE } from '../../test/support/order.js';

/** The measured type: the Order of API.md with its 4 requirements and its first 2 (auto) transitions. */
const ORDER = { ...ORDER_TYPE, transitions: ORDER_TYPE.transitions.slice(0, 2) };
if (ORDER.requirements.length !== 4 || !ORDER.transitions.every((t) => t.auto)) throw new Error('bench Order type drifted');
/** The baseline: the same attributes and statuses, no requirements, no transitions. */
const PLAIN = { ...ORDER_TYPE, name: 'Plain order', requirements: [], transitions: [] };
/**
 * The 4 requirements without the transitions: every save evaluates them, every entity stays in the
 * initial status — so it is written exactly as a baseline one is, and the difference is evaluation alone.
 */
const RULES = { ...ORDER_TYPE, name: 'Order, requirements only', transitions: [] };
export const TYPES = {
  order: { key: 'bench_order', def: ORDER },
  baseline: { key: 'bench_plain', def: PLAIN },
  rules: { key: 'bench_rules', def: RULES },
} as const;
export type Kind = keyof typeof TYPES;

// --- workload -------------------------------------------------------------------------------

/** mulberry32: the same bodies every run, so runs and types are comparable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Realistic orders: ~95% with an email, ~95% with a positive total (→ received), ~30% paid (→ approved). */
export function bodies(n: number, seed: number): string[] {
  const r = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const attributes: Record<string, unknown> = {
      order_number: `ORD-${seed * 1_000_000 + i}`,
      total: r() < 0.95 ? Math.round((5 + r() * 1995) * 100) / 100 : 0,
      paid: r() < 0.3,
      channel: r() < 0.7 ? 'web' : 'phone',
      lines: Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({
        sku: `SKU-${Math.floor(r() * 10_000)}`,
        qty: 1 + Math.floor(r() * 5),
        price: Math.round(r() * 20_000) / 100,
      })),
    };
    if (r() < 0.95) attributes.customer_email = `customer${Math.floor(r() * 1e6)}@example.com`;
    out.push(JSON.stringify({ attributes }));
  }
  return out;
}
