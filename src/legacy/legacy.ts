/**
 * Everything about sessions written by mongosess 0.4, in one place so that it can one day be
 * deleted whole: their ids (ObjectIds, guessable from one's own), their documents (data at the
 * top level, no `expiresAt`), their move to a fresh random id on first use, their TTL index on
 * `createdAt`, and the clause that lets "log out everywhere" reach them.
 */
import type { Collection, Filter, IndexDescriptionInfo, ObjectId } from 'mongodb';
import type { ClientBson } from '../data/bson-value.js';
import { isServerError } from '../storage/driver-objects.js';
import { databaseError, warning } from '../edge/errors.js';
import { deadlineOf, endedDuring, isLive, movedRecently, tombstoneTimes, type LifetimePolicy } from '../session/lifetime.js';
import { attempt, type SessionCollection, type SessionSummary } from '../storage/collection.js';
import type { SessionDigest } from '../session/id.js';
import type { TimeBudget } from '../storage/time-budget.js';
import { moveToNewId, type Moved } from '../session/move.js';
import type { StoredTimes, SessionDocument } from '../storage/document.js';

/** mongosess 0.4 used the ObjectId's 24 hex characters as the cookie value. */
const LEGACY_ID_PATTERN = /^[0-9a-f]{24}$/;

export { MOVE_GRACE_MS } from '../session/lifetime.js';

/** dropIndex of an index that is not there (any more). */
const INDEX_NOT_FOUND = 27;

/** A mongosess 0.4 cookie value: the 24 hex characters of the document's ObjectId. */
export type LegacyId = string & { readonly __brand: 'LegacyId' };

/**
 * A document with a 0.4 id: either a live 0.4 session as 0.4 wrote it (`_id`, `createdAt` and
 * the data at the top level: every other key, whatever its name, is the user's), or, once ended
 * or moved, a tombstone that replaced it whole (see `isTombstone`), which says where the session
 * went (`movedTo`, the new document's digest), so that parallel requests with the same 0.4 cookie
 * find the one session it became.
 */
export interface LegacyDocument {
  _id: ObjectId;
  [key: string]: unknown;
}

/** The tombstone mongosess writes over a 0.4 session it ends or moves. */
interface LegacyTombstone {
  ended: true;
  endedAt: Date;
  expiresAt: Date;
  movedTo?: SessionDigest;
}

/**
 * Whether a document with a 0.4 id is a tombstone mongosess wrote. 0.4 stored `createdAt` in
 * every session it created (`$setOnInsert`), and a tombstone replaces the document whole, so it
 * has none: a 0.4 session whose data says `ended: true` is still a live session.
 */
function isTombstone(doc: LegacyDocument): doc is LegacyDocument & LegacyTombstone {
  return !('createdAt' in doc) && doc['ended'] === true && doc['endedAt'] instanceof Date && doc['expiresAt'] instanceof Date;
}

/** The query clause that matches a 0.4 id's document only while it is not a tombstone. */
const NOT_TOMBSTONE = { $or: [{ createdAt: { $exists: true } }, { ended: { $ne: true } }] };

export function isLegacySessionId(value: unknown): value is LegacyId {
  return typeof value === 'string' && LEGACY_ID_PATTERN.test(value);
}

/** 0.4 kept the data at the top level of the document: everything but its own `_id` and `createdAt`. */
export function legacyData(doc: LegacyDocument): Record<string, unknown> {
  // Rest syntax copies own properties as own properties, a stored `__proto__` key included
  // (an assignment loop would set the prototype instead).
  const { _id, createdAt, ...data } = doc;
  return data;
}

/**
 * A live 0.4 session's dates as 1.x keeps them: 0.4 expired sessions `expires` after
 * `createdAt` (its TTL index), and nothing else in the document is a date of its own.
 */
