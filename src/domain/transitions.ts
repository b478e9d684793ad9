/**
 * Status resolution (steps 4–5 of the save pipeline) and the auto-transition cycle check used when
 * an entity type is saved. Requirement results are computed once per save and stay fixed here.
 */
import { AppError } from './errors.js';
import type { EntityTypeDefinition, TransitionDef } from './definitions.js';

export interface RequirementResult {
  key: string;
  passed: boolean;
  message: string;
  enforce: boolean;
  error?: { code: string; message: string };
}

/** A requirement a transition needs, named with the message a client shows. */
export interface UnmetRequirement {
  key: string;
  message: string;
  /** `pass`: listed in `when` but fails; `fail`: listed in `whenFailing` but passes. */
  expected: 'pass' | 'fail';
}

type Passed = (key: string) => boolean;

function unmet(t: TransitionDef, passed: Passed, messages: Map<string, string>): UnmetRequirement[] {
  const text = (k: string): string => messages.get(k) ?? k;
  return [
    ...t.when.filter((k) => !passed(k)).map((k) => ({ key: k, message: text(k), expected: 'pass' as const })),
    ...t.whenFailing
      .filter((k) => passed(k))
      .map((k) => ({ key: k, message: `must not pass for this transition (${text(k)})`, expected: 'fail' as const })),
  ];
}

function holds(t: TransitionDef, passed: Passed): boolean {
  return t.when.every(passed) && !t.whenFailing.some(passed);
}

/** The initial status of a definition (re-exported by entity-type.ts). */
export function initialStatus(def: EntityTypeDefinition): string {
  const s = def.statuses.find((x) => x.initial) ?? def.statuses[0];
  if (!s) throw new Error(`entity type ${def.name} has no statuses`);
  return s.key;
}

/**
 * The statuses this save goes through, first element = `start` (the initial status on create).
 * A requested status other than the start must be the target of a declared transition from the
 * start whose conditions hold; then auto transitions are applied until none applies: from the
 * current status, the first auto transition in declaration order whose `from` includes it and whose
 * conditions hold. A requirement missing from `results` counts as not passed.
 * Throws STATUS_UNKNOWN, TRANSITION_NOT_ALLOWED, TRANSITION_REQUIREMENTS_UNMET or TRANSITION_LOOP.
 */
export function resolveStatusPath(
  def: EntityTypeDefinition,
  start: string | undefined,
  results: readonly RequirementResult[],
  requested?: string,
): string[] {
  const byKey = new Map(results.map((r) => [r.key, r]));
  const passed: Passed = (k) => byKey.get(k)?.passed === true;
  const from = start ?? initialStatus(def);
  const path = [from];
  if (requested !== undefined && requested !== from) {
    if (!def.statuses.some((s) => s.key === requested)) {
      const allowed = def.statuses.map((s) => s.key);
      const message = `"${requested}" is not a status of ${def.name}`;
      throw new AppError('STATUS_UNKNOWN', `${message}.`, { status: requested, allowed, fields: [{ path: 'status', code: 'unknown', message }] });
    }
    const outgoing = def.transitions.filter((t) => t.from.includes(from));
    const candidates = outgoing.filter((t) => t.to === requested);
    if (candidates.length === 0) {
      const allowed = [...new Set(outgoing.map((t) => t.to))];
      throw new AppError('TRANSITION_NOT_ALLOWED', `There is no transition from ${from} to ${requested}.`, { from, to: requested, allowed });
    }
    if (!candidates.some((t) => holds(t, passed))) {
      const messages = new Map([
        ...def.requirements.map((r) => [r.key, r.message] as const),
        ...results.map((r) => [r.key, r.message] as const),
      ]);
      const best = candidates
        .map((t) => unmet(t, passed, messages))
        .reduce((a, b) => (b.length < a.length ? b : a));
      throw new AppError(
        'TRANSITION_REQUIREMENTS_UNMET',
        `Cannot move from ${from} to ${requested}: ${best.map((r) => r.key).join(', ')}.`,
        { from, to: requested, requirements: best },
      );
    }
    path.push(requested);
  }
  const autos = def.transitions.filter((t) => t.auto);
  const hopLimit = def.statuses.length + 1;
  for (let hops = 0; ; hops++) {
    const current = path[path.length - 1]!;
    const next = autos.find((t) => t.from.includes(current) && holds(t, passed));
    if (!next) return path;
    if (hops >= hopLimit) {
      throw new AppError('TRANSITION_LOOP', `Automatic transitions did not settle after ${hopLimit} hops.`, { path });
    }
    path.push(next.to);
  }
}

