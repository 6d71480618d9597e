/**
 * When a session lives and dies: pure functions of the lifetime policy and the clock's `now`
 * (ms since the epoch). The database filter that finds live sessions derives from the same
 * rule as the check made on a document read, so reads, writes and counts always agree.
 */
import type { StoredTimes } from '../storage/document.js';

/** The lifetime settings of `connect()`, resolved. */
export interface LifetimePolicy {
  /** How long a session lives, in ms: from creation, or from last use with `rolling`. */
  readonly expires: number;
  readonly rolling: boolean;
  /** With `rolling`: extend only when that gains more than this many ms. */
  readonly touchAfter: number;
  /** A cap on a session's life from its creation; 0 for none. */
  readonly absoluteTimeout: number;
}

/**
 * How long a tombstone of an id that never held data is kept: long enough to turn away a
 * request that was already in flight, short enough that anonymous clients cannot fill the
 * collection with long-lived tombstones.
 */
export const SHORT_TOMBSTONE_MS = 5 * 60 * 1000;

/**
 * A session's absolute deadline: the stored one (from its creation) or the one the current
 * `absoluteTimeout` gives from `createdAt`, whichever comes first, so that lowering
 * `absoluteTimeout` also shortens sessions created before.
 */
export function deadlineOf(policy: LifetimePolicy, doc: StoredTimes): Date | undefined {
  const derived = policy.absoluteTimeout > 0 && doc.createdAt ? doc.createdAt.getTime() + policy.absoluteTimeout : Infinity;
  const stored = doc.deadline?.getTime() ?? Infinity;
  const first = Math.min(derived, stored);
  return first === Infinity ? undefined : new Date(first);
}

/** Whether a document is a session to serve at `now`: not a tombstone, not expired, within its deadline. */
export function isLive(policy: LifetimePolicy, doc: StoredTimes, now: number): boolean {
  if (doc.ended === true || doc.expiresAt === undefined || doc.expiresAt.getTime() <= now) return false;
  const deadline = deadlineOf(policy, doc);
  return deadline === undefined || deadline.getTime() > now;
}

/**
 * The query that matches exactly the documents `isLive` accepts: not ended, not expired, and
 * within both deadlines (the stored one, and the one the current `absoluteTimeout` gives).
 * Only a rolling write with no `absoluteTimeout` can move `expiresAt` past a stored deadline
 * (one stored while a cap was configured); elsewhere `expiresAt` never passes it, so the clause
 * is left out and the filter stays as small as the common case allows.
 */
export function liveFilter(policy: LifetimePolicy, now: number): Record<string, unknown> {
  const at = new Date(now);
  const filter: Record<string, unknown> = { ended: { $ne: true }, expiresAt: { $gt: at } };
  if (policy.absoluteTimeout > 0) {
    filter['$or'] = [{ createdAt: { $gt: new Date(now - policy.absoluteTimeout) } }, { createdAt: { $exists: false } }];
  } else if (policy.rolling) {
    filter['$or'] = [{ deadline: { $exists: false } }, { deadline: { $gt: at } }];
  }
  return filter;
}

/** How long a session lives (from creation, or from each use with `rolling`): its own lifetime, or the policy's. */
export function lifetimeOf(policy: LifetimePolicy, doc: StoredTimes | undefined): number {
  return doc?.lifetime ?? policy.expires;
}

/** When a session touched at `now` expires: its lifetime later, never past its deadline. */
export function expiryFrom(policy: LifetimePolicy, now: number, deadline: Date | undefined, lifetime = policy.expires): Date {
  const sliding = now + lifetime;
  return new Date(deadline ? Math.min(sliding, deadline.getTime()) : sliding);
}

/** The deadline a session created at `now` gets, if `absoluteTimeout` is set. */
export function deadlineFrom(policy: LifetimePolicy, now: number): Date | undefined {
  return policy.absoluteTimeout > 0 ? new Date(now + policy.absoluteTimeout) : undefined;
}

/** The dates a session created at `now` is stored with. */
export function creationTimes(policy: LifetimePolicy, now: number): Required<Pick<StoredTimes, 'createdAt' | 'expiresAt'>> & StoredTimes {
  const deadline = deadlineFrom(policy, now);
  return { createdAt: new Date(now), expiresAt: expiryFrom(policy, now, deadline), ...(deadline ? { deadline } : {}) };
}

/**
 * The expiry a write to a rolling session sets, when it can be known without a read (the
 * session's dates are `known`); undefined leaves the expiry as it is (or as creation sets it).
 */
export function rollingExpiry(policy: LifetimePolicy, now: number, known: StoredTimes | undefined): Date | undefined {
  if (!policy.rolling || (policy.absoluteTimeout > 0 && !known)) return undefined;
  return expiryFrom(policy, now, known ? deadlineOf(policy, known) : undefined, lifetimeOf(policy, known));
}

/**
 * Rolling sessions: the expiry a read at `now` should extend a live session to, or undefined
 * when that would gain no more than `touchAfter`.
 */
export function touchTarget(policy: LifetimePolicy, doc: StoredTimes, now: number): Date | undefined {
  if (!policy.rolling) return undefined;
  const target = expiryFrom(policy, now, deadlineOf(policy, doc), lifetimeOf(policy, doc));
  const current = doc.expiresAt?.getTime() ?? 0;
  return target.getTime() - current > policy.touchAfter ? target : undefined;
}

/**
 * How long the tombstone of an ended session is kept: one lifetime when it held data (a slow
 * request with the old cookie must never write it back), a few minutes when it never did.
 */
export function tombstoneExpiry(policy: LifetimePolicy, now: number, heldData: boolean): Date {
  return new Date(now + (heldData ? policy.expires : Math.min(policy.expires, SHORT_TOMBSTONE_MS)));
}

/** The dates of a tombstone that replaces a session ended at `now` (see tombstoneExpiry). */
export function tombstoneTimes(policy: LifetimePolicy, now: number, heldData: boolean): { ended: true; endedAt: Date; expiresAt: Date } {
  return { ended: true, endedAt: new Date(now), expiresAt: tombstoneExpiry(policy, now, heldData) };
}

/**
 * Whether a dead session was ended by another request while this one ran (started at
 * `requestStart`): then this request must not start over or send a cookie, as that would
 * undo a logout or replace a login's new cookie. Expired and long-ended sessions are stale.
 */
export function endedDuring(doc: StoredTimes, requestStart: number): boolean {
  return doc.ended === true && doc.endedAt !== undefined && doc.endedAt.getTime() > requestStart;
}

/**
 * How long after a move (a 0.4 session's upgrade, a regenerate()) the old id still reaches the
 * session it became, for what must follow it: requests a browser sent in parallel with the one
 * that moved it arrive still carrying the old cookie.
 */
export const MOVE_GRACE_MS = 10_000;

/**
 * Whether a moved session's tombstone still leads on: moved during this request, or within
 * `grace` ms (MOVE_GRACE_MS, or connect's `regenerateGrace`) of the move, both edges included.
 */
export function movedRecently(doc: StoredTimes, now: number, requestStart: number, grace = MOVE_GRACE_MS): boolean {
  return endedDuring(doc, requestStart) || (doc.endedAt !== undefined && now - doc.endedAt.getTime() <= grace);
}
