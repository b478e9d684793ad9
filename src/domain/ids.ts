/**
 * Identifiers: time-ordered, URL-safe, 26 characters (ULID layout: 48-bit milliseconds + 80 random bits,
 * Crockford base32). Ids made by one process are strictly increasing, so "newest first" can page by id.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
let lastTime = -1;
let lastRandom: Uint8Array = new Uint8Array(10);

function encode(time: number, random: Uint8Array): string {
  let out = '';
  let t = time;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  // 80 random bits → 16 base32 characters, 5 bits at a time.
  let bits = 0;
  let value = 0;
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = Uint8Array.from(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 255) {
      next[i]! += 1;
      return next;
    }
    next[i] = 0;
  }
  return next;
}

/** A new id, greater than every id this process made before. */
export function newId(now: number = Date.now()): string {
  if (now <= lastTime) {
    lastRandom = increment(lastRandom);
    return encode(lastTime, lastRandom);
  }
  lastTime = now;
  lastRandom = new Uint8Array(randomBytes(10));
  lastRandom[0]! &= 0x7f; // leave room to increment within one millisecond
  return encode(now, lastRandom);
}

/** True when `s` has the shape of an id made by newId (used to answer 404 early for junk ids). */
export function looksLikeId(s: string): boolean {
  return /^[0-9a-hjkmnp-tv-z]{26}$/.test(s);
}
