import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSecretKey, keyFingerprint, loadOrCreateKeyFile, SecretBox, SecretKeyFileError, SecretsUnreadableError } from './secrets.js';

const KEY = randomBytes(32);

test('seal/open round trip; every seal uses a new IV; the blob is v1:<iv>:<tag>:<ciphertext> and holds no plaintext', () => {
  const box = new SecretBox(KEY);
  const plain = JSON.stringify({ accessToken: 'pat-na1-very-secret-token' });
  const a = box.seal(plain, 'connection:org/hub');
  const b = box.seal(plain, 'connection:org/hub');
  assert.notEqual(a, b);
  const parts = a.split(':');
  assert.equal(parts.length, 4);
  assert.equal(parts[0], 'v1');
  assert.equal(Buffer.from(parts[1]!, 'base64url').length, 12);
  assert.equal(Buffer.from(parts[2]!, 'base64url').length, 16);
  for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]+$/);
  assert.ok(!a.includes('very-secret'));
  assert.equal(box.open(a, 'connection:org/hub'), plain);
  assert.equal(box.open(b, 'connection:org/hub'), plain);
});

test('a blob does not open with another key, in another row (context), or tampered with', () => {
  const box = new SecretBox(KEY);
  const blob = box.seal('{"a":"b"}', 'connection:org/hub');
  assert.throws(() => new SecretBox(randomBytes(32)).open(blob, 'connection:org/hub'), SecretsUnreadableError);
  assert.throws(() => box.open(blob, 'connection:other/hub'), SecretsUnreadableError);
  const [v, iv, tag, ct] = blob.split(':') as [string, string, string, string];
  const flipped = Buffer.from(ct, 'base64url');
  flipped[0]! ^= 1;
  assert.throws(() => box.open([v, iv, tag, flipped.toString('base64url')].join(':'), 'connection:org/hub'), SecretsUnreadableError);
  assert.throws(() => box.open(`v2:${iv}:${tag}:${ct}`, 'connection:org/hub'), /format/);
  assert.throws(() => box.open('garbage', 'connection:org/hub'), SecretsUnreadableError);
});

test('rotation: earlier keys still open old blobs, which are flagged for re-sealing', () => {
  const old = new SecretBox(KEY);
  const blob = old.seal('x-secret', 'c');
  const rotated = new SecretBox(randomBytes(32), [KEY]);
  assert.equal(rotated.open(blob, 'c'), 'x-secret');
  assert.equal(rotated.needsReseal(blob, 'c'), true);
  assert.equal(rotated.needsReseal(rotated.seal('x-secret', 'c'), 'c'), false);
  assert.notEqual(rotated.fingerprint, old.fingerprint);
  assert.equal(old.fingerprint, keyFingerprint(KEY));
});

test('keys are read from 64 hex characters or base64/base64url of 32 bytes, nothing else', () => {
  assert.deepEqual(decodeSecretKey(KEY.toString('hex')), KEY);
  assert.deepEqual(decodeSecretKey(` ${KEY.toString('hex').toUpperCase()}\n`), KEY);
  assert.deepEqual(decodeSecretKey(KEY.toString('base64')), KEY);
  assert.deepEqual(decodeSecretKey(KEY.toString('base64url')), KEY);
  for (const bad of ['', 'short', KEY.toString('hex').slice(2), randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), 'z'.repeat(64)]) {
    assert.equal(decodeSecretKey(bad), undefined, bad);
  }
});

test('the key file is created once with mode 0600, then read; a file others may read is refused', { skip: process.platform === 'win32' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-key-'));
  try {
    const path = join(dir, 'secret.key');
    const first = loadOrCreateKeyFile(path);
    assert.equal(first.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(readFileSync(path, 'utf8'), /^[0-9a-f]{64}\n$/);
    const again = loadOrCreateKeyFile(path);
    assert.equal(again.created, false);
    assert.deepEqual(again.key, first.key);

    chmodSync(path, 0o644);
    assert.throws(() => loadOrCreateKeyFile(path), (err: unknown) => err instanceof SecretKeyFileError && /chmod 600/.test(err.message) && /0644/.test(err.message));
    chmodSync(path, 0o600);
    writeFileSync(path, 'not a key\n');
    assert.throws(() => loadOrCreateKeyFile(path), /does not hold a key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
