// Public API of the expression module: JSONata 2.x with guard rails (see docs/expressions.md).
export type { CheckOptions, EvalCall, EvalErrorCode, EvalOutcome, Evaluator, EvaluatorOptions, ExprCheck, ExprIssue } from './types.js';
export { checkExpression, MAX_SOURCE_LENGTH } from './check.js';
export { createEvaluator } from './pool.js';
export { MAX_REGEX_LENGTH } from './policy.js';
export { RESERVED_CONTEXT_NAMES } from './builtins.js';
