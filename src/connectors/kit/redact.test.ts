import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, REDACTED, secretForms, secretStrings } from './redact.js';
import { failureForResponse } from './failures.js';

test('secretStrings: values and the token after an auth scheme, longest first; short values are left alone', () => {
  assert.deepEqual(secretStrings(['Bearer abcdef123', 'k-9', { nested: 'xyz-12345' }]), ['Bearer abcdef123', 'abcdef123', 'xyz-12345']);
  assert.deepEqual(secretStrings([]), []);
});

test('redact replaces every occurrence in strings and keys, deep, and leaves other values alone', () => {
  const secrets = secretStrings(['Bearer abcdef123']);
  const value = { a: 'token Bearer abcdef123 and abcdef123', list: [1, true, null, 'abcdef123'], abcdef123: { deep: 'x abcdef123' } };
  assert.deepEqual(redact(value, secrets), { a: `token ${REDACTED} and ${REDACTED}`, list: [1, true, null, REDACTED], [REDACTED]: { deep: `x ${REDACTED}` } });
  assert.equal(redact(value, []), value);
  assert.equal(redact('nothing here', secrets), 'nothing here');
});

// A secret with the characters that encoders change: quote, backslash, slash, space, "+", "&", "é", an emoji, "(!)".
const SECRET = 'sk_live "q\\ / a+b&c=é😀 Z9(!)';
const TOKEN = 'tok_3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c1e';

/** The characters of base64(prefix + secret + …) that depend on the secret's bytes alone. */
function base64Part(encoded: string, prefixBytes: number, secretBytes: number): string {
  const at = (n: number, marks: number[]) => Math.floor(n / 3) * 4 + marks[n % 3]!;
  return encoded.slice(at(prefixBytes, [0, 2, 3]), at(prefixBytes + secretBytes, [0, 1, 2]));
}

