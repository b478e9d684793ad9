/** What entity.update and entity.create share: the output of a save and the input checks. */
import { failure } from '../../domain/failure.js';
import { isRecord } from '../../domain/schema-kit.js';
import { failureForSaveError } from '../kit/failures.js';
import type { EntitySaveOutcome } from '../types.js';

export interface EntitySaveOutput {
  id: string;
  type: string;
  version: number;
  status: string;
  statusPath: string[];
  queuedRuns: Array<{ id: string; process: string }>;
}

export function saveOutput(outcome: EntitySaveOutcome): EntitySaveOutput {
  const { entity } = outcome;
  return { id: entity.id, type: entity.type, version: entity.version, status: entity.status, statusPath: outcome.statusPath, queuedRuns: outcome.queuedRuns };
}

/** The evaluated `attributes` as an object, or a non-retryable INVALID_INPUT failure. */
export function attributesOf(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) {
    const got = value === undefined ? 'nothing' : Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw failure('INVALID_INPUT', `attributes must evaluate to an object, got ${got}`, false);
  }
  return value;
}

/** Runs a save; a refusal of the save pipeline becomes a TaskFailure (see failureForSaveError). */
export async function save(op: () => Promise<EntitySaveOutcome>): Promise<EntitySaveOutput> {
  try {
    return saveOutput(await op());
  } catch (err) {
    throw failureForSaveError(err);
  }
}
