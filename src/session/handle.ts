/**
 * Session handles: how `listSessions` names a session so that one device can be ended
 * (`endSession(handle)`) without the handle being worth anything as a cookie.
 *
 * A handle is a digest of the stored digest (itself the SHA-256 of the session id), under its
 * own domain tag, stored on the session document as `h` (written with the document, at no extra
 * write) and indexed. So:
 * - it is not a cookie: a cookie carries the id, and the handle is two preimages away from it;
 *   its `msh1.` prefix also fails the id format, so a handle sent as a cookie starts a new
 *   session without even a database look-up;
 * - it cannot be forged to reach another session: the only way to get a session's handle is to
 *   be shown it (by `listSessions`) or to hold its digest; it is 256 bits, and a changed handle
 *   matches nothing;
 * - it survives restarts and works across processes, with no secret to share or rotate.
 * Anyone shown a handle can end that session, so `endSession(handle, filter)` takes the filter
 * that scopes it to the caller's user (see the README's "Device sessions").
 */
import { createHash } from 'node:crypto';
import type { SessionDigest } from './id.js';

/** An opaque name of one stored session. Only this module makes one. */
export type SessionHandle = string & {
  /** Compile-time only: a plain string is not a handle. */
  readonly __brand: 'SessionHandle';
};

/** The field of the session document that holds its handle. */
export const HANDLE_FIELD = 'h';

const PREFIX = 'msh1.';
/** Domain separation: this digest of a digest is never the same as any other use of SHA-256 here. */
const DOMAIN = 'mongosess session handle\0';
const HANDLE_PATTERN = /^msh1\.[A-Za-z0-9_-]{43}$/;

/** The handle of the session stored under `digest`. */
export function handleOf(digest: SessionDigest): SessionHandle {
  return (PREFIX + createHash('sha256').update(DOMAIN).update(digest).digest('base64url')) as SessionHandle;
}

/** Whether `value` has the form of a handle (`msh1.` and a SHA-256 in base64url); it need not name a live session. */
export function isSessionHandle(value: unknown): value is SessionHandle {
  return typeof value === 'string' && HANDLE_PATTERN.test(value);
}