/** The failing enforced requirements as [{key, message}]; empty means the save is allowed. */
export function enforcedFailures(results: readonly RequirementResult[]): Array<{ key: string; message: string }> {
  return results.filter((r) => r.enforce && !r.passed).map((r) => ({ key: r.key, message: r.message }));
}

/** A set of statuses between which auto transitions can go round forever for some requirement results. */
export interface AutoTransitionCycle {
  /** The statuses of the loop, in order (the first one is re-entered after the last). */
  statuses: string[];
  /** Indexes (into the definition's transitions) of the transitions that make the loop. */
  transitions: number[];
  /** Requirement results under which the loop happens. */
  passing: string[];
  failing: string[];
  /** True when the check gave up (too many requirements involved); `statuses` is then the whole group. */
  undecided: boolean;
}

interface Edge {
  index: number;
  from: number;
  to: number; // -1 when the target is outside the group
  pass: number[]; // requirement bit numbers
  fail: number[];
}

/** Strongly connected components (Tarjan) with more than one status. */
function groups(succ: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of succ.get(v) ?? []) {
      if (!index.has(w)) visit(w);
      if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, low.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group = stack.splice(stack.indexOf(v));
      if (group.length > 1) out.push(group);
    }
  };
  for (const v of succ.keys()) if (!index.has(v)) visit(v);
  return out;
}

const EXACT_BUDGET = 2 ** 22; // assignments × edges tried by the exact check
const SEARCH_BUDGET = 200_000; // edge expansions of the fallback search

/**
 * Finds auto-transition loops. Exact for the save semantics (first applicable auto transition wins,
 * requirement results fixed) by trying every combination of the involved requirements' results;
 * with too many of them it falls back to searching for a cycle whose combined conditions are
 * consistent (may report a loop that earlier transitions would pre-empt), then to `undecided`.
 * Entries of `transitions` that are undefined (invalid) are ignored; so are transitions that can
 * never fire (a requirement in both `when` and `whenFailing`) and self-transitions.
 */
export function findAutoTransitionCycles(transitions: ReadonlyArray<TransitionDef | undefined>): AutoTransitionCycle[] {
  const autos = transitions.flatMap((t, index) =>
    t && t.auto && !t.from.includes(t.to) && !t.when.some((k) => t.whenFailing.includes(k)) ? [{ t, index }] : [],
  );
  const succ = new Map<string, Set<string>>();
  for (const { t } of autos) for (const f of t.from) succ.set(f, (succ.get(f) ?? new Set()).add(t.to));
  const order = new Map([...succ.keys()].map((s, i) => [s, i])); // first appearance in `from`
  const byOrder = (a: string, b: string): number => order.get(a)! - order.get(b)!;
  const sorted = groups(succ).map((g) => g.sort(byOrder)).sort((a, b) => byOrder(a[0]!, b[0]!));
  return sorted.map((nodes) => {
    const at = new Map(nodes.map((s, i) => [s, i]));
    const reqs = new Map<string, number>();
    const bit = (k: string): number => reqs.get(k) ?? reqs.set(k, reqs.size).get(k)!;
    const edges: Edge[][] = nodes.map(() => []);
    for (const { t, index } of autos) {
      for (const f of t.from) {
        const from = at.get(f);
        if (from === undefined) continue;
        edges[from]!.push({ index, from, to: at.get(t.to) ?? -1, pass: t.when.map(bit), fail: t.whenFailing.map(bit) });
      }
    }
    const reqNames = [...reqs.keys()];
    const count = edges.reduce((n, e) => n + e.length, 0);
    const found = reqs.size <= 24 && 2 ** reqs.size * count <= EXACT_BUDGET ? exactCycle(edges, reqs.size) : searchCycle(edges, reqs.size);
    if (found === 'none') return undefined;
    if (found === 'budget') return { statuses: nodes, transitions: [], passing: [], failing: [], undecided: true };
    const names = (v: number): string[] => reqNames.filter((_, b) => found.values[b] === v);
    return { statuses: found.cycle.map((e) => nodes[e.from]!), transitions: found.cycle.map((e) => e.index), passing: names(1), failing: names(-1), undecided: false };
  }).filter((c): c is AutoTransitionCycle => c !== undefined);
}

