/**
 * The fast path of inline evaluation: the commonest requirement and mapping shapes (field paths,
 * literals, comparisons, arithmetic, `and`/`or`, conditionals, `$exists`, `$contains`, …) compiled once
 * into plain closures that give JSONata's result for scalar data without going through JSONata's
 * asynchronous evaluator (~5 µs and a lot of garbage per condition, against well under 1 µs here).
 *
 * Exactness comes from giving up: a closure only answers where JSONata's rule is simple and known
 * (scalars; see the per-node notes), and throws BAIL anywhere else (arrays or objects where a scalar is
 * expected, a value JSONata would refuse with an error, a non-finite number, a long string under a
 * regular expression); the caller then evaluates the expression with JSONata itself. fast.test.ts
 * checks the agreement on generated expressions and inputs.
 */
import type { AstNode } from './policy.js';

/** Longest string a regular expression is run on inline (regex.ts proves O(n × atoms) per start, so O(n² × atoms) a search). */
export const REGEX_INPUT_CHARS = 1_000;

/** Thrown by a closure that cannot answer exactly; never escapes the function compileFast returns. */
const BAIL: unique symbol = Symbol('bail');
/** What a compiled expression answers when JSONata must evaluate it instead. */
export const NO_ANSWER: unique symbol = Symbol('no answer');

type Closure = (input: Record<string, unknown>) => unknown;
/** A compiled expression: the value for `input` exactly as JSONata gives it, or NO_ANSWER. */
export type FastExpression = (input: unknown) => unknown;

type Node = AstNode & Record<string, unknown>;

/**
 * Compiles `ast` (already accepted by inline.ts's cheap()), or undefined when it has a node not handled
 * here. Strings longer than `maxStringChars`, read or made, bail (JSONata's guarded built-ins refuse them).
 */
export function compileFast(ast: AstNode, maxStringChars: number): FastExpression | undefined {
  let closure: Closure | undefined;
  try {
    const compiler = new Compiler(maxStringChars);
    // An object constructor only at the top (a task's input mapping): its values are scalars.
    closure = (ast as Node).type === 'unary' && (ast as Node).value === '{' ? compiler.object(ast as Node) : compiler.compile(ast as Node);
  } catch (err) {
    if (err === BAIL) return undefined;
    throw err;
  }
  const body = closure;
  return (input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return NO_ANSWER;
    try {
      return body(input as Record<string, unknown>);
    } catch (err) {
      if (err === BAIL) return NO_ANSWER;
      throw err;
    }
  };
}

function bail(): never {
  throw BAIL;
}

/** A value the closures handle: undefined, null, boolean, finite number or string up to `max` characters. Anything else bails. */
function scalar(v: unknown, max: number): unknown {
  if (v === undefined || v === null || typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length <= max ? v : bail();
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return bail();
}

/** JSONata's effective boolean value (fn.boolean), undefined → false, for scalars. */
function truthy(v: unknown): boolean {
  switch (typeof v) {
    case 'undefined':
      return false;
    case 'boolean':
      return v;
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    default:
      return v === null ? false : bail();
  }
}

function codePoints(s: string): number {
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one character (as `for…of`, which JSONata uses).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

const COMPARE: Record<string, (a: number | string, b: number | string) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};
const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
};

class Compiler {
  constructor(private readonly max: number) {}

  compile(n: Node): Closure {
    switch (n.type) {
      case 'string':
      case 'number':
      case 'value': {
        const value = scalar(n.value, this.max);
        return () => value;
      }
      case 'path':
        return this.path(n);
      case 'block': {
        const expressions = n.expressions as Node[] | undefined;
        if (expressions?.length !== 1) return bail();
        return this.compile(expressions[0]!);
      }
      case 'unary': {
        if (n.value !== '-') return bail();
        const operand = this.compile(n.expression as Node);
        return (input) => {
          const v = operand(input);
          if (v === undefined) return undefined;
          return typeof v === 'number' ? -v : bail();
        };
      }
      case 'condition': {
        const test = this.compile(n.condition as Node);
        const then = this.compile(n.then as Node);
        const otherwise = n.else === undefined ? () => undefined : this.compile(n.else as Node);
        return (input) => (truthy(test(input)) ? then(input) : otherwise(input));
      }
      case 'binary':
        return this.binary(n.value as string, n.lhs as Node, n.rhs as Node);
      case 'function':
        return this.call(n);
      default:
        return bail();
    }
  }

