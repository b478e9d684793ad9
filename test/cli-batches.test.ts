/**
 * The batch commands of `statusflow` as a real process against a real server (SQLite; the follow to
 * completion also on Postgres when TEST_DATABASE_URL is set): `process` with filters, `batches`,
 * `batch <id>` and its actions, `--json` parsed, exit codes, and a batch followed to its end with the
 * plain progress lines of a run without a terminal captured. Ctrl-C, the stream dropping and the live
 * bar on a terminal: cli-batches-live.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from './support/databases.js';
import { progressLines, startBatchWorld, type BatchWorld } from './support/cli-batch-world.js';
import { api } from './support/server-process.js';

const ORDERS = 24;
const FAILING = 3;

/** A batch followed to its end: 3 failed items (exit 3), the plain progress lines, a summary matching the server's counts. */
async function followToCompletion(w: BatchWorld): Promise<string> {
  const run = await w.cli(['process', 'ship', '--status', 'received', '--yes']);
  assert.equal(run.code, 3, `exit 3 (some items failed)\n${run.stdout}\n${run.stderr}`);
  const id = /^batch (\w+) created: 24 items/m.exec(run.stdout)?.[1];
  assert.ok(id, run.stdout);
  const batch = (await api(w.server.origin, 'GET', `/api/v1/batches/${id}`)).json;
  assert.deepEqual([batch.status, batch.succeeded, batch.failed, batch.skipped, batch.cancelled], ['completed', ORDERS - FAILING, FAILING, 0, 0]);

  // Without a terminal: plain lines on stderr, counts that only grow, at most one a second (and the last).
  const lines = progressLines(run.stderr);
  assert.ok(lines.length >= 2, `progress lines:\n${run.stderr}`);
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.ended >= lines[i - 1]!.ended, run.stderr);
  assert.ok(lines.every((l) => l.total === ORDERS));
  assert.deepEqual(lines.at(-1), { ended: ORDERS, total: ORDERS, succeeded: ORDERS - FAILING, failed: FAILING, status: 'completed' });
  assert.ok(!/\x1b\[/.test(run.stderr), 'no terminal control codes without a terminal');

  // The summary: counts, duration, the failed items with their error code, and how to retry them.
  assert.match(run.stdout, new RegExp(`^batch ${id} completed in [\\d.]+ m?s: 21 succeeded, 3 failed, 0 skipped, 0 cancelled \\(24 items\\)$`, 'm'));
  assert.match(run.stdout, /^failed:$/m);
  for (const f of w.failing) assert.match(run.stdout, new RegExp(`^  entity ${f}  run \\w+  HTTP_STATUS_422: `, 'm'));
  assert.match(run.stdout, new RegExp(`^retry the failed items: statusflow batch ${id} --retry-failed --follow$`, 'm'));
  return id;
}

