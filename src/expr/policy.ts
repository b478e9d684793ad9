import safeRegex from 'safe-regex2';
import { BUILTIN_FUNCTIONS, FORBIDDEN_FUNCTIONS } from './builtins.js';

/** Longest regular-expression literal accepted (characters of its pattern). */
export const MAX_REGEX_LENGTH = 256;

/** The part of a JSONata AST node we read (jsonata's own typings are loose). */
export interface AstNode {
  type: string;
  value?: unknown;
  /** JSONata reports the offset just after the node's token. */
  position?: number;
  steps?: AstNode[];
  lhs?: unknown;
  rhs?: unknown;
}

/** A policy violation, located by the 0-based offset of its first character. */
export interface Finding {
  code: 'EXPR_FORBIDDEN' | 'EXPR_UNSAFE_REGEX';
  message: string;
  start: number;
}

/** What the walk found: policy violations, and input fields read (with where first read). */
export interface PolicyReport {
  findings: Finding[];
  references: Map<string, number>;
}

const builtins = new Set(BUILTIN_FUNCTIONS);
const forbidden = new Set(FORBIDDEN_FUNCTIONS);
/** Node members evaluated against another context item than the node's own input. */
const innerContext = new Set(['stages', 'predicate', 'group', 'terms', 'body', 'pattern', 'update', 'delete']);

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** Walk a parsed expression: find forbidden constructs and the top-level fields it reads. */
export function inspect(ast: AstNode, source: string): PolicyReport {
  const report: PolicyReport = { findings: [], references: new Map() };
  visit(ast, true, source, report);
  return report;
}

/** `atInput`: the node is evaluated with the expression's input as its context item. */
function visit(value: unknown, atInput: boolean, source: string, report: PolicyReport): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, atInput, source, report);
    return;
  }
  if (typeof value !== 'object' || value === null || value instanceof RegExp) return;
  if (!isNode(value)) {
    for (const item of Object.values(value)) visit(item, atInput, source, report);
    return;
  }
  const node = value;
  const end = node.position ?? 0;
  switch (node.type) {
    case 'lambda': {
      const start = Math.max(source.lastIndexOf('function', end), source.lastIndexOf('λ', end));
      report.findings.push({ code: 'EXPR_FORBIDDEN', message: 'User-defined functions are not allowed', start: Math.max(0, start) });
      break;
    }
    case 'variable':
      if (typeof node.value === 'string' && forbidden.has(node.value)) {
        const start = end - node.value.length - 1;
        report.findings.push({ code: 'EXPR_FORBIDDEN', message: `$${node.value} is not allowed`, start });
      }
      break;
    case 'bind': {
      const target = isNode(node.lhs) ? node.lhs : undefined;
      const name = target?.value;
      if (typeof name === 'string' && (builtins.has(name) || name === '' || name === '$')) {
        const start = (target?.position ?? end) - name.length - 1;
        report.findings.push({ code: 'EXPR_FORBIDDEN', message: `Cannot assign to the built-in $${name}`, start });
      }
      break;
    }
    case 'regex':
      checkRegex(node, source, report);
      break;
    case 'path':
      collectPathReference(node, atInput, source, report);
      break;
  }
  for (const [key, child] of Object.entries(node)) {
    if (key === 'value' || key === 'position' || key === 'type') continue;
    if (key === 'steps' && Array.isArray(child)) {
      child.forEach((step, i) => visit(step, atInput && i === 0, source, report));
    } else {
      visit(child, atInput && !innerContext.has(key), source, report);
    }
  }
}

/** A path reads a top-level field when its first step is a name (or `$`/`$$` then a name). */
function collectPathReference(node: AstNode, atInput: boolean, source: string, report: PolicyReport): void {
  const [first, second] = node.steps ?? [];
  if (!first) return;
  let step: AstNode | undefined;
  if (first.type === 'name' && atInput) step = first;
  else if (first.type === 'variable' && ((first.value === '' && atInput) || first.value === '$')) {
    step = second?.type === 'name' ? second : undefined;
  }
  if (!step || typeof step.value !== 'string') return;
  const end = step.position ?? 0;
  const quoted = source[end - 1] === '`' ? 2 : 0;
  if (!report.references.has(step.value)) {
    report.references.set(step.value, Math.max(0, end - step.value.length - quoted));
  }
}

function checkRegex(node: AstNode, source: string, report: PolicyReport): void {
  if (!(node.value instanceof RegExp)) return;
  const re = node.value;
  // `position` is just after the literal's flags; JSONata adds flags of its own (g), so skip the typed ones.
  let close = (node.position ?? 0) - 1;
  while (close > 0 && /[a-z]/i.test(source[close] ?? '')) close--;
  const start = Math.max(0, close - re.source.length - 1);
  if (re.source.length > MAX_REGEX_LENGTH) {
    report.findings.push({
      code: 'EXPR_UNSAFE_REGEX',
      message: `Regular expression is longer than ${MAX_REGEX_LENGTH} characters`,
      start,
    });
  } else if (!safeRegex(re)) {
    report.findings.push({
      code: 'EXPR_UNSAFE_REGEX',
      message: `Regular expression /${re.source}/ may take exponential time (nested repetition such as (a+)+); rewrite it without nested quantifiers`,
      start,
    });
  }
}
