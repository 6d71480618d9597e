import {
  ReadPreference,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type UpdateFilter,
  type WriteConcernSettings,
} from 'mongodb';
import { isServerError } from './driver-objects.js';
import { databaseError } from '../edge/errors.js';
import type { TimeBudget } from './time-budget.js';
import { type ClientInfo, DATA_FIELD, type DeviceTimes, type SessionDocument, type StoredTimes, type Tombstone } from './document.js';
import type { SessionDigest } from '../session/id.js';
import { HANDLE_FIELD, handleOf, type SessionHandle } from '../session/handle.js';

/** What `endAll` removes from the sessions it turns into tombstones: data, dates and device facts. */
const ENDED_UNSET = { [DATA_FIELD]: '', createdAt: '', deadline: '', seenAt: '', client: '', [HANDLE_FIELD]: '' } as const;

/** MongoDB's duplicate key error: here, an upsert that met an existing (ended or expired) session. */
const DUPLICATE_KEY = 11000;

export interface WriteOps {
  $set?: Record<string, unknown>;
  $unset?: Record<string, ''>;
  /** The most this write adds to the stored data; given, the size guard applies (see data/size.ts). */
  bytes?: number;
}

export interface UpdateOptions {
  /** The query a live session matches (session/lifetime.ts `liveFilter`). */
  live: Filter<SessionDocument>;
  /** Create the session with these dates (and device facts) if it does not exist; omitted: never create. */
  insert?: StoredTimes & Pick<DeviceTimes, 'client'>;
  /** A new expiry to set (rolling sessions). */
  expiresAt?: Date;
  /** When this write happened: the session's `lastSeenAt`, set by the write itself. */
  seenAt?: Date;
  /** Called when the write created the session. */
  created?: () => void;
}

/** A live session's stored facts, as listed by `listSessions`. */
export interface SessionSummary {
  /**
   * Names this session for `endSession(handle)`. Opaque, and useless as a cookie. Undefined
   * for a mongosess 0.4 session not used since the upgrade (its first use moves it and gives it one).
   */
  handle: SessionHandle | undefined;
  /** The session's stored keys and values (with `encryption`, decrypted; see `undecryptable`). */
  data: Record<string, unknown>;
  /**
   * With `encryption`: the data keys whose values do not decrypt (sealed with a key no longer in
   * `encryption.keys`, or damaged), left out of `data`; each cause was reported once through `warn`.
   * The session is listed all the same, so that it can still be ended by its handle.
   */
  undecryptable?: string[];
  /** When the session was first stored; undefined where the document has no creation date. */
  createdAt: Date | undefined;
  /** When the session expires unless used again; undefined where the document has no expiry. */
  expiresAt: Date | undefined;
  /** The last write to the session, or (with `rolling`) its last extension: precise to `touchAfter`. */
  lastSeenAt: Date | undefined;
  /** With connect's `recordClient`: the user agent and IP address the session was created from. */
  client?: ClientInfo;
  /** True for the session passed as `current` to `listSessions`. */
  current: boolean;
}

/**
 * Runs an upsert and, if it meets an existing document with a duplicate key, once more without
 * upsert. Either a concurrent request created the session first (the retry finds it), or the id
 * belongs to an ended or expired session (the retry finds nothing, and nothing is brought back).
 */
export async function upsertOnce<T>(run: (upsert: boolean) => Promise<T>): Promise<T> {
  try {
    return await run(true);
  } catch (err) {
    if (isServerError(err) && err.code === DUPLICATE_KEY) return run(false);
    throw err;
  }
}

/**
 * A handle on the sessions collection that reads from the primary whatever the client's read
 * preference: a secondary can lag, and would serve a session that was just ended or miss one
 * that was just created. `writeConcern`, when given, applies to every write through the handle.
 */
export function primaryCollection<T extends Document>(db: Db, name: string, writeConcern?: WriteConcernSettings): Collection<T> {
  return db.collection<T>(name, { readPreference: ReadPreference.primary, ...(writeConcern ? { writeConcern } : {}) });
}

/** Wraps a driver call so that any failure reaches the caller as a MongoSessError with its cause. */
export async function attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw databaseError(operation, err);
  }
}

/**
 * Every database operation on sessions, and nothing else: which documents are live, when they
 * expire and what a tombstone holds are decided by the caller (session/lifetime.ts) and passed in.
 */
