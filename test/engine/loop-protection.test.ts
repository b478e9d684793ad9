/**
 * Loop protection over the whole cause chain (issue 10, item 4): a process whose `entity.create`
 * makes an entity of its own type — a new entity every time, so the same-process/entity re-entry
 * check never matches — stops at the depth limit; two creates per run stop at the fan-out bound; the
 * chain each run stores stays bounded however deep the chain went.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/wait.js';

const DEPTH_LIMIT = 5;
const RUN_LIMIT = 20;

const cellType = (name: string) => ({
  name,
  attributes: [
    { key: 'title', type: 'string', required: true },
    { key: 'gen', type: 'integer', default: 0 },
  ],
  statuses: [{ key: 'born', name: 'Born', initial: true }],
});

const spawn = (type: string, creates: number) => ({
  name: `Spawn ${type}`,
  entityType: type,
  trigger: { status: 'born' },
  settings: { retry: { maxAttempts: 1 } },
  tasks: Array.from({ length: creates }, (_, i) => ({
    key: `child_${i}`,
    kind: 'entity.create',
    input: { entityType: type, attributes: "{ 'title': 'child', 'gen': gen + 1 }" },
  })),
});

interface RunRow { id: string; status: string; error: string | null; depth: number; root_run_id: string | null; chain: string }

for (const dialect of DIALECTS) {
  describe(`loop protection over cause chains on ${dialect}`, () => {
    let t: TestApp;

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 20, leaseMs: 5000 }, chainDepthLimit: DEPTH_LIMIT, chainRunLimit: RUN_LIMIT });
      for (const [type, creates] of [['cell', 1], ['pair', 2]] as const) {
        assert.equal((await t.call('PUT', `/api/v1/entity-types/${type}`, cellType(type))).statusCode, 201);
        assert.equal((await t.call('PUT', `/api/v1/processes/spawn_${type}`, spawn(type, creates))).statusCode, 201);
      }
    });
    after(() => t.close());

    /** Every run of the chain rooted at `rootRunId`, once none is left to run. */
    const settledChain = (rootRunId: string) =>
      eventually(async () => {
        const rows = (await t.services.database.db.selectFrom('runs').select(['id', 'status', 'error', 'depth', 'root_run_id', 'chain']).where('root_run_id', '=', rootRunId).execute()) as RunRow[];
        return rows.length > 0 && rows.every((r) => ['succeeded', 'failed'].includes(r.status)) ? rows : undefined;
      }, 30_000, 'the chain of runs to settle');
    const entityCount = async (type: string) =>
      Number((await t.services.database.db.selectFrom('entities').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', type).executeTakeFirstOrThrow()).n);

    test('a process creating entities of its own type stops at the depth limit', async () => {
      const root = (await t.call('POST', '/api/v1/entities/cell', { attributes: { title: 'root' } })).json();
      assert.equal(root.queuedRuns.length, 1);
      const runs = await settledChain(root.queuedRuns[0].id);
      assert.equal(runs.length, DEPTH_LIMIT, 'one run per level, no more');
      assert.deepEqual(runs.map((r) => r.depth).sort(), [0, 1, 2, 3, 4]);
      const failed = runs.filter((r) => r.status === 'failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.depth, DEPTH_LIMIT - 1, 'the deepest run is the one refused');
      const error = JSON.parse(failed[0]!.error!);
      assert.equal(error.code, 'PROCESS_LOOP_DETECTED');
      assert.equal(error.retryable, false);
      assert.equal(error.details.reason, 'depth');
      assert.match(error.message, /depth limit is 5/);
      // The refused save wrote nothing: the root and one entity per accepted create.
      assert.equal(await entityCount('cell'), DEPTH_LIMIT);
      assert.equal((await t.call('GET', '/api/v1/health', undefined, { key: null })).statusCode, 200);
    });

    test('the chain a run stores stays bounded by the depth limit (depth and root are columns)', async () => {
      const runs = (await t.services.database.db.selectFrom('runs').select(['id', 'status', 'error', 'depth', 'root_run_id', 'chain']).where('process', '=', 'spawn_cell').execute()) as RunRow[];
      const root = runs.find((r) => r.depth === 0)!;
      for (const r of runs) {
        const chain = JSON.parse(r.chain) as Array<[string, string]>;
        assert.equal(r.root_run_id, root.id);
        assert.equal(chain.length, r.depth, 'one link per run before this one');
        assert.ok(chain.every(([process]) => process === 'spawn_cell'));
      }
      // Measured in the database: no run's chain is longer than the depth limit allows (each link is
      // a process key and an entity id, ~40 bytes), whereas before the bound one runaway run stored 109 KB.
      const { rows } = await sql<{ n: number }>`SELECT max(length(chain)) AS n FROM runs`.execute(t.services.database.db);
      const longest = Number(rows[0]!.n);
      assert.ok(longest <= DEPTH_LIMIT * 45, `longest stored chain ${longest} bytes`);
    });

    test('two creates per run stop at the fan-out bound of the chain', async () => {
      const root = (await t.call('POST', '/api/v1/entities/pair', { attributes: { title: 'root' } })).json();
      const runs = await settledChain(root.queuedRuns[0].id);
      // Unbounded, the depth limit alone would allow 2^5 - 1 = 31 runs here.
      assert.equal(runs.length, RUN_LIMIT, 'the chain holds exactly the runs the bound allows');
      const failed = runs.filter((r) => r.status === 'failed').map((r) => JSON.parse(r.error!));
      assert.ok(failed.length > 0);
      assert.ok(failed.some((e) => e.details?.reason === 'fan_out'), JSON.stringify(failed[0]));
      for (const e of failed) assert.equal(e.code, 'PROCESS_LOOP_DETECTED');
      // Every entity but the root was created by an accepted save, and each such save queued one run.
      assert.equal(await entityCount('pair'), RUN_LIMIT);
    });
  });
}
