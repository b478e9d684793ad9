/**
 * Lost Postgres connections under load (issue 10, item 1): a `statusflow start` (API + one worker) and
 * a `statusflow worker` share one Postgres; while saves pour in and their runs execute, every database
 * connection of both processes is ended by `pg_terminate_backend` again and again — what a Postgres
 * restart, a failover or an idle-connection reaper does. Both processes live on; every save gets an
 * answer (201, or 503 DATABASE_UNAVAILABLE when its connection was lost after it may have written);
 * every acknowledged save has its run; every run in the database (those of unacknowledged saves that
 * did commit too) succeeds; nothing stays queued or running. Postgres only.
 *
 * Only this test's processes' connections are ended: their DATABASE_URL carries an application_name
 * of their own, and the terminating statement filters on it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ORDER_TYPE } from './support/order.js';
import {
  api,
  createChildDatabase,
  mapConcurrent,
  runStatusCounts,
  outputsOf,
  startCountingTarget,
  startServerProcess,
  TEST_ADMIN_KEY,
  waitFor,
  type ChildDatabase,
  type CountingTarget,
  type ServerProcess,
} from './support/server-process.js';
import type { Database } from '../src/store/db.js';

const SAVES = 400;
/** Saves in flight at once. */
const CLIENTS = 16;
/** Pause between two rounds of terminations (each ends every connection of both processes). */
const TERMINATE_EVERY_MS = 150;

const skip = process.env.TEST_DATABASE_URL ? false : 'needs Postgres: set TEST_DATABASE_URL';

