/**
 * The run state machine: every status a run can have and every move between them, with the name of
 * the store operation that makes it. The store's conditional updates take their `from` sets from here
 * (store/run-moves.ts, store/runs.ts), so a move not listed cannot happen, whoever races whom.
 *
 *   queued ──claim──▶ running ──succeed──▶ succeeded
 *   waiting ─claim──▶ running ──fail─────▶ failed ──requeueForRetry──▶ queued
 *   running ─claim (lease lapsed)─▶ running    running ──cancelStopped──▶ cancelled ──requeueForRetry──▶ queued
 *   running ──park (delay, backoff)──▶ waiting   running ──releaseOwned (shutdown)──▶ queued
 *   queued, waiting ──cancelNotStarted──▶ cancelled   running ──requestCancel──▶ running (flag; the worker then stops it)
 */
export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a run never leaves by itself (only requeueForRetry takes failed and cancelled ones back). */
export const FINISHED: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface RunMove {
  from: readonly RunStatus[];
  to: RunStatus;
}

/** Every allowed move, by the name of the operation that makes it. */
export const RUN_MOVES = {
  /** A worker takes a due run (queued or waiting), or a running one whose lease lapsed. */
  claim: { from: ['queued', 'waiting', 'running'], to: 'running' },
  /** The worker parks its run until a delay or a retry's backoff is over. */
  park: { from: ['running'], to: 'waiting' },
  succeed: { from: ['running'], to: 'succeeded' },
  fail: { from: ['running'], to: 'failed' },
  /** The worker stops its run: a cancel was requested. */
  cancelStopped: { from: ['running'], to: 'cancelled' },
  /** A run no worker holds is cancelled at once. */
  cancelNotStarted: { from: ['queued', 'waiting'], to: 'cancelled' },
  /** A running run: the cancel is only requested; the worker stops before its next step. */
  requestCancel: { from: ['running'], to: 'running' },
  /** A failed or cancelled run goes back to the queue (from its failed step or from the start). */
  requeueForRetry: { from: ['failed', 'cancelled'], to: 'queued' },
  /** A stopping worker hands its runs back, due now. */
  releaseOwned: { from: ['running'], to: 'queued' },
} as const satisfies Record<string, RunMove>;

export type RunMoveName = keyof typeof RUN_MOVES;

/** True when some move takes a run from `from` to `to`. */
export function canMove(from: RunStatus, to: RunStatus): boolean {
  return Object.values(RUN_MOVES).some((m: RunMove) => m.to === to && m.from.includes(from));
}

/** The statuses a run may have for a move into `to` (the union over every move into it). */
export function statusesBefore(to: RunStatus): RunStatus[] {
  return RUN_STATUSES.filter((s) => canMove(s, to));
}

/** Thrown when code asks for a move the machine does not have (a bug, never a race). */
export class IllegalRunMove extends Error {
  constructor(from: RunStatus | readonly RunStatus[], to: RunStatus) {
    super(`A run cannot move from ${[from].flat().join(' or ')} to ${to}.`);
  }
}

/** Checks that a worker's update of its run (status `running`) to `to` is a move of the machine. */
export function assertWorkerMove(to: RunStatus): void {
  if (!canMove('running', to)) throw new IllegalRunMove('running', to);
}