  /**
   * `{ "key": value, … }` on one object: JSONata evaluates each value against the input and leaves out
   * keys whose value is undefined. Only distinct literal keys (two pairs with one key are JSONata's D1009;
   * `__proto__` would set its grouping object's prototype) and scalar values; a result that could be over
   * the result size limit (counted as copyPlain counts it, numbers and the like at 8) bails.
   */
  object(n: Node): Closure {
    const pairs = n.lhs as Array<[Node, Node]> | undefined;
    if (!pairs || pairs.length === 0) return bail();
    const keys = pairs.map(([k]) => (k.type === 'string' && typeof k.value === 'string' && k.value !== '__proto__' ? k.value : bail()));
    if (new Set(keys).size !== keys.length) return bail();
    const values = pairs.map(([, v]) => this.compile(v));
    const max = this.max;
    return (input) => {
      const out: Record<string, unknown> = {};
      let size = 2;
      for (let i = 0; i < keys.length; i++) {
        const v = values[i]!(input);
        if (v === undefined) continue;
        size += keys[i]!.length + 4 + (typeof v === 'string' ? v.length + 2 : 8);
        out[keys[i]!] = v;
      }
      return size <= max ? out : bail();
    };
  }

  /**
   * A path of names from the input. JSONata maps a step over arrays and flattens (and unwraps a
   * one-item result), so meeting an array bails; a name missing from an object, or looked up in a
   * scalar, gives undefined. Own properties only, as JSONata's lookup.
   */
  path(n: Node): Closure {
    const steps = n.steps as Node[] | undefined;
    if (!steps || steps.length === 0 || !steps.every((s) => s.type === 'name' && typeof s.value === 'string')) return bail();
    const names = steps.map((s) => s.value as string);
    const max = this.max;
    return (input) => {
      let v: unknown = input;
      for (const name of names) {
        if (typeof v !== 'object' || v === null) return undefined;
        if (Array.isArray(v)) return bail();
        if (!Object.prototype.hasOwnProperty.call(v, name)) return undefined;
        v = (v as Record<string, unknown>)[name];
      }
      return scalar(v, max);
    };
  }

  binary(op: string, lhsNode: Node, rhsNode: Node): Closure {
    if (op === 'in') return this.includes(lhsNode, rhsNode);
    const lhs = this.compile(lhsNode);
    const rhs = this.compile(rhsNode);
    if (op === 'and') return (input) => truthy(lhs(input)) && truthy(rhs(input));
    if (op === 'or') return (input) => truthy(lhs(input)) || truthy(rhs(input));
    // Equality: false when a side is missing; scalars compare by identity (deep equality is the same for them).
    if (op === '=' || op === '!=') {
      const equal = op === '=';
      return (input) => {
        const a = lhs(input);
        const b = rhs(input);
        if (a === undefined || b === undefined) return false;
        return (a === b) === equal;
      };
    }
    // Ordering: numbers with numbers, strings with strings; a missing side gives undefined; anything else is JSONata's error.
    const compare = COMPARE[op];
    if (compare) {
      return (input) => {
        const a = lhs(input);
        const b = rhs(input);
        const ta = typeof a;
        const tb = typeof b;
        if ((ta !== 'undefined' && ta !== 'number' && ta !== 'string') || (tb !== 'undefined' && tb !== 'number' && tb !== 'string')) return bail();
        if (a === undefined || b === undefined) return undefined;
        return ta === tb ? compare(a as number | string, b as number | string) : bail();
      };
    }
    // Arithmetic on numbers; a missing side gives undefined; a non-finite result is left to JSONata.
    const arithmetic = ARITHMETIC[op];
    if (arithmetic) {
      return (input) => {
        const a = lhs(input);
        const b = rhs(input);
        if ((a !== undefined && typeof a !== 'number') || (b !== undefined && typeof b !== 'number')) return bail();
        if (a === undefined || b === undefined) return undefined;
        const r = arithmetic(a as number, b as number);
        return Number.isFinite(r) ? r : bail();
      };
    }
    // Concatenation of strings (JSONata formats numbers and other values its own way: those bail).
    if (op === '&') {
      const max = this.max;
      return (input) => {
        const a = lhs(input);
        const b = rhs(input);
        if ((a !== undefined && typeof a !== 'string') || (b !== undefined && typeof b !== 'string')) return bail();
        return scalar((a ?? '') + (b ?? ''), max);
      };
    }
    return bail();
  }

