/**
 * Everything about sessions written by mongosess 0.4, in one place so that it can one day be
 * deleted whole: their ids (ObjectIds, guessable from one's own), their documents (data at the
 * top level, no `expiresAt`), their move to a fresh random id on first use, their TTL index on
 * `createdAt`, and the clause that lets "log out everywhere" reach them.
 */
import { ObjectId, type Collection, type Filter, type IndexDescriptionInfo } from 'mongodb';
import { isServerError } from './driver-objects.js';
import { databaseError, warning } from './errors.js';
import { deadlineOf, endedDuring, isLive, tombstoneTimes, type LifetimePolicy, type StoredTimes } from './lifetime.js';
import { attempt, type SessionCollection, type SessionDocument, type SessionSummary } from './session-collection.js';
import type { SessionDigest } from './session-id.js';
import type { TimeBudget } from './time-budget.js';
import { moveToNewId, type Moved } from './session-move.js';

/** mongosess 0.4 used the ObjectId's 24 hex characters as the cookie value. */
const LEGACY_ID_PATTERN = /^[0-9a-f]{24}$/;

/**
 * How long after a move the 0.4 cookie still reaches the session it became: requests a browser
 * sent in parallel with the one that moved it arrive still carrying the 0.4 cookie.
 */
export const MOVE_GRACE_MS = 10_000;

/** dropIndex of an index that is not there (any more). */
const INDEX_NOT_FOUND = 27;

/** A mongosess 0.4 cookie value: the 24 hex characters of the document's ObjectId. */
export type LegacyId = string & { readonly __brand: 'LegacyId' };

/**
 * A session document as mongosess 0.4 wrote it: the data at the top level. Once moved, it is
 * a tombstone that says where the session went (`movedTo`, the new document's digest), so that
 * parallel requests with the same 0.4 cookie find the one session it became.
 */
export interface LegacyDocument extends StoredTimes {
  _id: ObjectId;
  movedTo?: SessionDigest;
  [key: string]: unknown;
}

export function isLegacySessionId(value: unknown): value is LegacyId {
  return typeof value === 'string' && LEGACY_ID_PATTERN.test(value);
}

/** 0.4 kept the data at the top level of the document. */
export function legacyData(doc: LegacyDocument): Record<string, unknown> {
  // Rest syntax copies own properties as own properties, a stored `__proto__` key included
  // (an assignment loop would set the prototype instead).
  const { _id, createdAt, expiresAt, deadline, ended, endedAt, movedTo, lifetime, ...data } = doc;
  return data;
}

/** A 0.4 document's dates as 1.x keeps them: 0.4 expired sessions `expires` after `createdAt`. */
export function legacyTimes(policy: LifetimePolicy, doc: LegacyDocument, now: number): StoredTimes {
  const createdAt = doc.createdAt ?? new Date(now);
  return {
    createdAt,
    expiresAt: doc.expiresAt ?? new Date(createdAt.getTime() + policy.expires),
    ...(doc.ended ? { ended: true } : {}),
  };
}

/** What the first use of a 0.4 cookie found. */
export type LegacyOutcome =
  /** No live 0.4 session: the request goes on with a fresh one. */
  | { kind: 'gone' }
  /** Live, but the response headers are out, so no new cookie could be sent: served in place. */
  | { kind: 'served'; data: Record<string, unknown>; times: StoredTimes }
  /** Moved to a fresh id (its cookie is the caller's to send). */
  | { kind: 'moved'; moved: Moved }
  /**
   * Another request moved it (its response carries the new cookie): the session it became,
   * known here only by its digest.
   */
  | { kind: 'forwarded'; digest: SessionDigest; doc: SessionDocument };

/** The 0.4 documents of the sessions collection. */
export class LegacySessions {
  readonly #collection: Collection<LegacyDocument>;
  readonly #policy: LifetimePolicy;
  readonly #budget: TimeBudget | undefined;

  constructor(collection: Collection<LegacyDocument>, policy: LifetimePolicy, budget?: TimeBudget) {
    this.#collection = collection;
    this.#policy = policy;
    this.#budget = budget;
  }

  /** The same documents, with every call bounded by what is left of one request's `budget`. */
  within(budget: TimeBudget): LegacySessions {
    return new LegacySessions(this.#collection, this.#policy, budget);
  }

  /** A database call, bounded by what is left of the request's budget, if any. */
  #attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return this.#budget ? this.#budget.run(() => attempt(operation, run)) : attempt(operation, run);
  }

