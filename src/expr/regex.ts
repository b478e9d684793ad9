/**
 * Which regular expressions may run on the main thread: those this module can *prove* cheap for
 * V8's backtracking matcher. Everything else runs in the worker, under its hard time limit.
 *
 * safe-regex2 (policy.ts) only looks at star height, so `/a{0,16}a{0,16}a{0,16}a{0,16}a*$/` passes
 * it and still takes seconds on a few dozen characters (issue 10): the choices of adjacent
 * quantifiers over the same character multiply. The proof here is about exactly that.
 *
 * Accepted shape: a sequence of single-character atoms (a literal, `.`, an escape such as `\d`, or a
 * class `[...]`), each with an optional quantifier (greedy or lazy), plus the zero-width assertions
 * `^ $ \b \B`; groups only without a quantifier and without `|` (they then only concatenate). Refused
 * (→ worker): alternation, quantified groups, backreferences, lookaround, named groups, `\c`, octal
 * escapes, Annex B oddities (a bare `{`, `}` or `]`), more than MAX_ATOMS atoms, counts over MAX_COUNT.
 *
 * The condition: for every atom A whose count can vary (min < max), no character A can match can
 * start what follows A. "What follows" is the next atoms up to and including the first that must
 * match at least once (assertions match no character, so they are skipped).
 *
 * Why that bounds the work (for one start position). At any position, an atom A with a variable
 * count and its continuation never both accept the next character. So when the matcher gives a
 * character back to A (greedy) or tries the continuation before taking one more (lazy), the
 * continuation meets a character of A's set and fails at once: it walks through the optional atoms
 * after A, each of which refuses that character, and stops at the first required one, which refuses
 * it too — at most MAX_ATOMS steps. The continuation therefore does real work at one position per
 * entry of A only, and by induction over the atoms the matcher follows a single path, plus at most
 * (atoms) steps per character given back. Per start: O(n × atoms); over all start positions a search
 * is O(n² × atoms), which is why the strings a regex runs on inline are capped (fast.ts's
 * REGEX_INPUT_CHARS; inline.ts hands longer ones to the worker at the call itself).
 *
 * The character sets are not modelled: V8 itself is asked whether some UTF-16 code unit is accepted
 * by both atoms (JSONata regexes are never in `u` mode, so an atom matches exactly one code unit),
 * with the pattern's own `i` flag, so case folding and `\s`'s Unicode table are exactly V8's.
 */

/** Most atoms in a pattern run inline (bounds the failing walk after each character given back). */
export const MAX_ATOMS = 24;
/** Largest repetition count run inline (V8 unrolls counted repetition when compiling). */
export const MAX_COUNT = 100;

interface Atom {
  /** The atom's source text, e.g. `a`, `\d`, `[^@\s]`, `.`. */
  text: string;
  min: number;
  max: number;
}

/** Most pairs of atoms compared per expression (each comparison costs up to ~0.3 ms, at compile time). */
export const MAX_CHECKS = 32;

/**
 * True when `re` is proven to backtrack at most O(n × atoms) per start position (see above).
 * `budget.checks` is shared by the regexes of one expression; when it runs out the answer is false.
 */
export function linearRegex(re: RegExp, budget = { checks: MAX_CHECKS }): boolean {
  if (/[^gim]/.test(re.flags)) return false; // JSONata makes only i, m (and g); anything else is not ours to judge
  const atoms = parse(re.source);
  if (!atoms || atoms.length > MAX_ATOMS) return false;
  const ignoreCase = re.flags.includes('i');
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i]!;
    if (a.min === a.max) continue;
    for (let j = i + 1; j < atoms.length; j++) {
      if (--budget.checks < 0 || overlap(a.text, atoms[j]!.text, ignoreCase)) return false;
      if (atoms[j]!.min >= 1) break;
    }
  }
  return true;
}

/** The atoms of `src` (assertions dropped), or undefined when it is not of the accepted shape. */
function parse(src: string): Atom[] | undefined {
  const atoms: Atom[] = [];
  const groups: number[] = []; // per open group: 0
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    let text: string | undefined;
    if (c === '^' || c === '$') {
      i++;
      if (quantifierAt(src, i)) return undefined;
      continue;
    } else if (c === '(') {
      if (src[i + 1] === '?') {
        if (src[i + 2] !== ':') return undefined; // lookaround, named group
        i += 3;
      } else i++;
      groups.push(0);
      continue;
    } else if (c === ')') {
      if (groups.pop() === undefined) return undefined;
      i++;
      if (quantifierAt(src, i)) return undefined;
      continue;
    } else if (c === '\\') {
      const escape = escapeAt(src, i);
      if (escape === undefined) return undefined;
      if (escape === 'assertion') {
        i += 2;
        if (quantifierAt(src, i)) return undefined;
        continue;
      }
      text = escape;
    } else if (c === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) return undefined;
      text = src.slice(i, j + 1);
    } else if ('|*+?{}]'.includes(c)) {
      return undefined; // alternation, a quantifier with nothing to repeat, Annex B literals
    } else {
      text = c;
    }
    i += text.length;
    const q = quantifierAt(src, i);
    let min = 1;
    let max = 1;
    if (q === 'invalid') return undefined;
    if (q) {
      ({ min, max } = q);
      i += q.length;
      if (src[i] === '?') i++; // lazy: the same bound (see the header)
      if (quantifierAt(src, i) || max < min || min > MAX_COUNT || (max !== Infinity && max > MAX_COUNT)) return undefined;
    }
    atoms.push({ text, min, max });
  }
  return groups.length === 0 ? atoms : undefined;
}

const QUANTIFIER = /^(?:([*+?])|\{(\d+)(?:(,)(\d*))?\})/;

/** The quantifier at `i`; 'invalid' for a `{` that is not one (Annex B reads it as a literal: refused). */
function quantifierAt(src: string, i: number): { min: number; max: number; length: number } | 'invalid' | undefined {
  const m = QUANTIFIER.exec(src.slice(i, i + 24));
  if (!m) return src[i] === '{' ? 'invalid' : undefined;
  if (m[1]) return { min: m[1] === '+' ? 1 : 0, max: m[1] === '?' ? 1 : Infinity, length: 1 };
  const min = Number(m[2]);
  const max = m[3] === undefined ? min : m[4] === '' ? Infinity : Number(m[4]);
  return { min, max, length: m[0].length };
}

/** The text of the single-character escape at `i`, 'assertion' for `\b` `\B`, undefined when refused. */
function escapeAt(src: string, i: number): string | 'assertion' | undefined {
  const next = src[i + 1];
  if (next === undefined) return undefined;
  if (next === 'b' || next === 'B') return 'assertion';
  if ('dDwWsStnrfv^$\\.*+?()[]{}|/-'.includes(next)) return src.slice(i, i + 2);
  if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(src.slice(i + 2, i + 4))) return src.slice(i, i + 4);
  if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 2, i + 6))) return src.slice(i, i + 6);
  return undefined; // backreferences, octal, \c, \k, \0, identity escapes of letters
}

let everyCodeUnit: string | undefined;

/**
 * Whether some code unit is matched by both atoms: V8 searches the string of all 65,536 code units
 * for one that `a` (a lookahead) and `b` both accept — one linear scan, ≤ 0.3 ms.
 */
function overlap(a: string, b: string, ignoreCase: boolean): boolean {
  everyCodeUnit ??= Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)).join('');
  return new RegExp(`(?=${a})${b}`, ignoreCase ? 'i' : '').test(everyCodeUnit);
}