export class SessionCollection {
  readonly #collection: Collection<SessionDocument>;
  /** For the writes that end sessions, which must survive a failover (connect's `writeConcern`). */
  readonly #ending: { writeConcern: WriteConcernSettings };
  readonly #budget: TimeBudget | undefined;

  /** `collection` should read from the primary (see `primaryCollection`). */
  constructor(collection: Collection<SessionDocument>, endingWriteConcern: WriteConcernSettings, budget?: TimeBudget) {
    this.#collection = collection;
    this.#ending = { writeConcern: endingWriteConcern };
    this.#budget = budget;
  }

  /** The same collection, with every call bounded by what is left of one request's `budget`. */
  within(budget: TimeBudget): SessionCollection {
    return new SessionCollection(this.#collection, this.#ending.writeConcern, budget);
  }

  /** A database call, bounded by what is left of the request's budget, if any. */
  #attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return this.#budget ? this.#budget.run(() => attempt(operation, run)) : attempt(operation, run);
  }

  /** Reads a session document, whatever its state. */
  find(digest: SessionDigest): Promise<SessionDocument | null> {
    return this.#attempt('reading the session', () => this.#collection.findOne({ _id: digest }));
  }

  /**
   * Applies `ops` to a live session and returns the document after the change, or null when no
   * live session has this digest. With `insert`, a missing session is created with those dates;
   * an ended or expired one is never brought back (its document blocks the insert).
   */
  update(digest: SessionDigest, ops: WriteOps, options: UpdateOptions): Promise<SessionDocument | null> {
    const { live, insert, expiresAt, seenAt, created } = options;
    const $set = { ...ops.$set, ...(expiresAt ? { expiresAt } : {}), ...(seenAt ? { seenAt } : {}) };
    const update: UpdateFilter<SessionDocument> = {
      ...(Object.keys($set).length > 0 ? { $set } : {}),
      ...(ops.$unset ? { $unset: ops.$unset } : {}),
    };
    if (insert) {
      // A rolling write sets expiresAt itself; MongoDB refuses the same path in $set and $setOnInsert.
      const { expiresAt: insertExpiry, ...rest } = insert;
      update.$setOnInsert = {
        ...rest,
        ...(!expiresAt && insertExpiry ? { expiresAt: insertExpiry } : {}),
        [HANDLE_FIELD]: handleOf(digest),
      };
    }
    const filter: Filter<SessionDocument> = { _id: digest, ...live };
    const run = async (upsert: boolean) => {
      const result = await this.#collection.findOneAndUpdate(filter, update, {
        upsert,
        returnDocument: 'after',
        includeResultMetadata: true,
      });
      if (result.value && result.lastErrorObject?.['updatedExisting'] === false) created?.();
      return result.value;
    };
    return this.#attempt('writing the session', () => (insert ? upsertOnce(run) : run(false)));
  }

  /**
   * Marks a live session seen at `seenAt` (its `lastSeenAt`) and, given `expiresAt`, pushes its
   * expiry there (a rolling extension). False when no live session matched: this is also how a
   * request proves, after its read, that its session is still live (before re-signing a cookie).
   */
  async touch(digest: SessionDigest, live: Filter<SessionDocument>, seenAt: Date, expiresAt?: Date): Promise<boolean> {
    const result = await this.#attempt(expiresAt ? 'extending the session' : 'checking that the session is still live', () =>
      this.#collection.updateOne({ _id: digest, ...live }, { $set: { seenAt, ...(expiresAt ? { expiresAt } : {}) } }),
    );
    return result.matchedCount > 0;
  }

  /**
   * Replaces a session with a tombstone and returns what it held before (null if nothing was
   * stored). Created even where nothing was stored, so a concurrent slow write finds it.
   */
  end(digest: SessionDigest, tombstone: Tombstone): Promise<SessionDocument | null> {
    const run = (upsert: boolean) =>
      this.#collection.findOneAndReplace({ _id: digest }, tombstone, {
        upsert,
        returnDocument: 'before',
        ...this.#ending,
      });
    return this.#attempt('ending the session', () => upsertOnce(run));
  }

  /** Changes how long a tombstone is kept. */
  async keepTombstoneUntil(digest: SessionDigest, expiresAt: Date): Promise<void> {
    await this.#attempt('ending the session', () =>
      this.#collection.updateOne({ _id: digest, ended: true }, { $set: { expiresAt } }, { ...this.#ending }),
    );
  }

  /** Stores a session under a new digest (regenerate, 0.4 upgrade). */
  async insert(doc: SessionDocument): Promise<void> {
    await this.#attempt('storing the session', () => this.#collection.insertOne({ ...doc, [HANDLE_FIELD]: handleOf(doc._id) }));
  }

  /** Stores a session unless one (live, ended or expired) has this digest already; false then. */
  insertIfAbsent(doc: SessionDocument): Promise<boolean> {
    return this.#attempt('storing the session', async () => {
      try {
        await this.#collection.insertOne({ ...doc, [HANDLE_FIELD]: handleOf(doc._id) });
        return true;
      } catch (err) {
        if (isServerError(err) && err.code === DUPLICATE_KEY) return false;
        throw err;
      }
    });
  }

  /**
   * Replaces the data of a session (a moved copy catching up with its original). The move has
   * happened (its old id is ended), so this runs even when the request's time budget is spent.
   */
  async replaceData(digest: SessionDigest, data: Record<string, unknown>): Promise<void> {
    // Never into a tombstone: an end() racing the move may have ended the copy already.
    await attempt('storing the session', () =>
      this.#collection.updateOne({ _id: digest, ended: { $ne: true } }, { $set: { [DATA_FIELD]: data } }),
    );
  }

  /**
   * Reads a session document outside the request's time budget: to find out whether a write
   * whose reply never came (a spent budget, a lost connection) landed.
   */
  recheck(digest: SessionDigest): Promise<SessionDocument | null> {
    return attempt('reading the session', () => this.#collection.findOne({ _id: digest }));
  }

  /**
   * Deletes a session document outright (a moved copy whose original was gone meanwhile). It is
   * clean-up, so it runs even when the request's time budget is spent.
   */
  async discard(digest: SessionDigest): Promise<void> {
    await attempt('removing the session', () => this.#collection.deleteOne({ _id: digest }));
  }

  /** Turns every document matching `query` into a tombstone; returns how many. */
  async endAll(query: Filter<SessionDocument>, tombstone: Tombstone): Promise<number> {
    const result = await this.#attempt('ending sessions', () =>
      this.#collection.updateMany(query, { $set: tombstone, $unset: ENDED_UNSET }, this.#ending),
    );
    return result.modifiedCount;
  }

  /**
   * Replaces the one document matching `query` (a live session, by handle) with a tombstone;
   * returns what it held before, or null if none matched.
   */
  endOne(query: Filter<SessionDocument>, tombstone: Tombstone): Promise<SessionDocument | null> {
    return this.#attempt('ending the session', () =>
      this.#collection.findOneAndReplace(query, tombstone, { returnDocument: 'before', ...this.#ending }),
    );
  }

  /** Counts the documents matching `query`. */
  count(query: Filter<SessionDocument>): Promise<number> {
    return this.#attempt('counting sessions', () => this.#collection.countDocuments(query));
  }

  /**
   * Lists the documents matching `query`, soonest expiry first (or by `sort`), each named by its
   * handle, never its digest. Documents stored before handles existed get theirs here, once.
   */
  async list(
    query: Filter<SessionDocument>,
    limit: number,
    sort: Record<string, 1 | -1> = { expiresAt: 1 },
  ): Promise<(SessionDocument & { h: SessionHandle })[]> {
    const docs = await this.#attempt('listing sessions', () => this.#collection.find(query, { limit, sort }).toArray());
    const unnamed = docs.filter((doc) => doc.h === undefined);
    if (unnamed.length > 0) {
      await this.#attempt('naming sessions', () =>
        this.#collection.bulkWrite(
          unnamed.map((doc) => ({
            updateOne: { filter: { _id: doc._id, h: { $exists: false } }, update: { $set: { [HANDLE_FIELD]: handleOf(doc._id) } } },
          })),
          { ordered: false },
        ),
      );
    }
    return docs.map((doc) => ({ ...doc, h: doc.h ?? handleOf(doc._id) }));
  }

  /**
   * Removes sessions (and tombstones) whose expiry is at or before `now`, via the expiresAt index.
   * A live 0.4 session (ObjectId `_id`, with `createdAt`) has no expiry of mongosess's: an
   * `expiresAt` in it is the user's data.
   */
  async sweep(now: Date): Promise<number> {
    const query = {
      expiresAt: { $lte: now },
      $or: [{ _id: { $type: 'string' } }, { createdAt: { $exists: false } }],
    } as Filter<SessionDocument>;
    const result = await this.#attempt('removing expired sessions', () => this.#collection.deleteMany(query));
    return result.deletedCount;
  }
}
