/** `ctx.entities` for task kinds: saves through the full save pipeline, caused by the run. */
import type { EntitySaveOutcome, TaskContext } from '../../connectors/types.js';
import type { Run } from '../../store/runs.js';
import { saveEntity, type SaveResult } from '../save.js';
import type { CallContext, Services } from '../services.js';
import type { SaveCause } from '../run-queue.js';

function outcome(r: SaveResult): EntitySaveOutcome {
  const e = r.entity;
  return { entity: { id: e.id, type: e.type, status: e.status, version: e.version, attributes: e.attributes }, statusPath: r.statusPath, queuedRuns: r.queuedRuns };
}

export function entityActions(services: Services, run: Run, taskKey: string): TaskContext['entities'] {
  const ctx: CallContext = { orgId: run.orgId, actor: { type: 'run', id: run.id, process: run.process } };
  const cause: SaveCause = { runId: run.id, process: run.process, entityId: run.entityId, chain: run.chain, depth: run.depth, rootRunId: run.rootRunId, key: `${run.id}:${taskKey}` };
  return {
    async update(change) {
      return outcome(await saveEntity(services, ctx, run.entityType, { id: run.entityId, attributes: change.attributes ?? {}, status: change.status, cause }));
    },
    async create(type, body) {
      return outcome(await saveEntity(services, ctx, type, { attributes: body.attributes ?? {}, status: body.status, cause }));
    },
  };
}
