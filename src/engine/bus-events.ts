/**
 * The events of the bus (bus.ts), one entry per kind: its `type`, the shape of its `data`, and one
 * builder that makes it. Publishers call the builders; readers narrow on `type` and get the data typed.
 * The same `data` is what `GET /api/v1/stream` sends (docs/api.md "Live updates") and what the event
 * relay carries between processes. To add a kind: one line in BusEventData, one in EVENT_TYPES, one builder.
 */
import type { Failure } from '../domain/failure.js';
import { withOrigin } from '../domain/failure-codes.js';
import type { Run, RunStatus, StepStatus } from '../store/runs.js';
import type { BatchView } from './batches/view.js';

/** An entity was saved (created, changed, or moved along its status path). */
export interface EntitySavedData {
  id: string;
  type: string;
  status: string;
  version: number;
  /** The statuses the save passed through, the last one being `status`. */
  statusPath: string[];
}

/** A run changed status, or committed a step (`step` present). */
export interface RunUpdatedData {
  id: string;
  process: string;
  entityId: string;
  entityType: string;
  /** The run's status after the change (`running` while it goes from step to step). */
  status: RunStatus;
  /** The run's failure when it failed or waits for a retry, else null. */
  error: Failure | null;
  /** The step whose result was just committed, when the event is about one. */
  step?: StepProgress;
}

export interface StepProgress {
  /** Position of the task in the process, from 0. */
  index: number;
  /** The task's key. */
  task: string;
  status: StepStatus;
}

/** Progress of a batch of runs: the batch as GET /batches/{id} shows it. */
export type BatchUpdatedData = BatchView;

/** One entry per kind of event. */
export interface BusEventData {
  'entity.saved': EntitySavedData;
  'run.updated': RunUpdatedData;
  'batch.updated': BatchUpdatedData;
}

export type BusEventType = keyof BusEventData;

/** Any event: `type` tells which `data` it carries. */
export type BusEvent = { [K in BusEventType]: { type: K; orgId: string; data: BusEventData[K] } }[BusEventType];

/** Every kind (the relay accepts only these from other processes). */
export const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys({ 'entity.saved': 1, 'run.updated': 1, 'batch.updated': 1 } satisfies Record<BusEventType, 1>));

export function entitySaved(orgId: string, data: EntitySavedData): BusEvent {
  return { type: 'entity.saved', orgId, data };
}

/** The one place a run.updated event is made: from the run, its new status, its failure and the step committed. */
export function runUpdated(
  run: Pick<Run, 'id' | 'orgId' | 'process' | 'entityId' | 'entityType'>,
  status: RunStatus,
  error: Failure | null = null,
  step?: StepProgress,
): BusEvent {
  const data: RunUpdatedData = { id: run.id, process: run.process, entityId: run.entityId, entityType: run.entityType, status, error: error && withOrigin(error) };
  if (step) data.step = step;
  return { type: 'run.updated', orgId: run.orgId, data };
}

export function batchUpdated(orgId: string, data: BatchUpdatedData): BusEvent {
  return { type: 'batch.updated', orgId, data };
}
