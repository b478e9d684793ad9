/**
 * Expressions that are cheap by construction are evaluated on the calling thread; everything else
 * goes to the worker pool (see ARCHITECTURE.md). A worker round trip costs ~30–90 µs of the event
 * loop plus the worker's own time; a requirement such as `total > 0` takes a few µs to evaluate.
 *
 * "Cheap by construction" is decided from the syntax tree, conservatively: literals, field paths
 * (names only: no filters, sorting, grouping, positional or focus bindings), arithmetic, comparisons,
 * boolean and string concatenation, conditionals, array and object constructors, and a short list of
 * built-ins whose cost is linear in their arguments (no padding, no ranges, no variables other than
 * `$` and `$$`), and regular expressions only when regex.ts proves them linear per start position
 * (a regex call cannot be interrupted, so a step budget is no protection for it). Such an expression
 * visits each input value at most once per node, so its cost is bounded by (nodes × input size);
 * both are capped (MAX_NODES, and inputs larger than MAX_INPUT_VALUES go to the worker). JSONata's
 * own step timeout (INLINE_BUDGET_MS) stays armed as a backstop for the rest: a call that hits it
 * is answered by the worker, and an expression that
 * hits it STRIKES times is sent to the worker from then on. Before JSONata, fast.ts's compiled
 * closures are tried: they answer the commonest shapes on scalar data without JSONata at all.
 */
import type jsonata from 'jsonata';
import { analyze } from './check.js';
import { copyPlain, guardedBuiltins, type Limits } from './guards.js';
import { compileFast, NO_ANSWER, REGEX_INPUT_CHARS, type FastExpression } from './fast.js';
import { evaluationFailure } from './outcome.js';
import { linearRegex, MAX_CHECKS } from './regex.js';
import type { AstNode } from './policy.js';
import type { EvalOutcome } from './types.js';

/** Largest syntax tree evaluated inline (nodes). */
export const MAX_NODES = 64;
/** Largest input evaluated inline (values: scalars, arrays and objects, counted through nesting). */
export const MAX_INPUT_VALUES = 2_000;
/** JSONata's timeout for an inline evaluation; a call that hits it is answered by the worker. */
export const INLINE_BUDGET_MS = 20;
/** After this many calls over budget (a busy machine can cause one), an expression stays in the worker. */
export const STRIKES = 3;

