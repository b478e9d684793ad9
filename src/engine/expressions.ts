/** Expression checks at the engine edge: adapts src/expr's findings to the error catalogue. */
import { RESERVED_ATTRIBUTE_KEYS } from '../domain/keys.js';
import { AppError, invalid, type FieldIssue } from '../domain/errors.js';
import { engineFailure, type Failure } from '../domain/failure.js';
import type { ExpressionChecker } from '../domain/entity-type.js';
import { checkExpression, type EvalOutcome, type ExprIssue } from '../expr/index.js';

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

/**
 * A task expression's failed outcome as the step's failure. EXPR_BUSY means it was never evaluated
 * (it waited longer than the evaluator's maxWaitMs behind other calls: load, not the expression):
 * EXPRESSION_BUSY, retryable. Anything else — its own error, or its own time limit — is
 * EXPRESSION_FAILED and not retryable: the same expression on the same data fails the same way.
 */
export function expressionFailure(where: string, error: { code: string; message: string }): Failure {
  const busy = error.code === 'EXPR_BUSY';
  const cause = { message: error.message, code: error.code };
  return engineFailure(busy ? 'EXPRESSION_BUSY' : 'EXPRESSION_FAILED', `${where}: ${error.message}`, busy, { details: { code: error.code }, cause });
}

/** Requirements that could not be evaluated for load say nothing about the entity: the request is refused, 503, to be retried. */
export function refuseIfBusy(outcomes: readonly EvalOutcome[]): void {
  const busy = outcomes.find((o) => !o.ok && o.error.code === 'EXPR_BUSY');
  if (busy && !busy.ok) throw new AppError('EXPRESSION_BUSY', `${ERRORS_BUSY} (${busy.error.message})`);
}

const ERRORS_BUSY = 'The requirements could not be evaluated: the expression workers were busy for too long. Nothing was saved; retry';
