/**
 * The phases of one request's session, as one tagged union, and the pure transitions between
 * them. Every public operation of `Session` is a switch on this state; nothing else about the
 * session is mutable.
 */
import type { LegacyId } from '../legacy/legacy.js';
import { endedDuring, isLive, type LifetimePolicy } from './lifetime.js';
import { newSessionId, type SessionDigest, type SessionId } from './id.js';
import type { StoredTimes, SessionDocument } from '../storage/document.js';

export type SessionState =
  /** An id made in this request: nothing can be stored under it but what this object writes. */
  | { readonly kind: 'fresh'; readonly id: SessionId; readonly cookieSent: boolean }
  /** The cookie's id, not looked up yet. */
  | { readonly kind: 'unread'; readonly id: SessionId }
  /** The cookie's id, with nothing stored under it when last looked (0.4's "cookie before data"). */
  | { readonly kind: 'absent'; readonly id: SessionId }
  /** A live stored session, as the last read or write returned it. */
  | { readonly kind: 'live'; readonly id: SessionId; readonly doc: SessionDocument }
  /** A mongosess 0.4 cookie, not looked up yet (or its look-up failed: it is tried again). */
  | { readonly kind: 'legacy'; readonly id: LegacyId }
  /**
   * A 0.4 cookie whose session another request has just moved to a fresh id, or (with connect's
   * `regenerateGrace`) the old id of a `regenerate()` used within its grace window (that
   * request's response carries the new cookie): served and written by the new document's
   * digest, and this response never touches the cookie.
   */
  | { readonly kind: 'forwarded'; readonly id: LegacyId | SessionId; readonly digest: SessionDigest; readonly doc: SessionDocument }
  /** A live 0.4 session found after the response headers were sent: served where it is. */
  | { readonly kind: 'legacyServed'; readonly id: LegacyId; readonly data: Record<string, unknown>; readonly times: StoredTimes }
  /**
   * Another request ended or moved this session while this one ran (a logout, a login's
   * regenerate()): writes are refused, and this response never touches the cookie, which the
   * other request's response has just set.
   */
  | { readonly kind: 'lost'; readonly id: SessionId | LegacyId }
  /** end() was called on this object. */
  | { readonly kind: 'ended'; readonly id: string };

export type StateKind = SessionState['kind'];

/** A new, empty session under a new id; its cookie was sent already, or goes with the first write. */
export function freshSession(cookieSent: boolean): SessionState {
  return { kind: 'fresh', id: newSessionId(), cookieSent };
}

/** What the clock and the policy say about documents read during one request. */
export interface Judge {
  readonly policy: LifetimePolicy;
  readonly now: number;
  /** When this request's session object was made. */
  readonly requestStart: number;
}

/**
 * The state a look-up of `id` leaves: live when the document is; absent when nothing is
 * stored; lost when the session was seen live by this request, or ended by another one
 * since it began; otherwise (expired, or ended before this request) a fresh session whose
 * cookie goes out with the first write, since sending it on a mere read could let a parallel
 * request overwrite a good cookie.
 */
export function afterLookup(id: SessionId, doc: SessionDocument | null, judge: Judge, seenLive: boolean): SessionState {
  if (doc && isLive(judge.policy, doc, judge.now)) return { kind: 'live', id, doc };
  if (seenLive || (doc && endedDuring(doc, judge.requestStart))) return { kind: 'lost', id };
  if (!doc) return { kind: 'absent', id };
  return freshSession(false);
}

/**
 * What a request with the old id of a `regenerate()` gets, with connect's `regenerateGrace`
 * (`grace` ms, 0 for off): `forward` to the session it moved to within the window after the move
 * (both edges included), whether the request was in flight during the move or began later;
 * `replay` when it began after the window (a stolen cookie, or a client that kept the old one).
 * Undefined when `doc` is no such tombstone, the window is off, the tombstone itself has expired
 * (nothing is known of it any more), or the request was in flight during the move and is still
 * using the old id after the window: it is no replay, but nothing after the window may reach the
 * new session through the old id (a request held open, say by a slowly sent body, would otherwise
 * stretch the window), so it is refused as without a window (`afterLookup`: lost).
 */
export function oldIdUse(
  doc: (StoredTimes & { movedTo?: SessionDigest }) | null,
  judge: Judge,
  grace: number,
): { kind: 'forward' | 'replay'; to: SessionDigest } | undefined {
  if (grace === 0 || !doc || doc.ended !== true || doc.movedTo === undefined || doc.endedAt === undefined) return undefined;
  if (doc.expiresAt === undefined || doc.expiresAt.getTime() <= judge.now) return undefined;
  if (judge.now - doc.endedAt.getTime() <= grace) return { kind: 'forward', to: doc.movedTo };
  return endedDuring(doc, judge.requestStart) ? undefined : { kind: 'replay', to: doc.movedTo };
}
