import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from 'mongodb';
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
const MAX_DEPTH = 64;

/** Keys that pollute prototypes when data is merged into objects by careless code. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** BSON values a user may store besides plain data; `Code` and `DBRef` are not among them. */
const ALLOWED_BSON = [ObjectId, Decimal128, Long, Int32, Double, Binary, Timestamp] as const;

function invalid(message: string): never {
  throw new MongoSessValidationError(`mongosess: ${message}`);
}

function describeKey(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

/** Checks one segment of a key: no empty name, no `$` operator, no NUL, no prototype key, no dot. */
function checkSegment(segment: string, where: string): void {
  if (segment.length === 0) invalid(`${where} has an empty name; use a non-empty key`);
  if (segment.startsWith('$')) invalid(`${where} ${describeKey(segment)} starts with '$', which MongoDB reads as an operator`);
  if (segment.includes('\0')) invalid(`${where} contains a NUL character`);
  if (FORBIDDEN_KEYS.has(segment)) invalid(`${where} ${describeKey(segment)} is not allowed (prototype pollution)`);
  if (segment === '_bsontype') invalid(`${where} "_bsontype" is not allowed: the driver would misread the object as a BSON type`);
}

/**
 * Checks a key given to set/get/del: a string, not `_id`, each dot-separated part a valid name.
 * Returns its path segments.
 */
export function checkKey(key: unknown, action: 'set' | 'get' | 'del'): string[] {
  if (typeof key !== 'string') invalid(`${action}() keys must be strings, got: ${typeof key}`);
  const segments = key.split('.');
  // `_id` is the session id (shown by get()), so neither it nor a path inside it is data.
  if (segments[0] === '_id') invalid('Cannot modify _id field.');
  for (const segment of segments) checkSegment(segment, `key ${describeKey(key)}:`);
  return segments;
}

/** Checks a value: plain data only (see README), no cycles, no hostile keys at any depth. */
function checkValue(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
      return;
    case 'undefined':
      invalid(`the value at ${describeKey(path)} is undefined; use null to store "nothing" or del() to remove a key`);
    case 'bigint':
      invalid(`the value at ${describeKey(path)} is a bigint, which would come back as a number; store Long or a string`);
    case 'function':
    case 'symbol':
      invalid(`the value at ${describeKey(path)} is a ${typeof value}, which is not data`);
  }
  if (value === null || value instanceof Date) return;
  if (depth > MAX_DEPTH) invalid(`the value at ${describeKey(path)} is nested more than ${MAX_DEPTH} levels deep`);
  const object = value as object;
  if (ancestors.has(object)) invalid(`the value at ${describeKey(path)} contains a cycle`);

  if (Array.isArray(object)) {
    ancestors.add(object);
    for (let i = 0; i < object.length; i++) checkValue(object[i], `${path}.${i}`, depth + 1, ancestors);
    ancestors.delete(object);
    return;
  }
  if (Buffer.isBuffer(object) || object instanceof Uint8Array) return;
  if (ALLOWED_BSON.some((type) => object instanceof type)) return;

  if (!isPlainObject(object)) {
    invalid(`the value at ${describeKey(path)} is a class instance (${object.constructor?.name ?? 'unknown'}); store plain objects`);
  }
  if ('_bsontype' in object) invalid(`the value at ${describeKey(path)} has a _bsontype key, which the driver would misread as a BSON type`);

  ancestors.add(object);
  for (const key of Object.keys(object)) {
    checkSegment(key, `key at ${describeKey(path)}:`);
    if (key.includes('.')) invalid(`key ${describeKey(key)} at ${describeKey(path)} contains '.'; only top-level keys may be dotted paths`);
    checkValue((object as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, ancestors);
  }
  ancestors.delete(object);
}

/**
 * Validates `set()`'s argument and turns it into a `$set` on the data field. Throws a
 * MongoSessValidationError (before anything reaches the database) on any bad key or value.
 */
export function buildSet(data: unknown, maxBytes: number): Record<string, unknown> {
  try {
    return buildSetOf(data, maxBytes);
  } catch (err) {
    if (err instanceof MongoSessValidationError) throw err;
    // A getter or Proxy in the argument threw, or the serializer met something exotic.
    throw new MongoSessValidationError('mongosess: reading the set() argument failed; pass plain data', { cause: err });
  }
}

function buildSetOf(data: unknown, maxBytes: number): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    invalid(`set() takes an object of keys and values, got: ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  if (!isPlainObject(data)) invalid('set() takes a plain object of keys and values');

  const update: Record<string, unknown> = {};
  const paths: string[][] = [];
  for (const key of Object.keys(data)) {
    paths.push(checkKey(key, 'set'));
    const value = (data as Record<string, unknown>)[key];
    checkValue(value, key, 1, new Set());
    update[`${DATA_FIELD}.${key}`] = value;
  }
  checkNoOverlap(paths);

  const bytes = BSON.calculateObjectSize(update);
  if (bytes > maxBytes) invalid(`set() data is ${bytes} bytes of BSON, over the limit of ${maxBytes} (maxDataBytes)`);
  return update;
}

/** MongoDB refuses an update that names both `a` and `a.b`; say so before sending it. */
function checkNoOverlap(paths: string[][]): void {
  const seen = new Set(paths.map((segments) => segments.join('.')));
  for (const segments of paths) {
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join('.');
      if (seen.has(prefix)) invalid(`keys ${describeKey(prefix)} and ${describeKey(segments.join('.'))} overlap; set one or the other`);
    }
  }
}

/** Validates `del()`'s keys and turns them into an `$unset` on the data field. */
export function buildUnset(keys: readonly unknown[]): Record<string, ''> {
  const unset: Record<string, ''> = {};
  const paths: string[][] = [];
  for (const key of keys) {
    paths.push(checkKey(key, 'del'));
    unset[`${DATA_FIELD}.${key as string}`] = '';
  }
  checkNoOverlap(paths);
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

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Turns a filter on session data, `{ userId: 42 }`, into one on the data field. Values may use
 * query operators (`{ $in: [...] }`) but never ones that run code on the server.
 */
export function buildDataFilter(filter: unknown): Record<string, unknown> {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    invalid('the filter must be an object of data keys and values, for example { userId: 42 }');
  }
  const query: Record<string, unknown> = {};
  for (const key of Object.keys(filter)) {
    if (typeof key === 'string' && key === '_id') invalid('filtering on _id is not possible: ids are stored hashed');
    checkKey(key, 'get');
    const value = (filter as Record<string, unknown>)[key];
    checkNoCodeOperators(value, 0);
    query[`${DATA_FIELD}.${key}`] = value;
  }
  return query;
}

const CODE_OPERATORS = new Set(['$where', '$function', '$accumulator', '$expr']);

function checkNoCodeOperators(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth > MAX_DEPTH) invalid(`the filter is nested more than ${MAX_DEPTH} levels deep`);
  for (const key of Object.keys(value)) {
    if (CODE_OPERATORS.has(key)) invalid(`the filter may not use ${key}`);
    checkNoCodeOperators((value as Record<string, unknown>)[key], depth + 1);
  }
}
