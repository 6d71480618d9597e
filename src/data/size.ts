import { randomBytes } from 'node:crypto';
import type { Collection, Filter } from 'mongodb';
import { isServerError } from '../storage/driver-objects.js';
import { databaseError, MongoSessValidationError } from '../edge/errors.js';
import type { SessionDigest } from '../session/id.js';
import type { SessionDocument } from '../storage/document.js';

/**
 * Keeps the stored session within `maxDataBytes`, not only each `set()` payload:
 *
 * - A `$set` of `list.100000` on an array pads it with nulls up to that index on the server, so
 *   each numeric path segment below the top level is charged, up front, the bytes of the nulls it
 *   could add (whether it meets an array or an object key that is a number cannot be known
 *   without a read).
 * - On servers that have `$bsonSize` (MongoDB 4.4+), a `set()` only matches while the stored data
 *   plus what the write can add stays within `maxDataBytes`; when it matches nothing, one read
 *   tells "too large" (a MongoSessValidationError, nothing written) from "session gone".
 *   Whether the server has it is found at connect by running that very filter (`probeSizeGuard`).
 */

/** A numeric segment with more digits than this pads past any document MongoDB can store. */
const MAX_INDEX_DIGITS = 9;

const NUMERIC = /^[0-9]+$/;

/** Bytes of the null elements the server writes when it pads an empty array up to `index`. */
export function paddingBytes(index: number): number {
  // Each element: a type byte, its index as a string, a NUL; a null value has no bytes.
  let bytes = 2 * index;
  for (let low = 0, high = 10, digits = 1; low < index; low = high, high *= 10, digits++) {
    bytes += (Math.min(index, high) - low) * digits;
  }
  return bytes;
}

/**
 * The most the server can add by padding arrays for these key paths: the sum over every
 * numeric segment below the top level (the top level is the data object, never an array).
 */
export function paddingCharge(paths: readonly (readonly string[])[]): number {
  let charge = 0;
  for (const segments of paths) {
    for (let i = 1; i < segments.length; i++) {
      const segment = segments[i] as string;
      if (!NUMERIC.test(segment)) continue;
      if (segment.length > MAX_INDEX_DIGITS) return Number.POSITIVE_INFINITY;
      charge += paddingBytes(Number(segment));
    }
  }
  return charge;
}

/**
 * The filter fragment that lets an update match only while the stored data (`dataField`) plus
 * `writeBytes` stays within `maxBytes`. Needs `$bsonSize` (MongoDB 4.4+).
 */
export function sizeFilter(dataField: string, maxBytes: number, writeBytes: number): Filter<SessionDocument> {
  return { $expr: { $lte: [{ $bsonSize: { $ifNull: [`$${dataField}`, {}] } }, maxBytes - writeBytes] } };
}

export function tooLargeError(maxBytes: number): MongoSessValidationError {
  return new MongoSessValidationError(
    `set() refused: the stored session plus this data would exceed maxDataBytes (${maxBytes} bytes of BSON); ` +
      'nothing was written. del() keys you no longer need, or raise maxDataBytes',
  );
}

/**
 * The id of a probe document: one of its own for every probe, so that processes starting at
 * once (a deployment's every instance) never meet on one document (one's clean-up would make
 * another's read find nothing, and conclude the server cannot guard sizes). Stored sessions are
 * 43-character digests or ObjectIds, so no session can ever have such an id (it has a ':').
 */
function probeId(): SessionDigest {
  return `mongosess:size-probe:${randomBytes(8).toString('hex')}` as SessionDigest;
}

/**
 * Whether the server can apply `sizeFilter`: stores a probe document (an expired tombstone,
 * never served, removed like any other if left behind) and reads it back through the filter.
 * A server that refuses the filter, or evaluates it to no match, cannot guard sizes.
 */
export async function probeSizeGuard(collection: Collection<SessionDocument>, dataField: string): Promise<boolean> {
  const probe = probeId();
  try {
    await collection.updateOne({ _id: probe }, { $set: { ended: true, expiresAt: new Date(0) } }, { upsert: true });
  } catch (err) {
    throw databaseError('checking what the server supports', err);
  }
  let supported = false;
  try {
    supported = (await collection.findOneAndDelete({ _id: probe, ...sizeFilter(dataField, 16 * 1024 * 1024, 0) })) !== null;
  } catch (err) {
    if (!isServerError(err)) throw databaseError('checking what the server supports', err);
  }
  if (!supported)
    await collection
      .deleteOne({ _id: probe })
      .catch((err: unknown) => Promise.reject(databaseError('checking what the server supports', err)));
  return supported;
}
