/**
 * Identifiers: time-ordered, URL-safe, 26 characters (ULID layout: 48-bit milliseconds + 80 random bits,
 * Crockford base32). Ids made by one process are strictly increasing, so "newest first" can page by id.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** Random bytes are drawn from the OS in blocks (one call per 409 new milliseconds rather than one per id). */
const POOL = new Uint8Array(4096);
let poolAt = POOL.length;
let lastTime = -1;
/** The random part of the last id, big-endian. */
const lastRandom = new Uint8Array(10);

function fillRandom(): void {
  if (poolAt + 10 > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  lastRandom.set(POOL.subarray(poolAt, poolAt + 10));
  poolAt += 10;
  lastRandom[0]! &= 0x7f; // leave room to increment within one millisecond
}

/** Adds one to the random part, in place. */
function increment(): void {
  for (let i = lastRandom.length - 1; i >= 0; i--) {
    if (lastRandom[i]! < 255) {
      lastRandom[i]! += 1;
      return;
    }
    lastRandom[i] = 0;
  }
}

const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const chars: number[] = new Array<number>(26).fill(0);

/** Writes the 4 base32 characters of a 20-bit number at `at`. */
function put20(at: number, n: number): void {
  chars[at] = CODES[(n >>> 15) & 31]!;
  chars[at + 1] = CODES[(n >>> 10) & 31]!;
  chars[at + 2] = CODES[(n >>> 5) & 31]!;
  chars[at + 3] = CODES[n & 31]!;
}

/** Writes the 8 base32 characters of 5 bytes (40 bits) of `bytes` from `from`, at `at`. */
function put40(at: number, bytes: Uint8Array, from: number): void {
  const b2 = bytes[from + 2]!;
  put20(at, (bytes[from]! << 12) | (bytes[from + 1]! << 4) | (b2 >>> 4));
  put20(at + 4, ((b2 & 15) << 16) | (bytes[from + 3]! << 8) | bytes[from + 4]!);
}

function encode(time: number, random: Uint8Array): string {
  // 48-bit time → 10 characters (the top 8 bits, 2 characters, then 40 bits); 80 random bits → 16 characters.
  const high = Math.floor(time / 2 ** 40);
  const low = time - high * 2 ** 40;
  chars[0] = CODES[(high >>> 5) & 31]!;
  chars[1] = CODES[high & 31]!;
  const lowHigh = Math.floor(low / 2 ** 20);
  put20(2, lowHigh);
  put20(6, low - lowHigh * 2 ** 20);
  put40(10, random, 0);
  put40(18, random, 5);
  return String.fromCharCode(...chars);
}

/** A new id, greater than every id this process made before. */
export function newId(now: number = Date.now()): string {
  if (now <= lastTime) {
    increment();
    return encode(lastTime, lastRandom);
  }
  lastTime = now;
  fillRandom();
  return encode(now, lastRandom);
}

/** The smallest id of millisecond `time`: every id made earlier sorts before it (used to find rows by age). */
export function idFloor(time: number): string {
  return encode(Math.max(0, Math.floor(time)), new Uint8Array(10));
}

/** True when `s` has the shape of an id made by newId (used to answer 404 early for junk ids). */
export function looksLikeId(s: string): boolean {
  return /^[0-9a-hjkmnp-tv-z]{26}$/.test(s);
}