/** Every way of writing `text` that redact must catch, by name: the text echoed, and the part of it that is the secret. */
function encodings(text: string): Record<string, [echoed: string, secretPart: string]> {
  const json = JSON.stringify(text).slice(1, -1);
  const b64 = Buffer.from(text).toString('base64');
  const n = Buffer.byteLength(text);
  const pure = (form: string): [string, string] => [form, form];
  const inBase64 = (prefix: string, suffix: string, url = false): [string, string] => {
    const encoded = Buffer.from(`${prefix}${text}${suffix}`).toString(url ? 'base64url' : 'base64');
    return [encoded, base64Part(encoded, Buffer.byteLength(prefix), n)];
  };
  return {
    plain: pure(text),
    json: pure(json),
    'json, slashes escaped': pure(json.replace(/\//g, '\\/')),
    'json, ASCII only': pure(json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)),
    'json, ASCII only, upper-case hex': pure(json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`)),
    'url component': pure(encodeURIComponent(text)),
    'form field': pure(new URLSearchParams({ k: text }).toString().slice(2)),
    'url, lower-case hex': pure(encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())),
    'url, RFC 3986 strict': pure(encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)),
    'whole url': pure(encodeURI(text)),
    base64: pure(b64),
    base64url: pure(b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')),
    // Inside a longer encoded text, at each of the three byte alignments (Basic auth is user:secret).
    'base64 of user:secret': inBase64('user:', ''),
    'base64 of us:secret!': inBase64('us:', '!'),
    'base64 of u:secret!!': inBase64('u:', '!!'),
    'base64url of {"k":"secret"}': inBase64('{"k":"', '"}', true),
    'json inside json': [JSON.stringify(JSON.stringify({ k: text })).slice(1, -1), JSON.stringify(json).slice(1, -1)],
  };
}

/** The longest run of any of `forms` still readable in `stored`. */
function leaked(stored: string, ...forms: string[]): number {
  let longest = 0;
  for (const form of forms) {
    for (let i = 0; i < form.length; i++) for (let j = i + longest + 1; j <= form.length; j++) if (stored.includes(form.slice(i, j))) longest = j - i;
  }
  return longest;
}

/** Every string in a JSON-like value. */
const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : typeof v === 'object' && v !== null ? Object.values(v).flatMap(strings) : []);

test('every common encoding of a secret is redacted, in a step output and in an error body', () => {
  for (const text of [SECRET, TOKEN]) {
    const secrets = secretStrings([text, `Bearer ${text}`]);
    for (const [name, [form, part]] of Object.entries(encodings(text))) {
      const output = redact({ body: { echo: `seen: ${form} (end)` }, headers: { 'x-echo': form } }, secrets);
      const error = redact({ code: 'HTTP_STATUS_400', message: `bad: ${form}`, details: { status: 400, body: `{"echo":"${form}"}` } }, secrets);
      for (const stored of [...strings(output), ...strings(error)].filter((x) => x !== 'HTTP_STATUS_400')) {
        assert.ok(stored.includes(REDACTED), `${name}: ${stored}`);
        // What may be left beside "[redacted]" is a character or two of a base64 group shared with a neighbour.
        assert.ok(leaked(stored, text, part) <= 3, `${name} leaks ${leaked(stored, text, part)} characters: ${stored}`);
      }
    }
  }
});

test('a secret cut at the end of a string (a clip, with or without "…") is redacted from 6 characters on', () => {
  const secrets = secretStrings([TOKEN, SECRET]);
  for (const cut of [31, 20, 6]) {
    const body = `${'x'.repeat(50)} key=${TOKEN.slice(0, cut)}`;
    assert.equal(redact(`${body}…`, secrets), `${'x'.repeat(50)} key=${REDACTED}…`, `cut at ${cut}`);
    assert.equal(redact(body, secrets), `${'x'.repeat(50)} key=${REDACTED}`, `cut at ${cut}, no marker`);
  }
  // A cut inside an encoded form: JSON-escaped, URL-encoded, base64 of Basic credentials, and a broken UTF-8 tail.
  const json = JSON.stringify({ auth: SECRET }).slice(0, 20);
  assert.equal(redact(`${json}…`, secrets), `{"auth":"${REDACTED}…`);
  const url = `?key=${encodeURIComponent(SECRET).slice(0, 30)}`;
  assert.equal(redact(url, secrets), `?key=${REDACTED}`);
  const basic = `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64').slice(0, 30)}\ufffd`;
  assert.ok(leaked(redact(basic, secrets), TOKEN) <= 3, redact(basic, secrets));
  // Five characters or fewer of a secret's start are ordinary text.
  assert.equal(redact(`key=${TOKEN.slice(0, 5)}`, secrets), `key=${TOKEN.slice(0, 5)}`);
});

test('ordinary text is left alone: the scheme of a header secret, words, a secret-looking start in the middle', () => {
  const secrets = secretStrings(['Bearer conn-token-123', 'hunter2-pass']);
  for (const text of ['Authorization: Bearer', 'Bearer%20', 'QmVhcmVy', 'conn-tok is not at the end', 'hunt', `A ${REDACTED.slice(1)} word`]) {
    assert.equal(redact(text, secrets), text, text);
  }
});

test('secretForms: the secret first, each form once, none shorter than 3 characters', () => {
  const forms = secretForms(TOKEN);
  assert.equal(forms[0], TOKEN);
  assert.equal(new Set(forms).size, forms.length);
  assert.ok(forms.every((f) => f.length >= 3));
  assert.ok(forms.includes(Buffer.from(TOKEN).toString('base64')));
});

test('a failure clipped before it is redacted (as the HubSpot and Dropbox errors are) keeps no 6 characters of a secret', () => {
  const secrets = secretStrings([TOKEN]);
  const cases = {
    'text cut inside the token': `${'x'.repeat(4000 - 31)}${TOKEN} more`,
    'JSON cut inside the token': { data: 'y'.repeat(4000 - 40), echo: { auth: `Bearer ${TOKEN}` } },
    'message cut inside the token': { message: `${'m'.repeat(490)}${TOKEN}` },
    'base64 of Basic credentials cut': `${'z'.repeat(3970)}Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`,
  };
  for (const [name, body] of Object.entries(cases)) {
    const stored = JSON.stringify(redact(failureForResponse(400, {}, body, 'POST https://api.example.com/x').failure, secrets));
    for (let i = 0; i + 6 <= TOKEN.length; i++) assert.equal(stored.includes(TOKEN.slice(i, i + 6)), false, `${name}: ${TOKEN.slice(i, i + 6)} kept`);
    assert.ok(leaked(stored, TOKEN) <= 5, `${name}: ${leaked(stored, TOKEN)}`);
  }
});