export function legacyTimes(policy: LifetimePolicy, doc: LegacyDocument, now: number): StoredTimes {
  const createdAt = doc['createdAt'] instanceof Date ? doc['createdAt'] : new Date(now);
  return { createdAt, expiresAt: new Date(createdAt.getTime() + policy.expires) };
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
   * Another request moved it while this one ran (its response carries the new cookie): the
   * session it became, known here only by its digest.
   */
  | { kind: 'forwarded'; digest: SessionDigest; doc: SessionDocument }
  /**
   * Another request moved it shortly before this one began (its response carries the new cookie,
   * which this response must not replace), and the cookie was not signed: nothing is served or
   * written. An unsigned 0.4 id could be guessed, so such a request never reaches what the
   * session became.
   */
  | { kind: 'movedAway' };

/** The 0.4 documents of the sessions collection. */
export class LegacySessions {
  readonly #collection: Collection<LegacyDocument>;
  readonly #policy: LifetimePolicy;
  readonly #budget: TimeBudget | undefined;
  /** The client's BSON library: a 0.4 id's ObjectId must be of its class, or its driver refuses it. */
  readonly #bson: ClientBson;

  constructor(collection: Collection<LegacyDocument>, policy: LifetimePolicy, bson: ClientBson, budget?: TimeBudget) {
    this.#collection = collection;
    this.#policy = policy;
    this.#bson = bson;
    this.#budget = budget;
  }

  /** The same documents, with every call bounded by what is left of one request's `budget`. */
  within(budget: TimeBudget): LegacySessions {
    return new LegacySessions(this.#collection, this.#policy, this.#bson, budget);
  }

  /** A database call, bounded by what is left of the request's budget, if any. */
  #attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return this.#budget ? this.#budget.run(() => attempt(operation, run)) : attempt(operation, run);
  }

  /**
   * Finds the 0.4 session and, when `canMove`, moves it to a fresh id. The claim of the old
   * document (one findOneAndReplace of a live document by the forwarding tombstone) is atomic:
   * of several requests with one 0.4 cookie one wins, and the others (those that began before the
   * move finished and, when the cookie was signed, those within MOVE_GRACE_MS after it) are
   * forwarded to the session it became, so they converge on one. An unsigned cookie's request
   * that began after the move is `movedAway`: it must not replace the new cookie, and a guessed
   * 0.4 id must not reach the session. Later, the 0.4 id is simply dead. `clock` dates the move
   * as late as possible (just before its claim), so that requests the browser sent in parallel
   * count as having begun before it.
   */
  async upgrade(
    sessions: SessionCollection,
    id: LegacyId,
    clock: () => number,
    request: { start: number; signed: boolean },
    canMove: boolean,
  ): Promise<LegacyOutcome> {
    const requestStart = request.start;
    const _id = this.#bson.objectId(id);
    const now = clock();
    const found = await this.#attempt('reading the session', () => this.#collection.findOne({ _id }));
    if (!found) return { kind: 'gone' };
    if (isTombstone(found)) {
      if (!found.movedTo || !movedRecently(found, now, requestStart)) return { kind: 'gone' };
      const parallel = request.signed || endedDuring(found, requestStart);
      return parallel ? forward(sessions, this.#policy, found.movedTo, now) : { kind: 'movedAway' };
    }
    const times = legacyTimes(this.#policy, found, now);
    if (!isLive(this.#policy, times, now)) return { kind: 'gone' };
    const data = legacyData(found);
    if (!canMove) return { kind: 'served', data, times };
    let movedBy: SessionDigest | undefined;
    const source = { times, deadline: deadlineOf(this.#policy, times), data };
    const moved = await moveToNewId(sessions, this.#policy, now, source, {
      run: async (newDigest) => {
        const marker = { ...tombstoneTimes(this.#policy, Math.max(now, clock()), true), movedTo: newDigest };
        const claimed = await this.#attempt('moving the session', () =>
          this.#collection.findOneAndReplace({ _id, ...NOT_TOMBSTONE }, marker, { returnDocument: 'before' }),
        );
        if (claimed && isLive(this.#policy, legacyTimes(this.#policy, claimed, now), now)) return legacyData(claimed);
        // Lost the race: ended (an end() always wins), or moved by another request.
        movedBy = movedToOf(await this.#attempt('reading the session', () => this.#collection.findOne({ _id })));
        return null;
      },
      // Outside the request's time budget: the claim's reply was lost, and the copy may be all that is left.
      landed: async (newDigest) => movedToOf(await attempt('reading the session', () => this.#collection.findOne({ _id }))) === newDigest,
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
      this.#collection.findOneAndReplace({ _id: this.#bson.objectId(id) }, tombstone, { returnDocument: 'before' }),
    );
    // Only within the grace: later the 0.4 id is dead, and a guessed one must not log anyone out.
    if (before && isTombstone(before) && before.movedTo && movedRecently(before, now, requestStart))
      await sessions.end(before.movedTo, tombstone);
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
      return {
        handle: undefined,
        data: legacyData(doc as LegacyDocument),
        createdAt: times.createdAt,
        expiresAt: times.expiresAt,
        lastSeenAt: times.createdAt,
        current: false,
      };
    });
  }

  /**
   * The query for live 0.4 sessions whose data matches `dataFilter` (keys as the 1.x data filter
   * builds them, `d.<key>`: 0.4 kept the same keys at the top level). A live 0.4 session is one
   * created less than `expires` ago (tombstones have no `createdAt`). `createdAt` is 0.4's own,
   * never data, so a filter on a data key of that name looks at a path no 0.4 document has.
   */
  query(dataFilter: Record<string, unknown>, now: number): Filter<LegacyDocument> {
    const { expires, absoluteTimeout } = this.#policy;
    const createdAfter = new Date(now - (absoluteTimeout > 0 ? Math.min(expires, absoluteTimeout) : expires));
    const topLevel: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(dataFilter)) {
      const path = key.replace(/^d\./, '');
      topLevel[path === 'createdAt' || path.startsWith('createdAt.') ? `${NEVER_DATA}.${path}` : path] = value;
    }
    return { $and: [{ _id: { $type: 'objectId' }, createdAt: { $gt: createdAfter } }, topLevel] } as Filter<LegacyDocument>;
  }
}

/**
 * A path no 0.4 document has: inside its ObjectId `_id`. A query on `_id.<key>` treats the key
 * as missing, as it is from every 0.4 session's data.
 */
const NEVER_DATA = '_id';

/** Where a tombstone says its session went, if `doc` is one. */
function movedToOf(doc: LegacyDocument | null): SessionDigest | undefined {
  return doc && isTombstone(doc) ? doc.movedTo : undefined;
}

/** The session a moved 0.4 session became, if it is live. */
async function forward(sessions: SessionCollection, policy: LifetimePolicy, digest: SessionDigest, now: number): Promise<LegacyOutcome> {
  const doc = await sessions.find(digest);
  return doc && isLive(policy, doc, now) ? { kind: 'forwarded', digest, doc } : { kind: 'gone' };
}

/**
 * mongosess 0.4 kept a TTL index on `createdAt` with `expires` baked in. It would delete
 * sessions by creation time (cutting rolling sessions short) and conflict with edits of
 * `expires`, so it is dropped, and the 0.4 sessions already past `expires` (`createdBefore`)
 * are removed. Nothing is written into the others: every key of a 0.4 session but its `_id`
 * and `createdAt` is the user's data.
 */
export async function replaceLegacyTtlIndex(
  collection: Collection<LegacyDocument>,
  indexes: IndexDescriptionInfo[],
  createdBefore: Date,
  warn: (message: string) => void,
): Promise<void> {
  const legacy = indexes.find((index) => {
    const keys = Object.keys(index.key);
    return keys.length === 1 && keys[0] === 'createdAt' && index.expireAfterSeconds !== undefined;
  });
  if (!legacy?.name) return;
  try {
    await collection.dropIndex(legacy.name);
    await collection.deleteMany({ _id: { $type: 'objectId' }, createdAt: { $lte: createdBefore } });
  } catch (err) {
    // Another instance starting at the same time dropped it first: fine.
    if (isServerError(err) && err.code === INDEX_NOT_FOUND) return;
    throw databaseError('replacing the TTL index of mongosess 0.4', err);
  }
  warn(
    warning(
      `replaced the TTL index "${legacy.name}" of mongosess 0.4 with per-session expiry dates; ` +
        'existing 0.4 sessions keep working until expires after their creation, and move to the new dates on first use. ' +
        '0.4 sessions that are never used again stay in the collection (never served); see MIGRATING.md to remove them.',
    ),
  );
}
