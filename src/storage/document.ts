/**
 * The stored document's schema: one document per session, and every field mongosess keeps on it.
 * Types and field names only, importing nothing but the branded ids, so that any module (storage,
 * the data rules, the lifetime rules, the 0.4 path) can name the document without depending on
 * the module that reads and writes it (storage/collection.ts).
 */
import type { SessionHandle } from '../session/handle.js';
import type { SessionDigest } from '../session/id.js';

/** Field of the session document that holds the user's data. */
export const DATA_FIELD = 'd';

/** The dates a session document carries. */
export interface StoredTimes {
  createdAt?: Date;
  /** When the session stops being served; the TTL index removes it soon after. */
  expiresAt?: Date;
  /** With `absoluteTimeout`: the creation-based cap that `expiresAt` never passes. */
  deadline?: Date;
  /** This session's own lifetime in ms (`setLifetime()`, "remember me"), instead of the policy's `expires`. */
  lifetime?: number;
  /** The session's cookie is a browser-session cookie (`expire()`), whatever rolling or the per-request `expires` say. */
  browserSession?: true;
  /** A tombstone: the session was ended (or moved to a new id) at `endedAt`. */
  ended?: true;
  endedAt?: Date;
}

/** Where a session was created from (with `recordClient`). */
export interface ClientInfo {
  /** The `User-Agent` header, cut to 512 characters; undefined when the request had none. */
  userAgent?: string;
  /** The client's address: the socket's, or with `trustProxy` the first of `X-Forwarded-For`. */
  ip?: string;
}

/** What a session document carries for device listings (devices/devices.ts), besides its dates. */
export interface DeviceTimes {
  /** The last write, or rolling extension. */
  seenAt?: Date;
  client?: ClientInfo;
}

/**
 * One document per session, under the SHA-256 digest of its id (documents of mongosess 0.4
 * have an ObjectId `_id`: see legacy/legacy.ts). An ended session is a *tombstone*: `ended: true` and
 * no data, kept until `expiresAt` so that a late write with the old cookie cannot recreate it.
 */
export interface SessionDocument extends StoredTimes, DeviceTimes {
  _id: SessionDigest;
  /** A tombstone left by a move: where the session went (see Tombstone). */
  movedTo?: SessionDigest;
  /** The user's data (see data/session-data.ts), under DATA_FIELD. */
  d?: Record<string, unknown>;
  /** Its handle (session/handle.ts), written with the document; absent on tombstones and on documents of 1.0. */
  h?: SessionHandle;
}

/** A tombstone as stored: no data, no dates but its own. */
export interface Tombstone {
  ended: true;
  endedAt: Date;
  expiresAt: Date;
  /** Left by a move (regenerate): the digest of the copy it moved to, so a move can tell its own claim. */
  movedTo?: SessionDigest;
}
