import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from 'mongodb';
import { checkKey, checkNoOverlap, checkSegment, describeKey, invalid, isPlainObject, MAX_PATH_SEGMENTS } from './data-path.js';
import { PLAIN_CODEC, type DataCodec } from './data-codec.js';
import { paddingCharge } from './data-size.js';
import { MongoSessValidationError } from './errors.js';

/**
 * What may be stored in a session, and how keys map to database paths.
 *
 * User data lives under the document's `d` field, so it can never collide with the fields
 * mongosess keeps (expiry, tombstone marker). A top-level key with dots is a path into nested
 * data: `set({ 'user.name': 'Ann' })` updates only `user.name`, atomically.
 */

/** Field of the session document that holds the user's data. */
export const DATA_FIELD = 'd';

/** Far deeper than any session needs; stops stack exhaustion on hostile input. */
export const MAX_DEPTH = 64;

/** BSON values a user may store besides plain data; `Code` and `DBRef` are not among them. */
export const ALLOWED_BSON = [ObjectId, Decimal128, Long, Int32, Double, Binary, Timestamp] as const;

/** Where a value sits, as a chain of keys: turned into text only for an error message. */
interface Where {
  parent: Where | undefined;
  key: string;
}

function pathOf(where: Where): string {
  const keys: string[] = [];
  for (let at: Where | undefined = where; at; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}

function describePath(where: Where): string {
  return describeKey(pathOf(where));
}

/**
 * Checks a value (plain data only, see README; no cycles; no hostile keys at any depth) and
 * returns what to store: the value itself, or a copy in which `undefined` became `null`, as
 * mongosess 0.4 stored it (its BSON serializer wrote undefined as BSON null). The caller's
 * value is never modified.
 */
function storable(value: unknown, where: Where, depth: number, maxDepth: number, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
      return value;
    case 'undefined':
      return null;
    case 'bigint':
      return invalid(`the value at ${describePath(where)} is a bigint, which would come back as a number; store Long or a string`);
    case 'function':
    case 'symbol':
      return invalid(`the value at ${describePath(where)} is a ${typeof value}, which is not data`);
  }
  if (value === null || value instanceof Date) return value;
  if (depth > maxDepth) {
    invalid(
      `the value at ${describePath(where)} is nested more than ${maxDepth} levels deep ` +
        `(at most ${MAX_DEPTH}, and MongoDB's ${MAX_PATH_SEGMENTS + 1} levels include the key's path)`,
    );
  }
  const object = value as object;
  if (ancestors.has(object)) invalid(`the value at ${describePath(where)} contains a cycle`);

  if (Array.isArray(object)) {
    ancestors.add(object);
    let copy: unknown[] | undefined;
    for (let i = 0; i < object.length; i++) {
      const item: unknown = object[i];
      const stored = storable(item, { parent: where, key: String(i) }, depth + 1, maxDepth, ancestors);
      if (stored !== item) copy ??= object.slice(0, i);
      copy?.push(stored);
    }
    ancestors.delete(object);
    return copy ?? object;
  }
  if (Buffer.isBuffer(object) || object instanceof Uint8Array) return object;
  if (ALLOWED_BSON.some((type) => object instanceof type)) return object;

  if (!isPlainObject(object)) {
    invalid(`the value at ${describePath(where)} is a class instance (${object.constructor?.name ?? 'unknown'}); store plain objects`);
  }
  if ('_bsontype' in object)
    invalid(`the value at ${describePath(where)} has a _bsontype key, which the driver would misread as a BSON type`);

  ancestors.add(object);
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    checkSegment(key, () => `key at ${describePath(where)}:`);
    if (key.includes('.'))
      invalid(`key ${describeKey(key)} at ${describePath(where)} contains '.'; only top-level keys may be dotted paths`);
    const item = (object as Record<string, unknown>)[key];
    const stored = storable(item, { parent: where, key }, depth + 1, maxDepth, ancestors);
    if (stored !== item && !copy) copy = { ...object };
    if (copy) copy[key] = stored;
  }
  ancestors.delete(object);
  return copy ?? object;
}

/** A validated `set()`: the `$set` on the data field, and the most it can add to the stored data. */
export interface SetWrite {
  $set: Record<string, unknown>;
  /** BSON bytes of `$set` plus the nulls the server may add padding arrays (see data-size.ts). */
  bytes: number;
}

/**
 * Validates `set()`'s argument and turns it into a `$set` on the data field. Throws a
 * MongoSessValidationError (before anything reaches the database) on any bad key or value.
 */
export function buildSet(data: unknown, maxBytes: number, codec: DataCodec = PLAIN_CODEC): SetWrite {
  try {
    return buildSetOf(data, maxBytes, codec);
  } catch (err) {
    if (err instanceof MongoSessValidationError) throw err;
    // A getter or Proxy in the argument threw, or the serializer met something exotic.
    throw new MongoSessValidationError('reading the set() argument failed; pass plain data', { cause: err });
  }
}

function buildSetOf(data: unknown, maxBytes: number, codec: DataCodec): SetWrite {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    invalid(`set() takes an object of keys and values, got: ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  if (!isPlainObject(data)) invalid('set() takes a plain object of keys and values');

  const update: Record<string, unknown> = {};
  const keys = Object.keys(data);
  const paths: string[][] = [];
  for (const key of keys) {
    const segments = checkKey(key, 'set');
    paths.push(segments);
    // The path's own segments count towards MongoDB's nesting limit.
    const maxDepth = Math.min(MAX_DEPTH, MAX_PATH_SEGMENTS - segments.length);
    const value = (data as Record<string, unknown>)[key];
    // Encoded (encrypted) before the size checks below: maxDataBytes charges what is stored.
    update[`${DATA_FIELD}.${key}`] = codec.encode(segments, storable(value, { parent: undefined, key }, 1, maxDepth, new Set()));
  }
  checkNoOverlap(keys, paths);

  const bytes = BSON.calculateObjectSize(update);
  if (bytes > maxBytes) invalid(`set() data is ${bytes} bytes of BSON, over the limit of ${maxBytes} (maxDataBytes)`);
  const padding = paddingCharge(paths);
  if (bytes + padding > maxBytes) {
    invalid(
      `set() data is ${bytes} bytes of BSON, and its numeric path segments (array indexes) could make the server add ` +
        `${padding} bytes of nulls padding arrays, over the limit of ${maxBytes} (maxDataBytes); use smaller indexes or non-numeric keys`,
    );
  }
  return { $set: update, bytes: bytes + padding };
}

/** Validates `del()`'s keys and turns them into an `$unset` on the data field. */
export function buildUnset(keys: readonly unknown[], codec: DataCodec = PLAIN_CODEC): Record<string, ''> {
  const unset: Record<string, ''> = {};
  const paths: string[][] = [];
  for (const key of keys) {
    const segments = checkKey(key, 'del');
    codec.checkPath(segments, 'del');
    paths.push(segments);
    unset[`${DATA_FIELD}.${key as string}`] = '';
  }
  checkNoOverlap(keys as string[], paths);
  return unset;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * Reads a (possibly dotted) key from stored data, as MongoDB would resolve the path: through
 * plain objects (own keys only) and arrays (numeric indexes only), never into other values
 * (`a.length`, a Long's `low`).
 */
export function readPath(data: Record<string, unknown> | undefined, segments: readonly string[]): unknown {
  let current: unknown = data;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(segment)) return undefined;
    } else if (!isPlainObject(current) || !Object.hasOwn(current as object, segment)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
