import jsonata from 'jsonata';
import { BUILTIN_FUNCTIONS, FORBIDDEN_FUNCTIONS } from './builtins.js';

/** The limits enforced inside a worker while evaluating. */
export interface Limits {
  timeoutMs: number;
  maxResultBytes: number;
  maxSequence: number;
  maxDepth: number;
}

/** Thrown by a guard; JSONata keeps our `message` because `code` is not one of its own. */
export class GuardError extends Error {
  constructor(
    readonly code: 'EXPR_RESOURCE_LIMIT' | 'EXPR_FORBIDDEN' | 'EXPR_EVAL_ERROR',
    message: string,
  ) {
    super(message);
  }
}

/** JSONata's representation of a built-in function. */
interface FunctionDefinition {
  _jsonata_function: true;
  implementation: (this: unknown, ...args: unknown[]) => unknown;
  signature?: unknown;
}

function tooLarge(what: string, limits: Limits): GuardError {
  return new GuardError('EXPR_RESOURCE_LIMIT', `${what} exceeds the size limit of ${limits.maxResultBytes} bytes`);
}

function checkValue(value: unknown, limits: Limits, what: string): void {
  if (typeof value === 'string' && value.length > limits.maxResultBytes) throw tooLarge(what, limits);
  if (Array.isArray(value) && value.length > limits.maxSequence) {
    throw new GuardError('EXPR_RESOURCE_LIMIT', `${what} exceeds the sequence limit of ${limits.maxSequence} items`);
  }
}

/** Extra checks, before the call, for built-ins whose result can be far larger than their arguments. */
function precheck(name: string, args: unknown[], limits: Limits): void {
  if (name === 'pad') {
    const width = Math.abs(Math.trunc(Number(args[1])));
    const char = typeof args[2] === 'string' && args[2].length > 0 ? args[2].length : 1;
    if (width * char > limits.maxResultBytes) throw tooLarge('Result of $pad', limits);
  } else if (name === 'join' && Array.isArray(args[0])) {
    const separator = typeof args[1] === 'string' ? args[1].length : 0;
    let size = 0;
    for (const item of args[0]) {
      size += (typeof item === 'string' ? item.length : 0) + separator;
      if (size > limits.maxResultBytes) throw tooLarge('Result of $join', limits);
    }
  } else if (name === 'replace' && typeof args[0] === 'string' && typeof args[1] === 'string' && typeof args[2] === 'string') {
    checkReplace(args[0], args[1], args[2], typeof args[3] === 'number' ? args[3] : Infinity, limits);
  } else if (name === 'string' && typeof args[0] === 'object' && args[0] !== null) {
    copyPlain(args[0], limits, false, 'Result of $string');
  }
}

/** A string replacement grows the string by its number of matches times the growth of each. */
function checkReplace(str: string, pattern: string, replacement: string, limit: number, limits: Limits): void {
  const growth = replacement.length - pattern.length;
  if (growth <= 0 || pattern.length === 0) return;
  if (str.length + Math.min(limit, str.length / pattern.length) * growth <= limits.maxResultBytes) return;
  let matches = 0;
  for (let i = str.indexOf(pattern); i !== -1 && matches < limit; i = str.indexOf(pattern, i + pattern.length)) matches++;
  if (str.length + matches * growth > limits.maxResultBytes) throw tooLarge('Result of $replace', limits);
}

function wrap(name: string, original: FunctionDefinition, limits: Limits): FunctionDefinition {
  const what = `Result of $${name}`;
  const check = (result: unknown): unknown => {
    checkValue(result, limits, what);
    return result;
  };
  return {
    ...original,
    implementation(this: unknown, ...args: unknown[]): unknown {
      for (const arg of args) checkValue(arg, limits, `Argument of $${name}`);
      precheck(name, args, limits);
      const result = original.implementation.apply(this, args);
      return result instanceof Promise ? result.then(check) : check(result);
    },
  };
}

function forbiddenFunction(name: string): FunctionDefinition {
  return {
    _jsonata_function: true,
    implementation() {
      throw new GuardError('EXPR_FORBIDDEN', `$${name} is not allowed`);
    },
  };
}

/** Guarded replacements for JSONata's built-ins; bind them on each compiled expression. */
export async function guardedBuiltins(limits: Limits): Promise<Map<string, FunctionDefinition>> {
  const guarded = new Map<string, FunctionDefinition>();
  for (const name of BUILTIN_FUNCTIONS) {
    if (name === 'now' || name === 'millis') continue; // bound per expression by JSONata, harmless
    if (FORBIDDEN_FUNCTIONS.includes(name)) {
      guarded.set(name, forbiddenFunction(name));
      continue;
    }
    const original = (await jsonata(`$${name}`).evaluate(undefined)) as FunctionDefinition | undefined;
    if (original?._jsonata_function === true) guarded.set(name, wrap(name, original, limits));
  }
  return guarded;
}

/**
 * Copy an evaluation result into structured-clone-safe plain data (sequences become
 * arrays), counting its approximate size; throws a GuardError when it is too large or
 * contains a function. With `copy` false it only measures.
 */
export function copyPlain(value: unknown, limits: Limits, copy = true, what = 'Result'): unknown {
  const budget = { left: limits.maxResultBytes, limits, what };
  return walk(value, budget, copy);
}

interface Budget {
  left: number;
  limits: Limits;
  what: string;
}

function walk(value: unknown, budget: Budget, copy: boolean): unknown {
  switch (typeof value) {
    case 'string':
      budget.left -= value.length + 2;
      break;
    case 'function':
      throw new GuardError('EXPR_EVAL_ERROR', 'The expression returned a function, not a value');
    case 'object':
      if (value === null || value instanceof Date) {
        budget.left -= 8;
        break;
      }
      if ((value as { _jsonata_function?: unknown })._jsonata_function || (value as { _jsonata_lambda?: unknown })._jsonata_lambda) {
        throw new GuardError('EXPR_EVAL_ERROR', 'The expression returned a function, not a value');
      }
      budget.left -= 2;
      if (budget.left < 0) throw tooLarge(budget.what, budget.limits);
      if (Array.isArray(value)) {
        const out: unknown[] | undefined = copy ? new Array<unknown>(value.length) : undefined;
        for (let i = 0; i < value.length; i++) {
          const item = walk(value[i], budget, copy);
          if (out) out[i] = item;
          budget.left -= 1;
        }
        return out;
      } else {
        const out: Record<string, unknown> | undefined = copy ? {} : undefined;
        for (const [key, item] of Object.entries(value)) {
          budget.left -= key.length + 4;
          const copied = walk(item, budget, copy);
          if (out && key === '__proto__') Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true });
          else if (out) out[key] = copied;
        }
        return out;
      }
    default:
      budget.left -= 8;
  }
  if (budget.left < 0) throw tooLarge(budget.what, budget.limits);
  return value;
}
