import { isDeepStrictEqual } from 'node:util';
import { expiryFrom, lifetimeOf, type LifetimePolicy, type StoredTimes } from './lifetime.js';
import type { SessionCollection, SessionDocument } from './session-collection.js';
import { hashSessionId, newSessionId, type SessionDigest, type SessionId } from './session-id.js';

const noop = (): void => undefined;

/** A session as it is being moved: its dates (with the deadline already resolved) and data. */
export interface MoveSource {
  times: StoredTimes;
  deadline: Date | undefined;
  data: Record<string, unknown>;
}

/** Where a session went: its new id, and the document stored under it. */
export interface Moved {
  id: SessionId;
  doc: SessionDocument;
}

/**
 * Moves a live session to a fresh id without ever losing it (regenerate, 0.4 upgrade): the copy
 * is stored first, then `claim` (given the copy's digest) ends the old id and returns the data it held at that instant
 * (null if another request ended or moved it meanwhile: then the copy is dropped and null is
 * returned). The copy catches up if the data changed in between. If `claim` fails, the old
 * session is untouched (or its fate unknown), so the copy is dropped and the error rethrown.
 */
export async function moveToNewId(
  sessions: SessionCollection,
  policy: LifetimePolicy,
  now: number,
  source: MoveSource,
  claim: (newDigest: SessionDigest) => Promise<Record<string, unknown> | null>,
): Promise<Moved | null> {
  const id = newSessionId();
  const { times, deadline, data } = source;
  const doc: SessionDocument = {
    _id: hashSessionId(id),
    d: data,
    createdAt: times.createdAt ?? new Date(now),
    expiresAt: policy.rolling || !times.expiresAt ? expiryFrom(policy, now, deadline, lifetimeOf(policy, times)) : times.expiresAt,
    ...(deadline ? { deadline } : {}),
    ...(times.lifetime !== undefined ? { lifetime: times.lifetime } : {}),
    ...(times.browserSession ? { browserSession: true as const } : {}),
  };
  await sessions.insert(doc);
  let latest: Record<string, unknown> | null;
  try {
    latest = await claim(doc._id);
  } catch (err) {
    await sessions.discard(doc._id).catch(noop);
    throw err;
  }
  if (latest === null) {
    await sessions.discard(doc._id);
    return null;
  }
  if (!isDeepStrictEqual(latest, data)) {
    await sessions.replaceData(doc._id, latest);
    doc.d = latest;
  }
  return { id, doc };
}