  /**
   * Finds the 0.4 session and, when `canMove`, moves it to a fresh id. The claim of the old
   * document (one findOneAndReplace of a live document by the forwarding tombstone) is atomic:
   * of several requests with one 0.4 cookie one wins, and the others (those that began before
   * the move finished, or within MOVE_GRACE_MS after it) are forwarded to the session it became,
   * so they converge on one. Later, the guessable 0.4 id is dead.
   */
  async upgrade(sessions: SessionCollection, id: LegacyId, now: number, requestStart: number, canMove: boolean): Promise<LegacyOutcome> {
    const _id = new ObjectId(id);
    const found = await this.#attempt('reading the session', () => this.#collection.findOne({ _id }));
    if (!found) return { kind: 'gone' };
    if (found.movedTo)
      return recentlyMoved(found, now, requestStart) ? forward(sessions, this.#policy, found.movedTo, now) : { kind: 'gone' };
    const times = legacyTimes(this.#policy, found, now);
    if (!isLive(this.#policy, times, now)) return { kind: 'gone' };
    const data = legacyData(found);
    if (!canMove) return { kind: 'served', data, times };
    let movedBy: SessionDigest | undefined;
    const source = { times, deadline: deadlineOf(this.#policy, times), data };
    const moved = await moveToNewId(sessions, this.#policy, now, source, async (newDigest) => {
      const marker = { ...tombstoneTimes(this.#policy, now, true), movedTo: newDigest };
      const claimed = await this.#attempt('moving the session', () =>
        this.#collection.findOneAndReplace({ _id, ended: { $ne: true } }, marker, { returnDocument: 'before' }),
      );
      if (claimed && isLive(this.#policy, legacyTimes(this.#policy, claimed, now), now)) return legacyData(claimed);
      // Lost the race: ended (an end() always wins), or moved by another request.
      movedBy = (await this.#attempt('reading the session', () => this.#collection.findOne({ _id })))?.movedTo;
      return null;
    });
    if (moved) return { kind: 'moved', moved };
    return movedBy ? forward(sessions, this.#policy, movedBy, now) : { kind: 'gone' };
  }

  /**
   * Ends a 0.4 session: its document becomes a tombstone, and if it was moved during this request
   * or within the grace, the session it became is ended too, so that an end() racing the move
   * always wins.
   */
  async end(sessions: SessionCollection, id: LegacyId, now: number, requestStart: number): Promise<void> {
    const tombstone = tombstoneTimes(this.#policy, now, true);
    const before = await this.#attempt('ending the session', () =>
      this.#collection.findOneAndReplace({ _id: new ObjectId(id) }, tombstone, { returnDocument: 'before' }),
    );
    // Only within the grace: later the 0.4 id is dead, and a guessed one must not log anyone out.
    if (before?.movedTo && recentlyMoved(before, now, requestStart)) await sessions.end(before.movedTo, tombstone);
  }

  /** Ends every live 0.4 session matching a query built by `query()`; returns how many. */
  async endAll(query: Filter<LegacyDocument>): Promise<number> {
    const result = await this.#attempt('ending sessions', () => this.#collection.deleteMany(query));
    return result.deletedCount;
  }

  count(query: Filter<LegacyDocument>): Promise<number> {
    return this.#attempt('counting sessions', () => this.#collection.countDocuments(query));
  }

  async list(query: Filter<LegacyDocument>, limit: number, now: number): Promise<SessionSummary[]> {
    const docs = await this.#attempt('listing sessions', () =>
      this.#collection.find(query, { projection: { _id: 0 }, limit, sort: { createdAt: 1 } }).toArray(),
    );
    return docs.map((doc) => {
      const times = legacyTimes(this.#policy, doc as LegacyDocument, now);
      return { data: legacyData(doc as LegacyDocument), createdAt: times.createdAt, expiresAt: times.expiresAt };
    });
  }

  /**
   * The query for live 0.4 sessions whose data matches `dataFilter` (keys as the 1.x data filter
   * builds them, `d.<key>`: 0.4 kept the same keys at the top level).
   */
  query(dataFilter: Record<string, unknown>, now: number): Filter<LegacyDocument> {
    const { expires, absoluteTimeout } = this.#policy;
    const created = (ms: number) => ({ createdAt: { $gt: new Date(now - ms) } });
    const clauses: Record<string, unknown>[] = [
      { _id: { $type: 'objectId' }, ended: { $ne: true } },
      // 0.4 documents get expiresAt when 1.x replaced their TTL index; before that, createdAt + expires.
      { $or: [{ expiresAt: { $gt: new Date(now) } }, { expiresAt: { $exists: false }, ...created(expires) }] },
    ];
    if (absoluteTimeout > 0) clauses.push(created(absoluteTimeout));
    const topLevel: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(dataFilter)) topLevel[key.replace(/^d\./, '')] = value;
    return { $and: [...clauses, topLevel] } as Filter<LegacyDocument>;
  }
}

/** Whether a moved 0.4 document still forwards: moved during this request, or within the grace. */
function recentlyMoved(doc: LegacyDocument, now: number, requestStart: number): boolean {
  return endedDuring(doc, requestStart) || (doc.endedAt !== undefined && now - doc.endedAt.getTime() <= MOVE_GRACE_MS);
}

/** The session a moved 0.4 session became, if it is live. */
async function forward(sessions: SessionCollection, policy: LifetimePolicy, digest: SessionDigest, now: number): Promise<LegacyOutcome> {
  const doc = await sessions.find(digest);
  return doc && isLive(policy, doc, now) ? { kind: 'forwarded', digest, doc } : { kind: 'gone' };
}

/**
 * mongosess 0.4 kept a TTL index on `createdAt` with `expires` baked in. It would delete
 * sessions by creation time (cutting rolling sessions short) and conflict with edits of
 * `expires`, so it is replaced: old documents get an `expiresAt` one lifetime from now.
 */
export async function replaceLegacyTtlIndex(
  collection: Collection<LegacyDocument>,
  indexes: IndexDescriptionInfo[],
  expiresAt: Date,
  warn: (message: string) => void,
): Promise<void> {
  const legacy = indexes.find((index) => {
    const keys = Object.keys(index.key);
    return keys.length === 1 && keys[0] === 'createdAt' && index.expireAfterSeconds !== undefined;
  });
  if (!legacy?.name) return;
  try {
    await collection.updateMany({ expiresAt: { $exists: false } }, { $set: { expiresAt } });
    await collection.dropIndex(legacy.name);
  } catch (err) {
    // Another instance starting at the same time dropped it first: fine.
    if (isServerError(err) && err.code === INDEX_NOT_FOUND) return;
    throw databaseError('replacing the TTL index of mongosess 0.4', err);
  }
  warn(
    warning(
      `replaced the TTL index "${legacy.name}" of mongosess 0.4 with per-session expiry dates; ` +
        'existing sessions keep working and expire one lifetime from now at the latest.',
    ),
  );
}
