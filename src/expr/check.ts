import jsonata from 'jsonata';
import { RESERVED_CONTEXT_NAMES } from './builtins.js';
import { locate, syntaxErrorStart } from './location.js';
import { inspect, type AstNode, type PolicyReport } from './policy.js';
import type { CheckOptions, ExprCheck, ExprIssue } from './types.js';

/** Longest expression source accepted, in characters. */
export const MAX_SOURCE_LENGTH = 4000;

/** JSONata's evaluation guards, set when compiling (see jsonata's `JsonataOptions`). */
export interface CompileOptions {
  stack?: number;
  sequence?: number;
  timeout?: number;
}

/** A parsed expression that passed (or failed) the policy. */
export interface Analysis {
  /** Present when there are no errors. */
  expression?: jsonata.Expression;
  errors: ExprIssue[];
  references: Map<string, number>;
}

function issue(code: ExprIssue['code'], message: string, source: string, start?: number): ExprIssue {
  if (start === undefined) return { code, message };
  return { code, message, ...locate(source, start) };
}

interface JsonataSyntaxError {
  code?: unknown;
  position?: unknown;
  token?: unknown;
  message?: unknown;
}

function syntaxIssue(source: string, err: unknown): ExprIssue {
  if (err instanceof RangeError) {
    return issue('EXPR_SYNTAX', 'Expression is nested too deeply', source);
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as JsonataSyntaxError;
  const message = typeof e.message === 'string' && e.message ? e.message : 'Invalid expression';
  if (e.code === 'S0207' && source.trim().length === 0) return issue('EXPR_SYNTAX', 'Expression is empty', source, 0);
  const position = typeof e.position === 'number' ? syntaxErrorStart(source, e.position, e.token) : undefined;
  return issue('EXPR_SYNTAX', message, source, position);
}

/** Parse `source` and apply the policy; used by `checkExpression` and by the evaluation worker. */
export function analyze(source: string, options?: CompileOptions): Analysis {
  if (source.length > MAX_SOURCE_LENGTH) {
    const message = `Expression is ${source.length} characters long; the limit is ${MAX_SOURCE_LENGTH}`;
    return { errors: [issue('EXPR_TOO_LONG', message, source)], references: new Map() };
  }
  let expression: jsonata.Expression;
  let report: PolicyReport;
  try {
    expression = jsonata(source, options);
    report = inspect(expression.ast() as AstNode, source);
  } catch (err) {
    return { errors: [syntaxIssue(source, err)], references: new Map() };
  }
  const errors = report.findings.map((f) => issue(f.code, f.message, source, f.start));
  return errors.length ? { errors, references: report.references } : { expression, errors, references: report.references };
}

/**
 * Parse + policy check at definition time. `references` lists the top-level fields the
 * expression reads from its input; when `knownFields` is given, a reference that is
 * neither known nor reserved (default: `RESERVED_CONTEXT_NAMES`) is an `EXPR_UNKNOWN_FIELD` warning.
 */
export function checkExpression(source: string, options?: CheckOptions): ExprCheck {
  const { errors, references } = analyze(source);
  const warnings: ExprIssue[] = [];
  const known = options?.knownFields;
  if (known) {
    const allowed = new Set([...known, ...(options?.reserved ?? RESERVED_CONTEXT_NAMES)]);
    const unknown = [...references].filter(([name]) => !allowed.has(name)).sort((a, b) => a[1] - b[1]);
    for (const [name, start] of unknown) {
      warnings.push(issue('EXPR_UNKNOWN_FIELD', `Unknown field "${name}"`, source, start));
    }
  }
  return { ok: errors.length === 0, errors, warnings, references: [...references.keys()].sort() };
}
