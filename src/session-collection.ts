import {
  MongoServerError,
  ReadPreference,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type UpdateFilter,
  type WriteConcernSettings,
} from 'mongodb';
import { databaseError } from './errors.js';
import type { TimeBudget } from './time-budget.js';
import type { StoredTimes } from './lifetime.js';
import { DATA_FIELD } from './session-data.js';
import type { SessionDigest } from './session-id.js';

/**
 * One document per session, under the SHA-256 digest of its id (documents of mongosess 0.4
 * have an ObjectId `_id`: see legacy.ts). An ended session is a *tombstone*: `ended: true` and
 * no data, kept until `expiresAt` so that a late write with the old cookie cannot recreate it.
 */
export interface SessionDocument extends StoredTimes {
  _id: SessionDigest;
  /** The user's data (see session-data.ts). */
  d?: Record<string, unknown>;
}

/** A tombstone as stored: no data, no dates but its own. */
export interface Tombstone {
  ended: true;
  endedAt: Date;
  expiresAt: Date;
}

/** MongoDB's duplicate key error: here, an upsert that met an existing (ended or expired) session. */
const DUPLICATE_KEY = 11000;

export interface WriteOps {
  $set?: Record<string, unknown>;
  $unset?: Record<string, ''>;
  /** The most this write adds to the stored data; given, the size guard applies (see data-size.ts). */
  bytes?: number;
}

export interface UpdateOptions {
  /** The query a live session matches (lifetime.ts `liveFilter`). */
  live: Filter<SessionDocument>;
  /** Create the session with these dates if it does not exist; omitted: never create. */
  insert?: StoredTimes;
  /** A new expiry to set (rolling sessions). */
  expiresAt?: Date;
}

/** A live session's stored facts, as listed by `listSessions`. */
export interface SessionSummary {
  data: Record<string, unknown>;
  createdAt: Date | undefined;
  expiresAt: Date | undefined;
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
    if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return run(false);
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
 * expire and what a tombstone holds are decided by the caller (lifetime.ts) and passed in.
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
    const { live, insert, expiresAt } = options;
    const $set = { ...ops.$set, ...(expiresAt ? { expiresAt } : {}) };
    const update: UpdateFilter<SessionDocument> = {
      ...(Object.keys($set).length > 0 ? { $set } : {}),
      ...(ops.$unset ? { $unset: ops.$unset } : {}),
    };
    if (insert) {
      // A rolling write sets expiresAt itself; MongoDB refuses the same path in $set and $setOnInsert.
      const { expiresAt: insertExpiry, ...rest } = insert;
      update.$setOnInsert = expiresAt ? rest : { ...rest, ...(insertExpiry ? { expiresAt: insertExpiry } : {}) };
    }
    const filter: Filter<SessionDocument> = { _id: digest, ...live };
    const run = (upsert: boolean) => this.#collection.findOneAndUpdate(filter, update, { upsert, returnDocument: 'after' });
    return this.#attempt('writing the session', () => (insert ? upsertOnce(run) : run(false)));
  }

  /** Pushes a live session's expiry to `expiresAt`; false when no live session matched. */
  async touch(digest: SessionDigest, live: Filter<SessionDocument>, expiresAt: Date): Promise<boolean> {
    const result = await this.#attempt('extending the session', () =>
      this.#collection.updateOne({ _id: digest, ...live }, { $set: { expiresAt } }),
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
    await this.#attempt('storing the session', () => this.#collection.insertOne(doc));
  }

  /** Stores a session unless one (live, ended or expired) has this digest already; false then. */
  insertIfAbsent(doc: SessionDocument): Promise<boolean> {
    return this.#attempt('storing the session', async () => {
      try {
        await this.#collection.insertOne(doc);
        return true;
      } catch (err) {
        if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
        throw err;
      }
    });
  }

  /** Replaces the data of a session (a moved copy catching up with its original). */
  async replaceData(digest: SessionDigest, data: Record<string, unknown>): Promise<void> {
    await this.#attempt('storing the session', () => this.#collection.updateOne({ _id: digest }, { $set: { [DATA_FIELD]: data } }));
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
      this.#collection.updateMany(query, { $set: tombstone, $unset: { [DATA_FIELD]: '', createdAt: '', deadline: '' } }, this.#ending),
    );
    return result.modifiedCount;
  }

  /** Counts the documents matching `query`. */
  count(query: Filter<SessionDocument>): Promise<number> {
    return this.#attempt('counting sessions', () => this.#collection.countDocuments(query));
  }

  /** Lists the documents matching `query` (no ids: only their digests are stored), soonest expiry first. */
  async list(query: Filter<SessionDocument>, limit: number): Promise<SessionSummary[]> {
    const docs = await this.#attempt('listing sessions', () =>
      this.#collection.find(query, { projection: { _id: 0 }, limit, sort: { expiresAt: 1 } }).toArray(),
    );
    return docs.map((doc) => ({ data: doc.d ?? {}, createdAt: doc.createdAt, expiresAt: doc.expiresAt }));
  }

  /** Removes sessions (and tombstones) whose expiry is at or before `now`, via the expiresAt index. */
  async sweep(now: Date): Promise<number> {
    const result = await this.#attempt('removing expired sessions', () => this.#collection.deleteMany({ expiresAt: { $lte: now } }));
    return result.deletedCount;
  }
}
