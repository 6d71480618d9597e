import {
  checkKey,
  checkNoOverlap,
  checkSegment,
  describeKey,
  invalid,
  isPlainObject,
  MAX_PATH_SEGMENTS,
  REFUSED_NAMES,
  utf8Bytes,
} from './path.js';
import { PLAIN_CODEC, type DataCodec } from './codec.js';
import { allowedBsonBytes, bsonKindOf, bsonValueBytes, OWN_BSON, type ClientBson } from './bson-value.js';
import { paddingCharge } from './size.js';
import { MongoSessValidationError } from '../edge/errors.js';
import { DATA_FIELD } from '../storage/document.js';

/**
 * What may be stored in a session, and how keys map to database paths.
 *
 * User data lives under the document's `d` field, so it can never collide with the fields
 * mongosess keeps (expiry, tombstone marker). A top-level key with dots is a path into nested
 * data: `set({ 'user.name': 'Ann' })` updates only `user.name`, atomically.
 */

/** Far deeper than any session needs; stops stack exhaustion on hostile input. */
export const MAX_DEPTH = 64;

const DOT = 0x2e;
const DOLLAR = 0x24;

/**
 * The UTF-8 bytes of a key inside a value, or -1 when it needs the full check (`checkSegment`):
 * it is empty or long, starts with `$`, holds a NUL, a dot or non-ASCII text, or is a name the
 * check refuses.
 */
function plainKeyBytes(name: string): number {
  const length = name.length;
  if (length === 0 || length > 32 || name.charCodeAt(0) === DOLLAR) return -1;
  for (let i = 0; i < length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0 || c === DOT || c > 0x7f) return -1;
  }
  return REFUSED_NAMES.has(name) ? -1 : length;
}

/** Bytes of an array index as a BSON element name, without making the string. */
function indexBytes(index: number): number {
  let digits = 1;
  for (let bound = 10; index >= bound; bound *= 10) digits++;
  return digits;
}

/**
 * One walk over a set() value that checks it (plain data only, see README; no cycles; no hostile
 * keys at any depth), works out what to store, and counts the BSON bytes that will be stored,
 * refusing as soon as the count passes the limit: a refusal costs what the limit costs, not what
 * the input costs. What to store is the value itself, or a copy in which `undefined` became
 * `null`, as mongosess 0.4 stored it (its BSON serializer wrote undefined as BSON null); the
 * caller's value is never modified. The byte count follows js-bson's `calculateObjectSize`.
 */
class DataWalk {
  /** BSON bytes counted so far. */
  bytes: number;
  readonly #limit: number;
  /** The BSON library of the client: BSON values of another are refused. */
  readonly #bson: ClientBson;
  /** The keys from the set() key down to the container being walked, for error messages only. */
  readonly #path: (string | number)[] = [];
  /** The containers being walked: a cycle is found when the depth limit is reached. */
  readonly #ancestors: object[] = [];

  constructor(bytes: number, limit: number, bson: ClientBson) {
    this.bytes = bytes;
    this.#limit = limit;
    this.#bson = bson;
  }