type Found = { cycle: Edge[]; values: number[] } | 'none' | 'budget';

/** Tries every assignment of requirement results; the loop is then the cycle of a function graph. */
function exactCycle(edges: Edge[][], r: number): Found {
  const n = edges.length;
  const next: Array<Edge | undefined> = new Array(n);
  const seen = new Int32Array(n);
  for (let m = 0; m < 2 ** r; m++) {
    const holds = (e: Edge): boolean => e.pass.every((b) => (m >> b) & 1) && !e.fail.some((b) => (m >> b) & 1);
    for (let i = 0; i < n; i++) next[i] = edges[i]!.find(holds);
    seen.fill(0);
    for (let s = 0; s < n; s++) {
      let v = s;
      while (v >= 0 && seen[v] === 0) {
        seen[v] = s + 1;
        v = next[v]?.to ?? -1;
      }
      if (v < 0 || seen[v] !== s + 1) continue;
      const cycle: Edge[] = [];
      for (let u = v; cycle.length === 0 || u !== v; u = next[u]!.to) cycle.push(next[u]!);
      const involved = new Set(cycle.flatMap((e) => edges[e.from]!.flatMap((x) => [...x.pass, ...x.fail])));
      const values = Array.from({ length: r }, (_, b) => (involved.has(b) ? ((m >> b) & 1 ? 1 : -1) : 0));
      return { cycle, values };
    }
  }
  return 'none';
}

/** Depth-first search for a cycle whose edges' conditions are consistent, with a step budget. */
function searchCycle(edges: Edge[][], r: number): Found {
  const values = new Array<number>(r).fill(0);
  const onPath = new Array<boolean>(edges.length).fill(false);
  const path: Edge[] = [];
  let budget = SEARCH_BUDGET;
  const assign = (e: Edge): number[] | null => {
    const set: number[] = [];
    for (const [bits, v] of [[e.pass, 1], [e.fail, -1]] as const) {
      for (const b of bits) {
        if (values[b] === -v) {
          for (const x of set) values[x] = 0;
          return null;
        }
        if (values[b] === 0) {
          values[b] = v;
          set.push(b);
        }
      }
    }
    return set;
  };
  const visit = (start: number, v: number): boolean => {
    for (const e of edges[v]!) {
      if (e.to < start || (e.to !== start && onPath[e.to]) || --budget < 0) continue;
      const set = assign(e);
      if (!set) continue;
      path.push(e);
      if (e.to === start) return true;
      onPath[e.to] = true;
      if (visit(start, e.to)) return true;
      onPath[e.to] = false;
      path.pop();
      for (const x of set) values[x] = 0;
    }
    return false;
  };
  for (let s = 0; s < edges.length; s++) {
    onPath[s] = true;
    if (visit(s, s)) return { cycle: path, values };
    onPath[s] = false;
  }
  return budget < 0 ? 'budget' : 'none';
}
