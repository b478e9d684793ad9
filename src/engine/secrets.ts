/**
 * Connection secrets at rest: AES-256-GCM with a random 12-byte IV per encryption, sealed into a
 * versioned text blob `v1:<iv>:<tag>:<ciphertext>` (base64url parts). The additional authenticated
 * data binds a blob to its (organization, connection key), so a blob copied into another row does
 * not open. The key comes from STATUSFLOW_SECRET_KEY or from `<dataDir>/secret.key` (created once,
 * mode 0600); it is never logged. Earlier keys may be given for rotation (see docs/connections.md).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/** A secret key from its text: 64 hex characters, or base64/base64url of 32 bytes. Undefined when it is neither. */
export function decodeSecretKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === KEY_BYTES) return bytes;
  }
  return undefined;
}

/** Short, non-secret name of a key (first 8 hex of its SHA-256) so operators can tell keys apart. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** The fixed label whose HMAC under a key is recorded in the database (keyCheck). */
const KEY_CHECK_LABEL = 'statusflow secret key check v1';

/**
 * What the database records of the key (migration 004): HMAC-SHA256 of a fixed label under the key.
 * Tells whether two processes have the same key; the key cannot be recovered from it.
 */
export function keyCheck(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_CHECK_LABEL).digest('hex');
}

/** The secrets blob could not be opened: wrong key, or the row was tampered with. */
export class SecretsUnreadableError extends Error {
  override name = 'SecretsUnreadableError';
}

/** Seals and opens secrets with the current key; opens with earlier keys too (rotation). */
export class SecretBox {
  readonly #key: Buffer;
  readonly #previous: readonly Buffer[];

  constructor(key: Buffer, previous: readonly Buffer[] = []) {
    if (key.length !== KEY_BYTES || previous.some((k) => k.length !== KEY_BYTES)) throw new Error('secret keys must be 32 bytes');
    this.#key = Buffer.from(key);
    this.#previous = previous.map((k) => Buffer.from(k));
  }

  /** A box with a random key that lives as long as this process (tests; never for stored data). */
  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(KEY_BYTES));
  }

  /** Fingerprint of the current key. */
  get fingerprint(): string {
    return keyFingerprint(this.#key);
  }

  /** keyCheck of the current key and of the earlier ones, in the order given. */
  get checks(): { current: string; previous: string[] } {
    return { current: keyCheck(this.#key), previous: this.#previous.map(keyCheck) };
  }

  /** Encrypts `plaintext`, bound to `context` (e.g. "<org>/<connection>"). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join(':');
  }

  /** Decrypts a blob made by `seal` with the same context; throws SecretsUnreadableError otherwise. */
  open(blob: string, context: string): string {
    return this.#open(blob, context).plaintext;
  }

  /** True when the blob was sealed with an earlier key (re-seal it with the current one). */
  needsReseal(blob: string, context: string): boolean {
    return this.#open(blob, context).keyIndex > 0;
  }

  #open(blob: string, context: string): { plaintext: string; keyIndex: number } {
    const parts = blob.split(':');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretsUnreadableError('the stored secrets are not in a format this version knows');
    const [iv, tag, ciphertext] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretsUnreadableError('the stored secrets are damaged');
    const keys = [this.#key, ...this.#previous];
    for (let i = 0; i < keys.length; i++) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', keys[i]!, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
        return { plaintext, keyIndex: i };
      } catch {
        // wrong key (or tampered data): try the next key
      }
    }
    throw new SecretsUnreadableError(
      'the stored secrets do not open with the configured secret key (was STATUSFLOW_SECRET_KEY or secret.key changed, or is it different on this machine?)',
    );
  }
}

/** Problems with the key file are configuration errors: the message says what to do. */
export class SecretKeyFileError extends Error {
  override name = 'SecretKeyFileError';
}

/**
 * The key kept in `path`: read when the file exists, else generated and written with mode 0600. A file
 * that other users may read or write is refused (set STATUSFLOW_SECRET_KEY instead, or chmod 600 it).
 */
export function loadOrCreateKeyFile(path: string): { key: Buffer; created: boolean } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SecretKeyFileError(`cannot read the secret key file ${path}: ${(err as Error).message}`);
    const key = randomBytes(KEY_BYTES);
    // Written whole to a private temporary file, then linked into place: a process starting at the same
    // moment either finds no file or a complete one, and when it made its own first, we use theirs.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(tmp, 0o600);
      linkSync(tmp, path);
      return { key, created: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateKeyFile(path);
      throw new SecretKeyFileError(`cannot create the secret key file ${path}: ${(e as Error).message}`);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SecretKeyFileError(
        `the secret key file ${path} may be read or written by other users (mode ${mode.toString(8).padStart(4, '0')}); run "chmod 600 ${path}" or set STATUSFLOW_SECRET_KEY`,
      );
    }
  }
  const key = decodeSecretKey(text);
  if (!key) throw new SecretKeyFileError(`the secret key file ${path} does not hold a key (64 hex characters or base64 of 32 bytes)`);
  return { key, created: false };
}