  #charge(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.#limit) {
      invalid(`set() data, as stored in BSON, goes over the limit of ${this.#limit} (maxDataBytes); store less, or raise maxDataBytes`);
    }
  }

  #where(key?: string | number): string {
    return describeKey([...this.#path, ...(key === undefined ? [] : [key])].join('.'));
  }

  /** Checks and counts `value`, stored under the set() key `key` (its element is already counted). */
  top(key: string, value: unknown, maxDepth: number): unknown {
    this.#path.length = 0;
    this.#path.push(key);
    return this.#value(value, undefined, 1, maxDepth);
  }

  /**
   * Counts `stored`, what the codec made of a value `top()` walked (an encrypted Binary), in
   * place of that value, which was counted from `from` bytes on: the limit charges what is stored.
   */
  recount(from: number, stored: unknown): void {
    const kind = typeof stored === 'object' && stored !== null ? bsonKindOf(stored) : undefined;
    if (kind === undefined) throw new TypeError('mongosess: a codec must store a BSON value');
    this.bytes = from;
    this.#charge(bsonValueBytes(stored as object, kind.type));
  }

  /** Checks `value` (at `key` below the current container) and counts its bytes, not its element's. */
  #value(value: unknown, key: string | number | undefined, depth: number, maxDepth: number): unknown {
    switch (typeof value) {
      case 'string':
        this.#charge(5 + utf8Bytes(value));
        return value;
      case 'number':
        this.#charge(Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 && !Object.is(value, -0) ? 4 : 8);
        return value;
      case 'boolean':
        this.#charge(1);
        return value;
      case 'undefined':
        return null;
      case 'bigint':
        return invalid(`the value at ${this.#where(key)} is a bigint, which would come back as a number; store Long or a string`);
      case 'function':
      case 'symbol':
        return invalid(`the value at ${this.#where(key)} is a ${typeof value}, which is not data`);
    }
    if (value === null) return value;
    const object = value as object;
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto === Object.prototype || proto === null) return this.#container(object, false, key, depth, maxDepth);
    if (Array.isArray(object)) return this.#container(object, true, key, depth, maxDepth);
    if (object instanceof Date) {
      this.#charge(8);
      return value;
    }
    const bsonBytes = object instanceof Uint8Array ? 5 + object.byteLength : this.#bsonBytes(object, key); // Buffer too: a Binary
    if (bsonBytes !== undefined) {
      this.#charge(bsonBytes);
      return value;
    }
    return invalid(`the value at ${this.#where(key)} is a class instance (${object.constructor?.name ?? 'unknown'}); store plain objects`);
  }

  /** The bytes of a BSON value a user may store, or undefined for any other object; refuses one the client cannot store. */
  #bsonBytes(object: object, key: string | number | undefined): number | undefined {
    const kind = bsonKindOf(object);
    return kind && allowedBsonBytes(object, kind, this.#bson, () => this.#where(key));
  }

  /** A plain object or an array: its elements, each checked and counted. */
  #container(object: object, isArray: boolean, key: string | number | undefined, depth: number, maxDepth: number): unknown {
    if (depth > maxDepth) {
      // Every cycle ends here, MAX_DEPTH levels down at most: no per-object bookkeeping before.
      if (this.#ancestors.includes(object)) invalid(`the value at ${this.#where(key)} contains a cycle`);
      invalid(
        `the value at ${this.#where(key)} is nested more than ${maxDepth} levels deep ` +
          `(at most ${MAX_DEPTH}, and MongoDB's ${MAX_PATH_SEGMENTS + 1} levels include the key's path)`,
      );
    }
    this.#charge(5);
    this.#ancestors.push(object);
    if (key !== undefined) this.#path.push(key);
    let result: unknown;
    if (isArray) {
      const array = object as unknown[];
      let copy: unknown[] | undefined;
      for (let i = 0; i < array.length; i++) {
        const item = array[i];
        this.#charge(2 + indexBytes(i));
        const stored = this.#value(item, i, depth + 1, maxDepth);
        if (stored !== item) copy ??= array.slice(0, i);
        copy?.push(stored);
      }
      result = copy ?? array;
    } else {
      const record = object as Record<string, unknown>;
      let copy: Record<string, unknown> | undefined;
      for (const name of Object.keys(record)) {
        let nameBytes = plainKeyBytes(name);
        if (nameBytes < 0) {
          checkSegment(name, () => `key at ${this.#where()}:`);
          if (name.includes('.'))
            invalid(`key ${describeKey(name)} at ${this.#where()} contains '.'; only top-level keys may be dotted paths`);
          nameBytes = utf8Bytes(name);
        }
        const item = record[name];
        this.#charge(2 + nameBytes);
        const stored = this.#value(item, name, depth + 1, maxDepth);
        if (stored !== item && !copy) copy = { ...record };
        if (copy) copy[name] = stored;
      }
      result = copy ?? record;
    }
    if (key !== undefined) this.#path.pop();
    this.#ancestors.pop();
    return result;
  }
}