const OPERATORS = new Set(['and', 'or', '=', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', '&', 'in']);
const FUNCTIONS = new Set([
  'exists', 'not', 'boolean', 'number', 'string', 'length', 'lowercase', 'uppercase', 'trim', 'contains',
  'substring', 'substringBefore', 'substringAfter', 'abs', 'floor', 'ceil', 'round', 'sum', 'count',
  'max', 'min', 'average', 'type', 'now', 'millis', 'append',
]);

type Builtins = Awaited<ReturnType<typeof guardedBuiltins>>;
type Builtin = Builtins extends Map<string, infer F> ? F : never;
type Compiled = { expression: jsonata.Expression; options: { timeout?: number }; regex: boolean; fast: FastExpression | undefined };

export class InlineEvaluator {
  /** Per source: its compiled form, or null when it belongs in the worker. */
  readonly #cache = new Map<string, Compiled | null>();
  readonly #strikes = new Map<string, number>();
  #builtins: Builtins | undefined;
  readonly #ready: Promise<void>;

  constructor(
    private readonly limits: Limits,
    private readonly budgetMs = INLINE_BUDGET_MS,
    private readonly maxEntries = 2_000,
  ) {
    this.#ready = guardedBuiltins(limits).then((b) => {
      this.#builtins = b;
    });
  }

  /** The outcomes, or undefined when the call belongs in the worker (the caller sends it there). */
  async evaluateMany(sources: readonly string[], input: unknown): Promise<EvalOutcome[] | undefined> {
    if (!this.#builtins) await this.#ready;
    const compiled: Compiled[] = [];
    for (const source of sources) {
      const c = this.#compile(source);
      if (!c) return undefined;
      compiled.push(c);
    }
    // The fast path first (fast.ts); what it cannot answer exactly goes through JSONata here.
    const outcomes: EvalOutcome[] = new Array<EvalOutcome>(compiled.length);
    let slow: number[] | undefined;
    for (let i = 0; i < compiled.length; i++) {
      const fast = compiled[i]!.fast;
      const value = fast ? fast(input) : NO_ANSWER;
      if (value === NO_ANSWER) (slow ??= []).push(i);
      else outcomes[i] = { ok: true, value };
    }
    if (!slow) return outcomes;
    if (!smallInput(input, slow.some((i) => compiled[i]!.regex) ? REGEX_INPUT_CHARS : INPUT_CHARS)) return undefined;
    for (const i of slow) {
      const outcome = await this.#evaluate(compiled[i]!, input);
      if (outcome === 'refused') return undefined;
      if (outcome === 'too slow') {
        const source = sources[i]!;
        const strikes = (this.#strikes.get(source) ?? 0) + 1;
        if (strikes >= STRIKES) this.#cache.set(source, null);
        else this.#strikes.set(source, strikes);
        return undefined;
      }
      outcomes[i] = outcome;
    }
    return outcomes;
  }

  async #evaluate(c: Compiled, input: unknown): Promise<EvalOutcome | 'too slow' | 'refused'> {
    c.options.timeout = this.budgetMs;
    try {
      const value: unknown = await c.expression.evaluate(input);
      if (value === undefined || value === null || typeof value === 'boolean' || typeof value === 'number') return { ok: true, value };
      return { ok: true, value: copyPlain(value, this.limits) };
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 'D1012') return 'too slow';
      if (err instanceof LongRegexSubject) return 'refused';
      return evaluationFailure(err, this.limits);
    }
  }

  #compile(source: string): Compiled | null {
    const hit = this.#cache.get(source);
    if (hit !== undefined) return hit;
    const options = { stack: this.limits.maxDepth, sequence: this.limits.maxSequence, timeout: this.budgetMs };
    const { expression } = analyze(source, options);
    let compiled: Compiled | null = null;
    // Expressions with errors go to the worker too, which reports them the usual way.
    const kind = expression && cheap(expression.ast() as AstNode);
    if (expression && kind) {
      for (const [name, fn] of this.#builtins!) expression.assign(name, fn);
      if (kind === 'regex') expression.assign('contains', shortRegexSubjects(this.#builtins!.get('contains')!));
      // The result limit charges a string its length plus 2 (its quotes), as copyPlain does on JSONata's results.
      const maxStringChars = Math.min(INPUT_CHARS, this.limits.maxResultBytes - 2);
      compiled = { expression, options, regex: kind === 'regex', fast: compileFast(expression.ast() as AstNode, maxStringChars) };
    }
    if (this.#cache.size >= this.maxEntries) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(source, compiled);
    return compiled;
  }
}

/** Thrown by the inline `$contains` for a regex over a string longer than REGEX_INPUT_CHARS. */
class LongRegexSubject extends Error {}

/**
 * `$contains` that refuses to run a regex on a string longer than REGEX_INPUT_CHARS: the input's
 * strings are checked before evaluation (smallInput), but `a & b & c` builds longer ones, and a
 * linear-per-start regex is still quadratic over a search. The call then goes to the worker.
 */
function shortRegexSubjects(contains: Builtin): Builtin {
  return {
    ...contains,
    implementation(this: unknown, str: unknown, token: unknown): unknown {
      if (typeof token === 'function' && typeof str === 'string' && str.length > REGEX_INPUT_CHARS) throw new LongRegexSubject();
      return contains.implementation.call(this, str, token);
    },
  };
}

/** Longest string in an input evaluated inline; with a regular expression in the expression, REGEX_INPUT_CHARS. */
const INPUT_CHARS = 10_000;

/**
 * 'cheap': every construct is linear in the input; 'regex': the same, plus regular expressions proven
 * to backtrack at most O(n × atoms) per start position (regex.ts), so they run on short strings only;
 * false: the expression belongs in the worker.
 */
export function cheap(ast: AstNode): 'cheap' | 'regex' | false {
  const budget: Budget = { nodes: MAX_NODES, regex: false, checks: MAX_CHECKS };
  if (!node(ast, budget)) return false;
  return budget.regex ? 'regex' : 'cheap';
}

type Node = AstNode & Record<string, unknown>;
interface Budget {
  nodes: number;
  regex: boolean;
  /** Comparisons left for linearRegex (shared by the expression's regexes). */
  checks: number;
}

function node(value: unknown, budget: Budget): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const n = value as Node;
  if (--budget.nodes < 0) return false;
  // Any annotation that changes how a node iterates (filters, sorting, grouping, bindings) disqualifies it.
  for (const key of ['stages', 'predicate', 'group', 'focus', 'index', 'tuple', 'keepArray', 'consarray', 'nextFunction', 'seekingParent', 'ancestor']) {
    if (n[key] !== undefined) return false;
  }
  const all = (items: unknown) => Array.isArray(items) && items.every((item) => node(item, budget));
  switch (n.type) {
    case 'string':
    case 'number':
    case 'value':
    case 'name':
      return true;
    case 'variable':
      return n.value === '' || n.value === '$';
    case 'block':
      return all(n.expressions);
    case 'regex':
      budget.regex = true;
      return n.value instanceof RegExp && linearRegex(n.value, budget);
    case 'path': {
      const steps = n.steps ?? [];
      return steps.length > 0 && steps.every((s, i) => (s.type === 'name' || (i === 0 && s.type === 'variable')) && node(s, budget));
    }
    case 'binary':
      return OPERATORS.has(n.value as string) && node(n.lhs, budget) && node(n.rhs, budget);
    case 'condition':
      return node(n.condition, budget) && node(n.then, budget) && (n.else === undefined || node(n.else, budget));
    case 'unary':
      if (n.value === '-') return node(n.expression, budget);
      if (n.value === '[') return all(n.expressions);
      if (n.value === '{') return Array.isArray(n.lhs) && n.lhs.every((pair) => Array.isArray(pair) && pair.length === 2 && node(pair[0], budget) && node(pair[1], budget));
      return false;
    case 'function': {
      const procedure = n.procedure as Node | undefined;
      return procedure?.type === 'variable' && FUNCTIONS.has(procedure.value as string) && all(n.arguments);
    }
    default:
      return false;
  }
}

/**
 * True when the input is plain data of at most MAX_INPUT_VALUES values (stops counting past it) with
 * no string longer than `maxChars`. Anything a worker could not receive (functions, symbols) is left
 * to the worker, which refuses it.
 */
export function smallInput(input: unknown, maxChars = INPUT_CHARS): boolean {
  let left = MAX_INPUT_VALUES;
  const stack: unknown[] = [input];
  while (stack.length > 0) {
    const v = stack.pop();
    if (--left < 0) return false;
    if (typeof v === 'object' && v !== null) {
      if (Array.isArray(v)) {
        for (const item of v) stack.push(item);
      } else {
        for (const key in v) stack.push((v as Record<string, unknown>)[key]);
      }
    } else if ((typeof v === 'string' && v.length > maxChars) || typeof v === 'function' || typeof v === 'symbol') {
      return false;
    }
  }
  return true;
}
