/** Expression checks at the engine edge: adapts src/expr's findings to the error catalogue. */
import { RESERVED_ATTRIBUTE_KEYS } from '../domain/keys.js';
import { invalid, type FieldIssue } from '../domain/errors.js';
import type { ExpressionChecker } from '../domain/entity-type.js';
import { checkExpression, type ExprIssue } from '../expr/index.js';

/** The checker the domain's definition parsers receive. */
export const expressionChecker: ExpressionChecker = (source, knownFields) =>
  checkExpression(source, { knownFields, reserved: RESERVED_ATTRIBUTE_KEYS });

export function issueToField(path: string, issue: ExprIssue): FieldIssue {
  const field: FieldIssue = { path, code: issue.code, message: issue.message };
  if (issue.line !== undefined) field.line = issue.line;
  if (issue.column !== undefined) field.column = issue.column;
  if (issue.position !== undefined) field.position = issue.position;
  if (issue.caret !== undefined) field.caret = issue.caret;
  return field;
}

/** Checks an expression given in a request (e.g. `where`); 400 EXPRESSION_INVALID with the position. */
export function checkOrThrow(source: string, path: string, knownFields: readonly string[]): void {
  const result = checkExpression(source, { knownFields, reserved: RESERVED_ATTRIBUTE_KEYS });
  if (result.errors.length > 0) {
    throw invalid('EXPRESSION_INVALID', result.errors.map((e) => issueToField(path, e)));
  }
}
