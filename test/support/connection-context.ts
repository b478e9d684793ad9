/**
 * A ConnectionContext and TaskContext built by hand for connector unit tests: links in a Map, acquire/backOff
 * counted, memo a plain Map. What the engine's `connectionContextFor` gives a task, minus the database.
 */
import assert from 'node:assert/strict';
import { TaskFailure, type Failure } from '../../src/domain/failure.js';
import type { ConnectionContext, ConnectionView, EntityView, LinkView, ProviderName, TaskContext } from '../../src/connectors/types.js';

export interface TestConnectionContext extends ConnectionContext {
  /** Links by `<entity id>|<external type>`. */
  linkStore: Map<string, LinkView>;
  /** How many times acquire() was called. */
  acquired: number;
  /** Every backOff(ms) call, in order. */
  backOffs: number[];
  /** The run's entity: the default of links.get/put (the engine binds a context to one run). */
  runEntityId: string;
}

export function connectionContext(
  view: { key?: string; provider: ProviderName; config?: Record<string, unknown>; secrets?: Record<string, string> },
  runEntityId = 'ent_1',
): TestConnectionContext {
  const connection: ConnectionView = { key: view.key ?? 'main', provider: view.provider, name: 'Test', config: view.config ?? {}, secrets: view.secrets ?? {} };
  const linkStore = new Map<string, LinkView>();
  const cc: TestConnectionContext = {
    connection,
    linkStore,
    acquired: 0,
    backOffs: [],
    runEntityId,
    memo: new Map(),
    async acquire(signal) {
      signal?.throwIfAborted();
      cc.acquired++;
    },
    async backOff(ms) {
      cc.backOffs.push(ms);
    },
    links: {
      async get(externalType, entityId = cc.runEntityId) {
        return linkStore.get(`${entityId}|${externalType}`);
      },
      async put(link) {
        const entityId = link.entityId ?? cc.runEntityId;
        linkStore.set(`${entityId}|${link.externalType}`, {
          entityId,
          connection: connection.key,
          provider: connection.provider,
          externalType: link.externalType,
          externalId: link.externalId,
          url: link.url ?? null,
        });
      },
    },
  };
  return cc;
}

/** The context a task kind gets in run `run_1` for the task `taskKey`; `entities` refuses (see entityActions for a recording one). */
export function taskContext(connection: ConnectionContext | undefined, entity: Partial<EntityView> = {}, signal: AbortSignal = new AbortController().signal, taskKey = 'task', entities?: TaskContext['entities']): TaskContext {
  const no = () => Promise.reject(new Error('not used'));
  const ctx: TaskContext = {
    orgId: 'org_1',
    runId: 'run_1',
    taskKey,
    idempotencyKey: `run_1:${taskKey}`,
    signal,
    entity: { id: 'ent_1', type: 'order', status: 'received', version: 1, attributes: {}, ...entity },
    entities: entities ?? { update: no, create: no },
  };
  if (connection) ctx.connection = connection;
  return ctx;
}

/** The Failure a promise rejects with (fails the test when it resolves or throws something else). */
export async function failureOf(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TaskFailure, `expected a TaskFailure, got ${String(err)}`);
    return err.failure;
  }
  assert.fail('expected a failure');
}
