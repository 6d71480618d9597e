import { createHash, randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG: far beyond guessing, per OWASP's 64-bit minimum. */
const SESSION_ID_BYTES = 32;

/** base64url of 32 bytes is exactly 43 characters, no padding. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** mongosess 0.4 used the ObjectId's 24 hex characters as the cookie value. */
const LEGACY_ID_PATTERN = /^[0-9a-f]{24}$/;

/**
 * Ids are cut from a pool of CSPRNG bytes, as Node's own crypto.randomUUID() does: one
 * randomBytes call per 128 ids instead of one per id, which is most of a new visitor's cost.
 * Bytes are zeroed once used, so no issued id lingers in the pool.
 */
const POOL_SIZE = SESSION_ID_BYTES * 128;
let pool = Buffer.alloc(0);
let offset = 0;

export function newSessionId(): string {
  if (offset + SESSION_ID_BYTES > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const end = offset + SESSION_ID_BYTES;
  const id = pool.toString('base64url', offset, end);
  pool.fill(0, offset, end);
  offset = end;
  return id;
}

export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

export function isLegacySessionId(value: unknown): value is string {
  return typeof value === 'string' && LEGACY_ID_PATTERN.test(value);
}

/**
 * What the database stores instead of the id: its SHA-256 digest. The id has 256 bits of
 * entropy, so no salt or slow hash is needed, and a leaked collection yields no usable cookie.
 */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
