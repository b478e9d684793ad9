/**
 * The `statusflow` client commands run as a real process (the build when it is current, as CI has it
 * after `npm ci`; else the sources through tsx) against a real server on a loopback port: every
 * command, `--json` parsed, exit codes. The batch commands: cli-batches.test.ts and cli-batches-live.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli, type CliResult } from './support/cli.js';
import { api, freePort, ROOT, startCountingTarget, startServerProcess, TEST_ADMIN_KEY, waitFor, type CountingTarget, type ServerProcess } from './support/server-process.js';

const HOOK_TOKEN = 'hook-token-never-shown-31ab';

function definitions(target: string): string {
  return `# The test's definitions: an order type, an http connection whose header comes from the environment,
# a process on "received" and a manual one that always fails (it expects a 201 the target never sends).
entityTypes:
  - key: order
    name: Order
    attributes:
      - { key: order_number, type: string, required: true }
      - { key: total, type: number }
    statuses:
      - { key: new, name: New, initial: true }
      - { key: received, name: Received }
    requirements:
      - { key: positive_total, condition: "total > 0", message: Total must be positive }
    transitions:
      - { from: [new], to: received, when: [positive_total], auto: true }
connections:
  - key: hooks
    provider: http
    name: Hooks
    config: { baseUrl: "${target}" }
    secrets: { headers: { Authorization: "Bearer \${HOOK_TOKEN}" } }
processes:
  - key: notify
    name: Notify
    entityType: order
    trigger: { status: received }
    tasks:
      - { key: post, kind: http.request, connection: hooks, input: { method: POST, path: "'/orders'", body: "{ 'n': order_number }" } }
  - key: picky
    name: Picky
    entityType: order
    trigger: { manual: true }
    settings: { retry: { maxAttempts: 1, initialDelayMs: 100, maxDelayMs: 100 } }
    tasks:
      - { key: post, kind: http.request, connection: hooks, input: { method: POST, path: "'/picky'", expectStatus: 201 } }
`;
}

describe('statusflow CLI against a real server', () => {
  let server: ServerProcess;
  let target: CountingTarget;
  let dir: string;
  let env: Record<string, string>;

  const cli = (args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> => spawnCli(args, dir, { ...env, ...extraEnv }).result;
  const json = async (args: string[]) => {
    const r = await cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'statusflow-cli-'));
    target = await startCountingTarget();
    server = await startServerProcess({ command: 'start', env: { STATUSFLOW_DATA_DIR: join(dir, 'data'), STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY, STATUSFLOW_POLL_MS: '100' } });
    env = { PATH: process.env.PATH ?? '', HOME: dir, STATUSFLOW_URL: server.origin, STATUSFLOW_API_KEY: TEST_ADMIN_KEY, NODE_ENV: 'production' };
    writeFileSync(join(dir, 'defs.yaml'), definitions(target.url));
  });
  after(async () => {
    await server?.stop();
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--version, --help, usage errors (exit 2)', async () => {
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    for (const c of ['start', 'worker', 'migrate', 'demo', 'apply', 'export', 'types', 'entities', 'process', 'batches', 'batch', 'runs', 'run']) assert.match(help.stdout, new RegExp(`^  ${c}\\b`, 'm'));
    assert.match((await cli(['runs', '--help'])).stdout, /--process <key>/);
    assert.equal((await cli(['bogus'])).code, 2);
    assert.equal((await cli(['apply'])).code, 2, 'apply without -f');
    assert.equal((await cli(['runs', '--limit', 'x'])).code, 2);
    const waitBatch = await cli(['process', 'notify', '--status', 'received', '--wait']);
    assert.equal(waitBatch.code, 2);
    assert.match(waitBatch.stderr, /--wait is for --entity/);
    assert.equal((await cli(['process', 'notify', '--entity', 'x', '--yes'])).code, 2);
  });

  test('apply resolves ${VARIABLES} from the environment, reports, dry-runs; errors exit 1 with the code', async () => {
    const unset = await cli(['apply', '-f', 'defs.yaml']);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /HOOK_TOKEN \(connections\[0\]\.secrets\.headers\.Authorization\)/);
    const applied = await cli(['apply', '-f', 'defs.yaml'], { HOOK_TOKEN });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^created +process notify$/m);
    const again = JSON.parse((await cli(['apply', '-f', 'defs.yaml', '--json'], { HOOK_TOKEN })).stdout);
    assert.equal(again.unchanged.length, 4);
    writeFileSync(join(dir, 'changed.yaml'), readFileSync(join(dir, 'defs.yaml'), 'utf8').replace('name: Notify', 'name: Notify the shop'));
    const dry = await cli(['apply', '-f', 'changed.yaml', '--dry-run'], { HOOK_TOKEN });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^would update +process notify$/m);
    assert.match(dry.stdout, /^\+name: Notify the shop$/m);
    assert.match(dry.stdout, /dry run: 1 change\(s\), nothing written/);
    writeFileSync(join(dir, 'bad.yaml'), 'processes:\n  - key: broken\n    name: Broken\n    entityType: order\n    trigger: { status: nowhere }\n    tasks: []\n');
    const bad = await cli(['apply', '-f', 'bad.yaml']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /DEFINITIONS_INVALID \(400\)/);
    assert.match(bad.stderr, /processes\[0\]\.tasks \(process "broken"\)/);
  });

  test('export: JSON and YAML, no secret value; the file applies back unchanged', async () => {
    const doc = await json(['export']);
    assert.deepEqual(doc.connections[0].secrets, { headers: 'set' });
    const out = await cli(['export', '-o', 'exported.yaml']);
    assert.equal(out.code, 0, out.stderr);
    const text = readFileSync(join(dir, 'exported.yaml'), 'utf8');
    assert.match(text, /^entityTypes:/m);
    assert.ok(!text.includes(HOOK_TOKEN) && !JSON.stringify(doc).includes(HOOK_TOKEN));
    const back = JSON.parse((await cli(['apply', '-f', 'exported.yaml', '--json'])).stdout);
    assert.equal(back.unchanged.length, 4);
  });

  test('types, entities, runs, run, process (exit 3 when the run fails), retry and cancel', async () => {
    const types = await json(['types']);
    assert.deepEqual(types.map((t: { key: string }) => t.key), ['order']);
    assert.match((await cli(['types'])).stdout, /^KEY +NAME +VERSION +STATUSES/m);

    const created = [];
    for (const [n, total] of [['ORD-1', 50], ['ORD-2', 500], ['ORD-3', 0]] as const) {
      created.push((await api(server.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: n, total } })).json);
    }
    const received = await json(['entities', 'order', '--status', 'received']);
    assert.equal(received.length, 2);
    assert.deepEqual((await json(['entities', 'order', '--where', 'total > 100'])).map((e: { attributes: { order_number: string } }) => e.attributes.order_number), ['ORD-2']);
    assert.equal((await json(['entities', 'order', '--limit', '1'])).length, 1);
    assert.match((await cli(['entities', 'order'])).stdout, /ORD-3/);

    await waitFor(async () => (await json(['runs', '--process', 'notify', '--status', 'succeeded'])).length === 2, 20_000, () => 'two notify runs to succeed');
    assert.equal(target.hits.length, 2);
    const runs = await json(['runs', '--entity', created[0].id]);
    assert.equal(runs.length, 1);
    const run = await json(['run', runs[0].id]);
    assert.equal(run.steps[0].task, 'post');
    assert.equal(run.steps[0].status, 'succeeded');
    const shown = await cli(['run', runs[0].id]);
    assert.match(shown.stdout, /^steps:$/m);
    assert.match(shown.stdout, /^ {2}post {2}succeeded, 1 attempt/m);
    assert.ok(!shown.stdout.includes(HOOK_TOKEN), 'no secret header in a run');

    const dry = await cli(['process', 'picky', '--entity', created[0].id, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).dryRun, true);
    const failed = await cli(['process', 'picky', '--entity', created[0].id, '--wait', '--json']);
    assert.equal(failed.code, 3, failed.stderr);
    const failedRun = JSON.parse(failed.stdout);
    assert.equal(failedRun.status, 'failed');
    const human = await cli(['process', 'picky', '--entity', created[1].id]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^queued run \w+; follow it with: statusflow run \w+$/m);

    const retried = await cli(['run', failedRun.id, '--retry', '--json']);
    assert.equal(retried.code, 0, retried.stderr);
    await waitFor(async () => (await json(['run', failedRun.id])).status === 'failed', 20_000, () => 'the retried run to fail again');
    const cancel = await cli(['run', failedRun.id, '--cancel']);
    assert.equal(cancel.code, 1);
    assert.match(cancel.stderr, /RUN_FINISHED \(409\)/);
    assert.equal((await cli(['run', '01J00000000000000000000000'])).code, 1);
  });

  test('migrate (a server command): applies the migrations to a fresh data folder, then has nothing to do', async () => {
    const data = join(dir, 'migrate-data');
    const first = await cli(['migrate'], { STATUSFLOW_DATA_DIR: data });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^applied: /);
    const second = await cli(['migrate'], { STATUSFLOW_DATA_DIR: data });
    assert.equal(second.stdout.trim(), 'database is up to date');
    const bad = await cli(['migrate'], { STATUSFLOW_DATA_DIR: data, PORT: 'eighty' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^configuration error: PORT must be an integer/);
  });

  test('no key → exit 2 with a hint; no server → exit 1 naming the URL', async () => {
    const noKey = await cli(['types'], { STATUSFLOW_API_KEY: '' });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /STATUSFLOW_API_KEY/);
    const wrongKey = await cli(['types', '--key', 'sf_wrong_key_0000000000']);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /UNAUTHENTICATED \(401\)/);
    const url = `http://127.0.0.1:${await freePort()}`;
    const down = await cli(['--url', url, 'types']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, new RegExp(`cannot reach Statusflow at ${url}`));
  });
});