describe('Postgres connections ended under load', { skip }, () => {
  const appName = `sf_fault_${randomBytes(5).toString('hex')}`;
  let target: CountingTarget;
  let database: ChildDatabase;
  let reader: Database | undefined;
  const procs: ServerProcess[] = [];

  before(async () => {
    target = await startCountingTarget(() => 1 + Math.random() * 4);
    database = await createChildDatabase('postgres');
  });
  after(async () => {
    for (const p of procs) await p.kill();
    await reader?.close();
    await target?.close();
    await database?.drop();
  });

  test(`${SAVES} saves and their runs while every connection is ended every ${TERMINATE_EVERY_MS} ms: both processes live, nothing lost`, { timeout: 180_000 }, async () => {
    const env = {
      ...database.env,
      DATABASE_URL: `${database.env.DATABASE_URL}&application_name=${appName}`,
      STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY,
      STATUSFLOW_SECRET_KEY: randomBytes(32).toString('hex'),
      STATUSFLOW_WORKER_CONCURRENCY: '16',
      STATUSFLOW_POLL_MS: '100',
      // A run whose worker lost it with the database resumes after this.
      STATUSFLOW_LEASE_MS: '2000',
    };
    const server = await startServerProcess({ command: 'start', name: 'server (api + worker)', env: { ...env, STATUSFLOW_WORKERS: '1', LOG_LEVEL: 'error' } });
    procs.push(server);
    const worker = await startServerProcess({ command: 'worker', name: 'worker', env: { ...env, STATUSFLOW_WORKERS: '1' } });
    procs.push(worker);

    const put = async (path: string, body: unknown) => {
      const res = await api(server.origin, 'PUT', path, body);
      assert.ok(res.status === 200 || res.status === 201, `PUT ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    };
    await put('/api/v1/entity-types/order', ORDER_TYPE);
    await put('/api/v1/processes/notify', {
      name: 'Notify',
      entityType: 'order',
      trigger: { status: 'received' },
      settings: { concurrency: 32, retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 500 } },
      tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/hook'`, body: "{ 'n': order_number }" } }],
    });

    // Ends every connection of the two processes, round after round, until told to stop.
    let terminating = true;
    let rounds = 0;
    let ended = 0;
    /** Rounds that ended at least one connection. */
    let hitRounds = 0;
    const terminator = (async () => {
      while (terminating) {
        const { rows } = await adminQuery<{ n: number }>(
          `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${appName}') t`,
        );
        rounds++;
        ended += rows[0]?.n ?? 0;
        if ((rows[0]?.n ?? 0) > 0) hitRounds++;
        // The fault's own pace (what is under test), not a wait for something to happen.
        await new Promise((r) => setTimeout(r, TERMINATE_EVERY_MS));
      }
    })();

    const save = async (_: number, i: number) => {
      try {
        const res = await api(server.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${i + 1}`, total: 10 + i, customer_email: `c${i}@example.com` } });
        return { status: res.status, code: res.json?.error?.code as string | undefined, entityId: res.json?.id as string | undefined, runIds: ((res.json?.queuedRuns ?? []) as Array<{ id: string }>).map((r) => r.id) };
      } catch (err) {
        return { status: 0, code: `no answer: ${(err as Error).message}`, entityId: undefined, runIds: [] };
      }
    };
    let answers: Awaited<ReturnType<typeof save>>[];
    try {
      answers = await mapConcurrent(Array.from({ length: SAVES }, (_, i) => i), CLIENTS, save);
      // Before the fix, the first lost connection ended the server: saves went unanswered from then on.
      for (const p of procs) assert.ok(p.alive, `${p.name} is still running\n${outputsOf([p])}`);
      // Go on ending connections with the runs executing — five more rounds that found connections
      // of the two processes to end, however long the loaded machine takes for them — then let them finish.
      await waitFor(async () => target.hits.length >= SAVES / 4 || undefined, 30_000, () => `the runs to start (${target.hits.length} calls)\n${outputsOf(procs)}`);
      const hitRoundsBefore = hitRounds;
      await waitFor(async () => hitRounds >= hitRoundsBefore + 5, 60_000, () => `five more rounds ending connections (${hitRounds - hitRoundsBefore} so far)\n${outputsOf(procs)}`);
    } finally {
      terminating = false;
      await terminator;
    }

    const acked = answers.filter((a) => a.status === 201);
    const unavailable = answers.filter((a) => a.status === 503 && a.code === 'DATABASE_UNAVAILABLE');
    const other = answers.filter((a) => a.status !== 201 && !(a.status === 503 && a.code === 'DATABASE_UNAVAILABLE'));
    assert.deepEqual(other.slice(0, 5), [], `every save answered 201 or 503 DATABASE_UNAVAILABLE; ${other.length} did not\n${outputsOf(procs)}`);
    assert.ok(ended >= rounds, `connections were ended (${ended} in ${rounds} rounds)`);
    for (const p of procs) assert.ok(p.alive, `${p.name} is still running\n${outputsOf([p])}`);
    for (const a of acked) assert.equal(a.runIds.length, 1, 'each acknowledged save queued its run');

    reader = database.open();
    const db = reader.db;
    const statuses = () => runStatusCounts(db);
    let last: Record<string, number> = {};
    await waitFor(
      async () => {
        last = await statuses();
        return (last.queued ?? 0) + (last.running ?? 0) + (last.waiting ?? 0) === 0;
      },
      60_000,
      () => `every run to finish; runs by status: ${JSON.stringify(last)}\n${outputsOf(procs)}`,
    );

    // Every entity in the database (acknowledged or not) has exactly one run, and it succeeded.
    const entities = await db.selectFrom('entities').select('id').execute();
    const runs = await db.selectFrom('runs').select(['id', 'entity_id', 'status']).execute();
    const runsOf = new Map<string, typeof runs>();
    for (const r of runs) runsOf.set(r.entity_id, [...(runsOf.get(r.entity_id) ?? []), r]);
    assert.deepEqual(
      entities.filter((e) => runsOf.get(e.id)?.length !== 1).map((e) => e.id),
      [],
      'every saved entity has exactly one run',
    );
    assert.deepEqual(await statuses(), { succeeded: runs.length }, 'every run succeeded');
    // Every acknowledged save is there, with the run it answered.
    const runIds = new Set(runs.map((r) => r.id));
    const entityIds = new Set(entities.map((e) => e.id));
    assert.deepEqual(acked.filter((a) => !entityIds.has(a.entityId!) || !runIds.has(a.runIds[0]!)), [], 'every acknowledged save and its run are stored');
    assert.ok(entities.length >= acked.length && entities.length <= SAVES);
    // Every run called the target with its key.
    const missing = runs.filter((r) => !target.counts.has(`${r.id}:call`));
    assert.deepEqual(missing, [], 'every run made its call');
    for (const p of procs) assert.ok(p.alive, `${p.name} is still running\n${outputsOf([p])}`);
    const health = await api(server.origin, 'GET', '/api/v1/health');
    assert.equal(health.status, 200);

    const repeated = [...target.counts.values()].filter((n) => n > 1).length;
    console.log(
      `# ${rounds} rounds ended ${ended} connections; saves: ${acked.length} acknowledged (201), ${unavailable.length} answered 503 DATABASE_UNAVAILABLE, 0 unanswered; ` +
        `${entities.length} entities stored, ${runs.length} runs, all succeeded; calls made more than once (step re-run after a lost commit): ${repeated}`,
    );
  });
});

/** One statement on TEST_DATABASE_URL with a connection of its own, returning rows. */
async function adminQuery<T>(statement: string): Promise<{ rows: T[] }> {
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await c.connect();
  try {
    return (await c.query(statement)) as unknown as { rows: T[] };
  } finally {
    await c.end();
  }
}
