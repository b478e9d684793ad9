/** A problem found in an expression when it is checked (at definition time). */
export interface ExprIssue {
  code: 'EXPR_SYNTAX' | 'EXPR_FORBIDDEN' | 'EXPR_UNSAFE_REGEX' | 'EXPR_UNKNOWN_FIELD' | 'EXPR_TOO_LONG';
  /** Human text, e.g. `Expected ")" before end of expression`. */
  message: string;
  /** 0-based character offset in the source, when known. */
  position?: number;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** The offending source line, '\n', then spaces and '^' under the column. */
  caret?: string;
}

/** Result of checking an expression: errors refuse the definition, warnings are shown. */
export interface ExprCheck {
  ok: boolean;
  errors: ExprIssue[];
  warnings: ExprIssue[];
  /** Sorted unique top-level field names the expression reads from its input. */
  references: string[];
}

/** Options of `checkExpression`. */
export interface CheckOptions {
  /** Attribute keys of the entity type; when given, unknown references are warned about. */
  knownFields?: readonly string[];
  /** Context names that are always known; defaults to `RESERVED_CONTEXT_NAMES`. */
  reserved?: readonly string[];
}

/** Error codes of a failed evaluation. */
export type EvalErrorCode =
  | 'EXPR_SYNTAX'
  | 'EXPR_FORBIDDEN'
  | 'EXPR_UNSAFE_REGEX'
  | 'EXPR_TOO_LONG'
  | 'EXPR_EVAL_ERROR'
  | 'EXPR_TIMEOUT'
  | 'EXPR_RESOURCE_LIMIT'
  /** Not evaluated: it waited longer than `maxWaitMs` for a worker (load, not the expression's fault; retry). */
  | 'EXPR_BUSY';

/** The outcome of evaluating one expression against one input. Failures are data. */
export type EvalOutcome = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

/** Who a call is made for. */
export interface EvalCall {
  /**
   * The organization: workers serve organizations round-robin, so one organization's expressions
   * cannot starve another's. Calls without one share a single queue.
   */
  org?: string;
}

/** Evaluates expressions in isolated worker threads. */
export interface Evaluator {
  /** Evaluate several expressions against one input (one round-trip to a worker). */
  evaluateMany(sources: readonly string[], input: unknown, call?: EvalCall): Promise<EvalOutcome[]>;
  /** Evaluate one expression against many inputs (used to filter lists). */
  evaluateForEach(source: string, inputs: readonly unknown[], call?: EvalCall): Promise<EvalOutcome[]>;
  /** Terminate all workers; pending calls reject. Idempotent. */
  close(): Promise<void>;
}

/** Options of `createEvaluator`; every field has a safe default. */
export interface EvaluatorOptions {
  /** Evaluate expressions that are cheap by construction on the calling thread (default true; see inline.ts). */
  inline?: boolean;
  /** Worker threads in the pool (default 1). */
  threads?: number;
  /** Hard time limit for one message: one evaluateMany call or one chunk of evaluateForEach (default 1000). */
  timeoutMs?: number;
  /** A call not started within this time is answered EXPR_BUSY without being evaluated (default 30 × timeoutMs). */
  maxWaitMs?: number;
  /** Old-generation heap of each worker in MB (default 64). */
  maxMemoryMb?: number;
  /** Largest result, and largest string built during evaluation, in bytes (approx., default 1 MB). */
  maxResultBytes?: number;
  /** Largest sequence/array built during evaluation (default 100,000). */
  maxSequence?: number;
  /** Deepest nesting of evaluation (JSONata's `stack` guard, default 200). */
  maxDepth?: number;
}