/** A validated `set()`: the `$set` on the data field, and the most it can add to the stored data. */
export interface SetWrite {
  $set: Record<string, unknown>;
  /**
   * The most the write can add to the stored data, in BSON bytes: the larger of the `$set` as
   * sent and the data it stores (a dotted path creates a document at every level that does not
   * exist yet), plus the nulls the server may add padding arrays (see data/size.ts).
   */
  bytes: number;
}

/**
 * Validates `set()`'s argument and turns it into a `$set` on the data field. Throws a
 * MongoSessValidationError (before anything reaches the database) on any bad key or value, a
 * BSON value of another library than the client's (`bson`) included.
 */
export function buildSet(data: unknown, maxBytes: number, codec: DataCodec = PLAIN_CODEC, bson: ClientBson = OWN_BSON): SetWrite {
  try {
    return buildSetOf(data, maxBytes, codec, bson);
  } catch (err) {
    if (err instanceof MongoSessValidationError) throw err;
    // A getter or Proxy in the argument threw, or the serializer met something exotic.
    throw new MongoSessValidationError('reading the set() argument failed; pass plain data', { cause: err });
  }
}

function buildSetOf(data: unknown, maxBytes: number, codec: DataCodec, bson: ClientBson): SetWrite {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    invalid(`set() takes an object of keys and values, got: ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  if (!isPlainObject(data)) invalid('set() takes a plain object of keys and values');

  // The keys first: the bytes they cost as sent (the `$set` document, each key under `d.`) and as
  // stored (each key's last segment, and a document for every level above it, shared by keys
  // with the same prefix), so that walking the values can stop as soon as the limit is passed.
  const keys = Object.keys(data);
  const paths: string[][] = [];
  let sentKeyBytes = 5;
  let storedKeyBytes = 0;
  for (const key of keys) {
    const segments = checkKey(key, 'set');
    paths.push(segments);
    sentKeyBytes += 2 + utf8Bytes(`${DATA_FIELD}.${key}`);
    storedKeyBytes += 2 + utf8Bytes(segments[segments.length - 1] as string);
  }
  storedKeyBytes += checkNoOverlap(keys, paths);
  const padding = paddingCharge(paths);
  const keyBytes = Math.max(sentKeyBytes, storedKeyBytes);
  if (keyBytes > maxBytes) {
    invalid(
      `set() keys alone are ${keyBytes} bytes of BSON as stored (a dotted path stores a document at every level), ` +
        `over the limit of ${maxBytes} (maxDataBytes); use fewer or shorter paths`,
    );
  }
  if (keyBytes + padding > maxBytes) {
    invalid(
      `set() data is ${keyBytes} bytes of BSON before any value, and its numeric path segments (array indexes) could make the server add ` +
        `${padding} bytes of nulls padding arrays, over the limit of ${maxBytes} (maxDataBytes); use smaller indexes or non-numeric keys`,
    );
  }

  const update: Record<string, unknown> = {};
  const walk = new DataWalk(keyBytes + padding, maxBytes, bson);
  for (const [index, key] of keys.entries()) {
    // The path's own segments count towards MongoDB's nesting limit.
    const segments = paths[index] as string[];
    const maxDepth = Math.min(MAX_DEPTH, MAX_PATH_SEGMENTS - segments.length);
    const from = walk.bytes;
    const checked = walk.top(key, (data as Record<string, unknown>)[key], maxDepth);
    // Encoded (encrypted) after the walk, and charged as stored: maxDataBytes counts what is stored.
    const stored = codec.encode(segments, checked);
    if (stored !== checked) walk.recount(from, stored);
    update[`${DATA_FIELD}.${key}`] = stored;
  }
  return { $set: update, bytes: walk.bytes };
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