describe('statusflow batch commands against a real server (sqlite)', () => {
  let w: BatchWorld;
  let firstBatch: string;

  before(async () => {
    w = await startBatchWorld({ dialect: 'sqlite', orders: ORDERS, failing: FAILING, delayMs: 250 });
  });
  after(async () => {
    await w?.close();
  });

  test('usage errors exit 2 before anything is created: no --yes without a terminal, mixed or bad options', async () => {
    const noYes = await w.cli(['process', 'ship', '--status', 'received']);
    assert.equal(noYes.code, 2, noYes.stderr);
    assert.match(noYes.stdout, /^process ship: 24 entities match --status received$/m);
    assert.match(noYes.stderr, /not confirmed: 24 entities would be processed; without a terminal to ask on, pass --yes/);
    for (const args of [
      ['process', 'ship', '--linked', 'hooks', '--not-linked', 'hooks'],
      ['process', 'ship', '--updated-after', 'last tuesday', '--yes'],
      ['process', 'ship', '--entity', w.ok[0]!, '--status', 'received'],
      ['process', 'ship', '--status', 'received', '--wait'],
      ['batch', '01J00000000000000000000000', '--pause', '--cancel'],
      ['batches', '--limit', '0'],
    ]) {
      const r = await w.cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.deepEqual(await w.json(['batches']), [], 'no batch was created');
  });

  test('--dry-run previews what a batch would take (every filter reaches the server) and creates none', async () => {
    const preview = await w.json(['process', 'ship', '--status', 'received', '--dry-run']);
    assert.equal(preview.total, ORDERS);
    assert.ok(preview.sample.length > 0 && preview.sample.every((e: { status: string }) => e.status === 'received'));
    assert.equal((await w.json(['process', 'ship', '--where', 'total >= 900', '--dry-run'])).total, FAILING);
    assert.equal((await w.json(['process', 'ship', '--ids', `${w.ok[0]},${w.failing[0]}`, '--dry-run'])).total, 2);
    assert.equal((await w.json(['process', 'ship', '--not-linked', 'hooks', '--dry-run'])).total, ORDERS);
    assert.equal((await w.json(['process', 'ship', '--linked', 'hooks', '--dry-run'])).total, 0);
    assert.equal((await w.json(['process', 'ship', '--updated-after', '2000-01-01', '--updated-before', '2999-01-01', '--dry-run'])).total, ORDERS);
    assert.equal((await w.json(['process', 'ship', '--updated-after', '2999-01-01', '--dry-run'])).total, 0);
    const human = await w.cli(['process', 'ship', '--where', 'total >= 900', '--dry-run']);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^process ship: 3 entities match --where "total >= 900"\nfor example:\n {2}\w+ {2}received {2}\{"order_number":"ORD-100\d","total":90\d\}$/m);
    assert.match(human.stdout, /^dry run: no batch created$/m);
    const none = await w.cli(['process', 'ship', '--linked', 'hooks', '--yes']);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^nothing to process: no batch created$/m);
    assert.deepEqual(await w.json(['batches']), []);
  });

  test('process with filters: a batch followed to completion, plain progress lines, summary, exit 3', async () => {
    firstBatch = await followToCompletion(w);
  });

  test('batches and batch <id>: tables and --json; --retry-failed --follow ends with exit 0 once the items pass', async () => {
    const list = await w.json(['batches']);
    assert.deepEqual(list.map((b: { id: string }) => b.id), [firstBatch]);
    assert.equal((await w.json(['batches', '--status', 'running'])).length, 0);
    assert.equal((await w.json(['batches', '--process', 'ship', '--status', 'completed'])).length, 1);
    const table = await w.cli(['batches']);
    assert.match(table.stdout, /^ID +PROCESS +STATUS +DONE +SUCCEEDED +FAILED +SKIPPED +CANCELLED +CREATED +TOOK$/m);
    assert.match(table.stdout, new RegExp(`^${firstBatch} +ship +completed +24/24 +21 +3 +0 +0 +`, 'm'));

    const one = await w.json(['batch', firstBatch]);
    assert.deepEqual(one, (await api(w.server.origin, 'GET', `/api/v1/batches/${firstBatch}`)).json);
    const shown = await w.cli(['batch', firstBatch]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^ {2}filter {4}--status received$/m);
    assert.match(shown.stdout, /^ {2}created {3}.* by api key "admin \(STATUSFLOW_ADMIN_KEY\)" \w+$/m);
    assert.match(shown.stdout, /^ {2}succeeded +21$/m);
    assert.match(shown.stdout, /^ {2}failed +3$/m);
    assert.match(shown.stdout, /^failed items:$/m);
    assert.equal(shown.stdout.match(/HTTP_STATUS_422/g)?.length, FAILING);

    w.target.failing = false;
    const retried = await w.cli(['batch', firstBatch, '--retry-failed', '--follow']);
    assert.equal(retried.code, 0, `${retried.stdout}\n${retried.stderr}`);
    assert.match(retried.stdout, new RegExp(`^batch ${firstBatch} failed items queued again$`, 'm'));
    assert.match(retried.stdout, new RegExp(`^batch ${firstBatch} completed in .*: 24 succeeded, 0 failed, 0 skipped, 0 cancelled \\(24 items\\)$`, 'm'));
    assert.ok(!retried.stdout.includes('retry the failed'), retried.stdout);
    w.target.failing = true;
  });

  test('pause, resume, cancel (409 BATCH_FINISHED once cancelled, exit 1), and a cancelled batch followed: exit 3', async () => {
    w.target.hold();
    const created = await w.json(['process', 'ship', '--ids', w.ok.slice(0, 10).join(','), '--yes', '--detach']);
    assert.deepEqual([created.status, created.total], ['running', 10]);
    const id: string = created.id;
    const paused = await w.cli(['batch', id, '--pause']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /paused: no new run starts/);
    assert.match(paused.stdout, /^ {2}paused, \d+ of 10 done: \d+ succeeded, 0 failed, 0 skipped, 0 cancelled; \d+ run\(s\) queued or running$/m);
    assert.equal((await w.json(['batch', id])).status, 'paused');
    assert.equal((await w.json(['batch', id, '--resume'])).status, 'running');
    const cancelled = await w.json(['batch', id, '--cancel']);
    assert.equal(cancelled.status, 'cancelled');
    assert.ok(cancelled.cancelled > 0, JSON.stringify(cancelled));
    const again = await w.cli(['batch', id, '--cancel']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^statusflow: BATCH_FINISHED \(409\): /m);
    w.target.release();
    // The runs already running finish; then the follow ends, exit 3 since items were cancelled.
    const followed = await w.json(['batch', id, '--follow'], 3);
    assert.equal(followed.status, 'cancelled');
    assert.equal(followed.running, 0);
    assert.equal(followed.succeeded + followed.cancelled, 10);
  });

  test('errors of the API: the code and message, exit 1', async () => {
    const missing = await w.cli(['batch', '01J00000000000000000000000']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^statusflow: BATCH_NOT_FOUND \(404\): /m);
    const noProcess = await w.cli(['process', 'nope', '--status', 'received', '--yes']);
    assert.equal(noProcess.code, 1);
    assert.match(noProcess.stderr, /PROCESS_NOT_FOUND \(404\)/);
    const badStatus = await w.cli(['process', 'ship', '--status', 'nowhere', '--yes']);
    assert.equal(badStatus.code, 1);
    assert.match(badStatus.stderr, /STATUS_UNKNOWN/);
  });
});

for (const dialect of DIALECTS.filter((d) => d !== 'sqlite')) {
  describe(`statusflow process: a batch followed to completion (${dialect})`, () => {
    let w: BatchWorld;
    before(async () => {
      w = await startBatchWorld({ dialect, orders: ORDERS, failing: FAILING, delayMs: 250 });
    });
    after(async () => {
      await w?.close();
    });
    test('plain progress lines, summary, exit 3', async () => {
      await followToCompletion(w);
    });
  });
}
