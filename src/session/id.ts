import { createHash, randomBytes } from 'node:crypto';

/** A session id as the cookie carries it: 43 base64url characters. Only this module makes one. */
export type SessionId = string & { readonly __brand: 'SessionId' };

/**
 * What the database stores instead of the id. Only `hashSessionId` makes one, so handing a raw
 * id to storage is a compile error: the at-rest hashing rests on the type checker.
 */
export type SessionDigest = string & { readonly __brand: 'SessionDigest' };

/** 256 bits from the CSPRNG: far beyond guessing, per OWASP's 64-bit minimum. */
const SESSION_ID_BYTES = 32;

/** base64url of 32 bytes is exactly 43 characters, no padding. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Ids are cut from a pool of CSPRNG bytes, as Node's own crypto.randomUUID() does: one
 * randomBytes call per 128 ids instead of one per id, which is most of a new visitor's cost.
 * Bytes are zeroed once used, so no issued id lingers in the pool.
 */
const POOL_SIZE = SESSION_ID_BYTES * 128;
let pool = Buffer.alloc(0);
let offset = 0;

export function newSessionId(): SessionId {
  if (offset + SESSION_ID_BYTES > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const end = offset + SESSION_ID_BYTES;
  const id = pool.toString('base64url', offset, end);
  pool.fill(0, offset, end);
  offset = end;
  return id as SessionId;
}

export function isSessionId(value: unknown): value is SessionId {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

/**
 * The database's name for a session: the SHA-256 digest of its id. The id has 256 bits of
 * entropy, so no salt or slow hash is needed, and a leaked collection yields no usable cookie.
 */
export function hashSessionId(id: SessionId): SessionDigest {
  return createHash('sha256').update(id).digest('base64url') as SessionDigest;
}
