import { MongoServerError, ObjectId, type Collection, type Filter, type UpdateFilter } from 'mongodb';
import type { StoreConfig } from './connect-options.js';
import { sizeFilter, tooLargeError } from './data-size.js';
import { databaseError } from './errors.js';
import { buildDataFilter } from './data-filter.js';
import { DATA_FIELD } from './session-data.js';

/**
 * One document per session. `_id` is the SHA-256 of the session id (or, for sessions written by
 * mongosess 0.4, the ObjectId that was the cookie value). An ended session is a *tombstone*:
 * `ended: true` and no data, kept until `expiresAt` so that a late write with the old cookie
 * cannot recreate the session.
 */
export interface SessionDocument {
  _id: string | ObjectId;
  /** The user's data (see session-data.ts). */
  d?: Record<string, unknown>;
  createdAt?: Date;
  /** When the session stops being served; the TTL index removes it soon after. */
  expiresAt?: Date;
  /** With `absoluteTimeout`: the creation-based cap that `expiresAt` never passes. */
  deadline?: Date;
  ended?: true;
}

/** MongoDB's duplicate key error: here, an upsert that met an existing (ended or expired) session. */
const DUPLICATE_KEY = 11000;

/** The filter that matches a live session. */
function liveFilter(now: number): Filter<SessionDocument> {
  return { ended: { $ne: true }, expiresAt: { $gt: new Date(now) } };
}

/**
 * Runs an upsert and, if it meets an existing document with a duplicate key, once more without
 * upsert. Either a concurrent request created the session first (the retry finds it), or the id
 * belongs to an ended or expired session (the retry finds nothing, and nothing is brought back).
 */
async function upsertOnce<T>(run: (upsert: boolean) => Promise<T>): Promise<T> {
  try {
    return await run(true);
  } catch (err) {
    if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return run(false);
    throw err;
  }
}

/** Wraps a driver call so that any failure reaches the caller as a MongoSessError with its cause. */
async function attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw databaseError(operation, err);
  }
}

export interface WriteOps {
  $set?: Record<string, unknown>;
  $unset?: Record<string, ''>;
  /** The most this write adds to the stored data; given, the size guard applies (see data-size.ts). */
  bytes?: number;
}

/** A live session's stored facts, as listed by `listSessions`. */
export interface SessionSummary {
  data: Record<string, unknown>;
  createdAt: Date | undefined;
  expiresAt: Date | undefined;
}

/** Every database operation mongosess makes, on the sessions collection. */
export class SessionCollection {
  readonly #collection: Collection<SessionDocument>;
  readonly config: StoreConfig;
  /** The server can keep stored data within maxDataBytes (data-size.ts, probed at connect). */
  readonly #sizeGuard: boolean;

  constructor(collection: Collection<SessionDocument>, config: StoreConfig, sizeGuard = false) {
    this.#collection = collection;
    this.config = config;
    this.#sizeGuard = sizeGuard;
  }

  now(): number {
    return this.config.now();
  }

  /**
   * A session's absolute deadline: stored at creation, or (for sessions created before
   * `absoluteTimeout` was set, and 0.4 sessions) derived from `createdAt`.
   */
  deadlineOf(doc: SessionDocument): Date | undefined {
    if (doc.deadline) return doc.deadline;
    const { absoluteTimeout } = this.config;
    return absoluteTimeout > 0 && doc.createdAt ? new Date(doc.createdAt.getTime() + absoluteTimeout) : undefined;
  }

  /** Whether a document is a session to serve at `now`: not a tombstone, not expired, within its deadline. */
  isLive(doc: SessionDocument, now: number): boolean {
    if (doc.ended === true || doc.expiresAt === undefined || doc.expiresAt.getTime() <= now) return false;
    const deadline = this.deadlineOf(doc);
    return deadline === undefined || deadline.getTime() > now;
  }

  /** When a session touched at `now` expires: `expires` later, never past its deadline. */
  expiryFrom(now: number, deadline: Date | undefined): Date {
    const sliding = now + this.config.expires;
    return new Date(deadline ? Math.min(sliding, deadline.getTime()) : sliding);
  }

  /** The deadline a session created at `now` gets, if `absoluteTimeout` is set. */
  deadlineFrom(now: number): Date | undefined {
    return this.config.absoluteTimeout > 0 ? new Date(now + this.config.absoluteTimeout) : undefined;
  }

