import { createHash, randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG: far beyond guessing, per OWASP's 64-bit minimum. */
const SESSION_ID_BYTES = 32;

/** base64url of 32 bytes is exactly 43 characters, no padding. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** mongosess 0.4 used the ObjectId's 24 hex characters as the cookie value. */
const LEGACY_ID_PATTERN = /^[0-9a-f]{24}$/;

export function newSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
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
