/** Evaluates an entity type's requirements for one save, in one round-trip to the expression worker. */
import type { RequirementResult } from '../domain/transitions.js';
import type { Evaluator } from '../expr/index.js';
import type { LoadedEntityType } from './entity-type-cache.js';
import { refuseIfBusy } from './expressions.js';

export interface EntitySnapshot {
  id: string;
  type: string;
  /** Status before the save (undefined while creating). */
  status: string | undefined;
  attributes: Record<string, unknown>;
}

let isoMs = -1;
let iso = '';

/** The current time as ISO 8601, formatted once per millisecond. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/** The expression input for an entity: attributes at top level, plus `entity` and `now` (see docs/expressions.md). */
export function expressionInput(e: EntitySnapshot, now: string = isoNow()): Record<string, unknown> {
  return { ...e.attributes, entity: { id: e.id, type: e.type, status: e.status, attributes: e.attributes }, now };
}

/**
 * A requirement passes only when its condition evaluates to exactly `true`; an error is a failure —
 * except EXPR_BUSY (not evaluated, for load), which refuses the whole request (503 EXPRESSION_BUSY):
 * it must not fail a requirement, let alone move the entity through a `whenFailing` transition.
 */
export async function evaluateRequirements(
  evaluator: Evaluator,
  type: LoadedEntityType,
  entity: EntitySnapshot,
  orgId: string,
): Promise<RequirementResult[]> {
  const reqs = type.definition.requirements;
  if (reqs.length === 0) return [];
  const outcomes = await evaluator.evaluateMany(type.conditions, expressionInput(entity), { org: orgId });
  refuseIfBusy(outcomes);
  return reqs.map((r, i) => {
    const outcome = outcomes[i]!;
    const result: RequirementResult = {
      key: r.key,
      passed: outcome.ok && outcome.value === true,
      message: r.message,
      enforce: r.enforce,
    };
    if (!outcome.ok) result.error = outcome.error;
    return result;
  });
}
