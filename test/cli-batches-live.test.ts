/**
 * Following a batch live with `statusflow` (a real process against a real server, SQLite): the events
 * of the stream carry the progress (a recording proxy shows the CLI did not poll), polling takes over
 * when the stream is refused or drops, Ctrl-C leaves the batch running and says how to follow, pause
 * or cancel it, and on a terminal (a pseudo-terminal from util-linux `script`) y/N is asked and a
 * live bar drawn.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli, spawnCliInTerminal, type CliChild } from './support/cli.js';
import { progressLines, startBatchWorld, type BatchWorld } from './support/cli-batch-world.js';
import { api, waitFor } from './support/server-process.js';

async function until(child: CliChild, what: RegExp, ms = 20_000): Promise<void> {
  await waitFor(async () => what.test(child.stdout + child.stderr), ms, () => `${what} in the output of the CLI:\n${child.stdout}\n${child.stderr}`);
}

describe('statusflow following a batch live (sqlite)', () => {
  let w: BatchWorld;
  /** GETs of one batch the proxy saw (not of its items). */
  const reads = (id: string) => w.proxy.requests.filter((r) => r === `GET /api/v1/batches/${id}`).length;
  const idIn = (stdout: string) => /^batch (\w+) created/m.exec(stdout)?.[1] ?? assert.fail(stdout);

  before(async () => {
    w = await startBatchWorld({ dialect: 'sqlite', orders: 16, failing: 0, delayMs: 250 });
  });
  after(async () => {
    await w?.close();
  });

  test('the stream carries the progress: one stream, no polling while it is up', async () => {
    w.proxy.stream = 'pass';
    const started = Date.now();
    const r = await w.cli(['process', 'ship', '--ids', w.ok.slice(0, 12).join(','), '--yes'], { viaProxy: true });
    const elapsedMs = Date.now() - started;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const id = idIn(r.stdout);
    assert.ok(progressLines(r.stderr).length >= 2, r.stderr);
    assert.equal(w.proxy.requests.filter((q) => q === 'GET /api/v1/stream').length, 1);
    // One read when the stream opened, then a safety read every 5 s (polling would read every second).
    assert.ok(reads(id) <= 2 + Math.floor(elapsedMs / 5000), `${reads(id)} reads of the batch in ${elapsedMs} ms:\n${w.proxy.requests.join('\n')}`);
    assert.ok(!/polling/.test(r.stderr), r.stderr);
  });

  for (const mode of ['refuse', 'cut'] as const) {
    test(`the stream ${mode === 'refuse' ? 'refused' : 'dropping after its first event'}: polling every second follows the batch to its end`, async () => {
      w.proxy.stream = mode;
      w.proxy.requests.length = 0;
      const r = await w.cli(['process', 'ship', '--ids', w.ok.slice(0, 12).join(','), '--yes'], { viaProxy: true });
      w.proxy.stream = 'pass';
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const id = idIn(r.stdout);
      assert.match(r.stderr, mode === 'refuse' ? /^the stream could not be opened \(HTTP 503: stream switched off by the test proxy\): polling the batch every second$/m : /^the stream (dropped \(.+\)|closed): polling the batch every second$/m);
      assert.ok(reads(id) >= 2, w.proxy.requests.join('\n'));
      assert.match(r.stdout, new RegExp(`^batch ${id} completed in .*: 12 succeeded, 0 failed`, 'm'));
      assert.equal(progressLines(r.stderr).at(-1)?.status, 'completed', r.stderr);
    });
  }

  test('Ctrl-C stops following only: the batch keeps running, the commands to follow, pause or cancel it are printed (exit 130)', async () => {
    w.target.hold();
    const child = spawnCli(['process', 'ship', '--ids', w.ok.slice(0, 5).join(','), '--yes'], w.dir, w.env());
    await until(child, /^\[0:\d\d\] 0\/5 /m);
    child.child.kill('SIGINT');
    const r = await child.result;
    const id = idIn(r.stdout);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, new RegExp(`^stopped following; batch ${id} keeps running \\(0 of 5 items done\\)$`, 'm'));
    for (const action of ['follow', 'pause', 'cancel']) assert.match(r.stderr, new RegExp(`^ {2}${action} it: +statusflow batch ${id} --${action}$`, 'm'));
    assert.equal((await api(w.server.origin, 'GET', `/api/v1/batches/${id}`)).json.status, 'running');
    w.target.release();
    const followed = await w.cli(['batch', id, '--follow']);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /: 5 succeeded, 0 failed, 0 skipped, 0 cancelled \(5 items\)$/m);
  });

  test('on a terminal: y/N is asked (no creates nothing, exit 1), then a live bar with counts, rate and ETA', async (t) => {
    const args = ['process', 'ship', '--ids', w.ok.slice(0, 9).join(',')];
    const no = spawnCliInTerminal(args, w.dir, w.env());
    if (!no) return t.skip('util-linux `script` is not installed: no pseudo-terminal');
    const before = (await w.json(['batches'])).length;
    await until(no, /Run ship for these 9 entities\? \[y\/N\] /);
    no.type('n\r');
    const declined = await no.result;
    assert.equal(declined.code, 1, declined.stdout);
    assert.match(declined.stdout, /not confirmed: no batch created/);
    assert.equal((await w.json(['batches'])).length, before);

    const yes = spawnCliInTerminal(args, w.dir, w.env())!;
    await until(yes, /\[y\/N\] /);
    yes.type('y\r');
    const r = await yes.result;
    assert.equal(r.code, 0, r.stdout);
    // The bar is drawn in place: carriage returns and cursor codes, not one line per update.
    assert.match(r.stdout, /[█░]{24} \d+\/9 \d+% \| succeeded \d+ failed 0 skipped 0 cancelled 0 \| [\d.?]+\/s ETA \S+ \| (running|completed)/);
    assert.match(r.stdout, /█{24} 9\/9 100% \| succeeded 9 /);
    assert.ok(progressLines(r.stdout).length === 0, 'no plain progress lines on a terminal');
    assert.match(r.stdout, /batch \w+ completed in .*: 9 succeeded, 0 failed, 0 skipped, 0 cancelled \(9 items\)/);
  });
});
