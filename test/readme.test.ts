/**
 * The README's "Quick start with curl" runs as written (bash, curl, node), against a real server on a
 * loopback port: only the server's address and the webhook (a local target) are substituted. Every
 * step must answer the HTTP status the README shows, and the process must post to the webhook.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startCountingTarget, startServerProcess, waitFor, type CountingTarget, type ServerProcess } from './support/server-process.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

function quickStart(): { key: string; script: string } {
  const section = readme.slice(readme.indexOf('## Quick start with curl'));
  const key = /STATUSFLOW_ADMIN_KEY=(\S+) npm start/.exec(section)![1]!;
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return { key, script: blocks[1]! };
}

describe('README quick start', () => {
  let server: ServerProcess;
  let target: CountingTarget;
  let dir: string;
  const { key, script } = quickStart();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'statusflow-readme-'));
    target = await startCountingTarget();
    server = await startServerProcess({ command: 'start', env: { STATUSFLOW_DATA_DIR: join(dir, 'data'), STATUSFLOW_ADMIN_KEY: key, STATUSFLOW_POLL_MS: '100' } });
  });
  after(async () => {
    await server?.stop();
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every step answers as the README says', async () => {
    assert.ok(script.includes('http://localhost:4600') && script.includes('https://example.com/hooks/orders'), 'the README changed: update this test');
    const local = script.replaceAll('http://localhost:4600', server.origin).replaceAll('https://example.com/hooks/orders', `${target.url}/hooks/orders`);
    const run = spawnSync('bash', ['-c', `set -u\n${local}`], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const statuses = [...run.stdout.matchAll(/→ HTTP (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [201, 201, 422, 200, 200, 200, 201, 201, 200], run.stdout);
    assert.match(run.stdout, /"statusPath":\["received","approved"\]/, 'step 4 approves the order');
    assert.match(run.stdout, /"queuedRuns":\[\{"id":"\w+","process":"notify_approved"\}\]/, 'step 6 queues the run');
    await waitFor(async () => target.hits.length === 1, 20_000, () => 'the webhook to be called once');
  });
});