  /** Reads a session document by hashed id, whatever its state. */
  find(id: string): Promise<SessionDocument | null> {
    return attempt('reading the session', () => this.#collection.findOne({ _id: id }));
  }

  /**
   * Applies `ops` to a live session and returns the document after the change, or null when no
   * live session has this id. With `upsert`, a missing session is created; an ended or expired one
   * is never brought back (its document blocks the insert with a duplicate key).
   * `extendTo`, when given, becomes the new expiry (rolling sessions).
   */
  async update(id: string, ops: WriteOps, upsert: boolean, extendTo?: Date): Promise<SessionDocument | null> {
    const now = this.now();
    const { bytes, ...writes } = ops;
    const guarded = this.#sizeGuard && bytes !== undefined;
    const filter: Filter<SessionDocument> = {
      _id: id,
      ...liveFilter(now),
      ...(guarded ? sizeFilter(DATA_FIELD, this.config.maxDataBytes, bytes) : {}),
    };
    const deadline = this.deadlineFrom(now);
    const update: UpdateFilter<SessionDocument> = {
      ...writes,
      $set: { ...ops.$set, ...(extendTo ? { expiresAt: extendTo } : {}) },
      $setOnInsert: {
        createdAt: new Date(now),
        ...(extendTo ? {} : { expiresAt: this.expiryFrom(now, deadline) }),
        ...(deadline ? { deadline } : {}),
      },
    };
    if (!upsert) delete update.$setOnInsert;
    if (Object.keys(update.$set ?? {}).length === 0) delete update.$set;

    const run = (withUpsert: boolean) =>
      this.#collection.findOneAndUpdate(filter, update, { upsert: withUpsert, returnDocument: 'after' });
    const doc = await attempt('writing the session', () => (upsert ? upsertOnce(run) : run(false)));
    // No match under the size guard: too large if the session is still live, else gone.
    if (!doc && guarded) {
      const current = await this.find(id);
      if (current && this.isLive(current, this.now())) throw tooLargeError(this.config.maxDataBytes);
    }
    return doc;
  }

  /** Pushes a live session's expiry to `expiresAt` (rolling sessions). */
  async touch(id: string, expiresAt: Date): Promise<void> {
    await attempt('extending the session', () =>
      this.#collection.updateOne({ _id: id, ...liveFilter(this.now()) }, { $set: { expiresAt } }),
    );
  }

  /** The tombstone that replaces an ended session: no data, kept one lifetime to block late writes. */
  #tombstone(): { ended: true; expiresAt: Date } {
    return { ended: true, expiresAt: new Date(this.now() + this.config.expires) };
  }

  /**
   * Ends a session by replacing it with a tombstone, and returns what it held before (null if
   * nothing was stored). Created even where nothing was stored, so a concurrent slow write
   * with this id finds the tombstone.
   */
  async end(id: string): Promise<SessionDocument | null> {
    const tombstone = this.#tombstone();
    const run = (upsert: boolean) =>
      this.#collection.findOneAndReplace({ _id: id }, tombstone, { upsert, returnDocument: 'before' });
    return attempt('ending the session', () => upsertOnce(run));
  }

  /** Stores a session under a new id (regenerate, legacy upgrade). */
  async insert(doc: SessionDocument): Promise<void> {
    await attempt('storing the session', () => this.#collection.insertOne(doc));
  }

  /** Replaces the data of a session (a moved copy catching up with its original). */
  async replaceData(id: string, data: Record<string, unknown>): Promise<void> {
    await attempt('storing the session', () => this.#collection.updateOne({ _id: id }, { $set: { [DATA_FIELD]: data } }));
  }

  /** Deletes a session document outright (a moved copy whose original was gone meanwhile). */
  async discard(id: string): Promise<void> {
    await attempt('removing the session', () => this.#collection.deleteOne({ _id: id }));
  }

  /** Reads a mongosess 0.4 session. */
  findLegacy(hexId: string): Promise<SessionDocument | null> {
    return attempt('reading the session', () => this.#collection.findOne({ _id: new ObjectId(hexId) }));
  }

  /** Takes a mongosess 0.4 session out of the collection (atomically, so only one request can). */
  claimLegacy(hexId: string): Promise<SessionDocument | null> {
    return attempt('reading the session', () => this.#collection.findOneAndDelete({ _id: new ObjectId(hexId) }));
  }

  /** Deletes a mongosess 0.4 session. */
  async deleteLegacy(hexId: string): Promise<void> {
    await attempt('ending the session', () => this.#collection.deleteOne({ _id: new ObjectId(hexId) }));
  }

  /** Ends every live session whose data matches `filter`; returns how many. */
  async endAll(filter: unknown): Promise<number> {
    const query = { ...liveFilter(this.now()), ...buildDataFilter(filter) };
    const tombstone = this.#tombstone();
    const result = await attempt('ending sessions', () =>
      this.#collection.updateMany(query, { $set: tombstone, $unset: { [DATA_FIELD]: '', createdAt: '', deadline: '' } }),
    );
    return result.modifiedCount;
  }

  /** Counts the live sessions whose data matches `filter`. */
  count(filter: unknown): Promise<number> {
    const query = { ...liveFilter(this.now()), ...buildDataFilter(filter) };
    return attempt('counting sessions', () => this.#collection.countDocuments(query));
  }

  /** Lists the live sessions whose data matches `filter` (no ids: only their hashes are stored). */
  async list(filter: unknown, limit: number): Promise<SessionSummary[]> {
    const query = { ...liveFilter(this.now()), ...buildDataFilter(filter) };
    const docs = await attempt('listing sessions', () =>
      this.#collection.find(query, { projection: { _id: 0 }, limit, sort: { expiresAt: 1 } }).toArray(),
    );
    return docs.map((doc) => ({ data: doc.d ?? {}, createdAt: doc.createdAt, expiresAt: doc.expiresAt }));
  }

  /** Removes sessions (and tombstones) whose expiry has passed, via the expiresAt index. */
  async sweep(): Promise<number> {
    const result = await attempt('removing expired sessions', () =>
      this.#collection.deleteMany({ expiresAt: { $lte: new Date(this.now()) } }),
    );
    return result.deletedCount;
  }
}
