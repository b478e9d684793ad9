/** Syntax check of a JSONata expression in the browser, as you type (the server checks again on save). */
import jsonata from 'jsonata';
import type { ExprError } from './ExpressionEditor';

export function checkExpression(src: string): ExprError | null {
  if (!src.trim()) return null;
  try {
    jsonata(src);
    return null;
  } catch (err) {
    const e = err as { message?: string; position?: number; code?: string };
    const pos = Math.max((e.position ?? 1) - 1, 0);
    const before = src.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    return { message: e.message ?? 'invalid expression', line, column, code: 'EXPR_SYNTAX' };
  }
}