  /** `x in [literals]` or `x in literal`: a missing side gives false; membership by identity, as JSONata's. */
  includes(lhsNode: Node, rhsNode: Node): Closure {
    const lhs = this.compile(lhsNode);
    let members: unknown[];
    if (rhsNode.type === 'unary' && rhsNode.value === '[') {
      const items = rhsNode.expressions as Node[] | undefined;
      if (!items || !items.every((i) => i.type === 'string' || i.type === 'number' || i.type === 'value')) return bail();
      members = items.map((i) => scalar(i.value, this.max));
    } else if (rhsNode.type === 'string' || rhsNode.type === 'number' || rhsNode.type === 'value') {
      members = [scalar(rhsNode.value, this.max)];
    } else {
      return bail();
    }
    return (input) => {
      const v = lhs(input);
      return v === undefined ? false : members.includes(v);
    };
  }

  /** Built-ins with their exact argument count; each gives undefined for a missing argument, as JSONata's. */
  call(n: Node): Closure {
    const procedure = n.procedure as Node | undefined;
    const args = (n.arguments as Node[] | undefined) ?? [];
    const name = procedure?.type === 'variable' ? (procedure.value as string) : '';
    const one = (fn: (v: unknown) => unknown): Closure => {
      if (args.length !== 1) return bail();
      const arg = this.compile(args[0]!);
      return (input) => fn(arg(input));
    };
    const onString = (fn: (s: string) => unknown) => one((v) => (v === undefined ? undefined : typeof v === 'string' ? fn(v) : bail()));
    switch (name) {
      // JSONata: JSON.stringify with numbers to 15 significant digits; non-finite numbers never get here (scalar bails).
      case 'string':
        return one((v) => (v === undefined ? undefined : typeof v === 'string' ? v : typeof v === 'number' ? String(Number(v.toPrecision(15))) : typeof v === 'boolean' || v === null ? String(v) : bail()));
      case 'exists':
        return one((v) => v !== undefined);
      case 'boolean':
        return one((v) => (v === undefined ? undefined : truthy(v)));
      case 'not':
        return one((v) => (v === undefined ? undefined : !truthy(v)));
      case 'length':
        return onString(codePoints);
      // Case mapping can lengthen a string ("ß" → "SS"): checked against the limit again.
      case 'lowercase':
        return onString((s) => scalar(s.toLowerCase(), this.max));
      case 'uppercase':
        return onString((s) => scalar(s.toUpperCase(), this.max));
      case 'contains':
        return this.contains(args);
      default:
        return bail();
    }
  }

  /** `$contains(str, "text")` or `$contains(str, /regex/)`. The regex runs only on strings up to REGEX_INPUT_CHARS. */
  contains(args: Node[]): Closure {
    if (args.length !== 2) return bail();
    const subject = this.compile(args[0]!);
    const token = args[1]!;
    if (token.type === 'regex') {
      const source = token.value;
      if (!(source instanceof RegExp)) return bail();
      // JSONata matches from index 0 whatever the flags; a copy without g/y does the same, statelessly.
      const re = new RegExp(source.source, source.flags.replace(/[gy]/g, ''));
      return (input) => {
        const s = subject(input);
        if (s === undefined) return undefined;
        if (typeof s !== 'string' || s.length > REGEX_INPUT_CHARS) return bail();
        return re.test(s);
      };
    }
    const needle = this.compile(token);
    return (input) => {
      const s = subject(input);
      const t = needle(input);
      // JSONata checks the argument types (T0410) before it looks for undefined.
      if ((s !== undefined && typeof s !== 'string') || (t !== undefined && typeof t !== 'string')) return bail();
      if (s === undefined || t === undefined) return undefined;
      return s.includes(t);
    };
  }
}
