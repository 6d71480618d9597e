import { isDeepStrictEqual } from 'node:util';
import { expiryFrom, lifetimeOf, type LifetimePolicy } from './lifetime.js';
import type { SessionCollection } from '../storage/collection.js';
import { hashSessionId, newSessionId, type SessionDigest, type SessionId } from './id.js';
import type { StoredTimes, SessionDocument, DeviceTimes } from '../storage/document.js';

const noop = (): void => undefined;

/** A session as it is being moved: its dates (with the deadline already resolved) and data. */
export interface MoveSource {
  times: StoredTimes & DeviceTimes;
  deadline: Date | undefined;
  data: Record<string, unknown>;
  /** Changes the data as it moves (`regenerate({ set })`): applied to the copy, and again if it catches up. */
  change?: (data: Record<string, unknown>) => Record<string, unknown>;
}

/** Where a session went: its new id, and the document stored under it. */
export interface Moved {
  id: SessionId;
  doc: SessionDocument;
}

/**
 * The write that ends the old id of a move, and how to find out afterwards whether it landed.
 * `run` (given the copy's digest) ends the old id and returns the data it held at that instant,
 * or null if another request ended or moved it meanwhile. `landed` is asked only after `run`
 * failed (a timeout, a lost connection, a `w: 'majority'` write under replication lag): it reads
 * the old id again, outside the request's time budget, and says whether `run`'s write is there.
 */
export interface Claim {
  run(newDigest: SessionDigest): Promise<Record<string, unknown> | null>;
  landed(newDigest: SessionDigest): Promise<boolean>;
}

/**
 * Moves a live session to a fresh id without ever losing it (regenerate, 0.4 upgrade): the copy
 * is stored first, then the claim ends the old id. If the claim lost (null), the copy is dropped
 * and null is returned; the copy catches up if the data changed in between. If the claim failed,
 * its fate is resolved: landed, the copy is the session now and the move succeeded (with the data
 * as read); not landed, the copy is dropped and the error rethrown; unknown (the re-read failed
 * too), the copy is kept, as it may be the only one left, and the error rethrown.
 */
export async function moveToNewId(
  sessions: SessionCollection,
  policy: LifetimePolicy,
  now: number,
  source: MoveSource,
  claim: Claim,
): Promise<Moved | null> {
  const id = newSessionId();
  const { times, deadline, data, change = (same) => same } = source;
  const doc: SessionDocument = {
    _id: hashSessionId(id),
    d: change(data),
    createdAt: times.createdAt ?? new Date(now),
    expiresAt: policy.rolling || !times.expiresAt ? expiryFrom(policy, now, deadline, lifetimeOf(policy, times)) : times.expiresAt,
    ...(deadline ? { deadline } : {}),
    ...(times.lifetime !== undefined ? { lifetime: times.lifetime } : {}),
    // The same device: where it was created from stays with it; it was seen now.
    ...(times.client ? { client: times.client } : {}),
    seenAt: new Date(now),
    ...(times.browserSession ? { browserSession: true as const } : {}),
  };
  await sessions.insert(doc);
  let latest: Record<string, unknown> | null;
  try {
    latest = await claim.run(doc._id);
  } catch (err) {
    const landed = await claim.landed(doc._id).catch(() => undefined);
    if (landed === true) return { id, doc };
    if (landed === false) await sessions.discard(doc._id).catch(noop);
    throw err;
  }
  if (latest === null) {
    await sessions.discard(doc._id);
    return null;
  }
  if (!isDeepStrictEqual(latest, data)) {
    const caughtUp = change(latest);
    // The old id is ended already: should the catch-up fail, the copy as read is still the session.
    await sessions.replaceData(doc._id, caughtUp).then(() => {
      doc.d = caughtUp;
    }, noop);
  }
  return { id, doc };
}
