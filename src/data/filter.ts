import { PLAIN_CODEC, type DataCodec } from './codec.js';
import { checkKey, describeKey, invalid, isPlainObject } from './path.js';
import { MAX_DEPTH } from './session-data.js';
import { allowedBsonBytes, bsonKindOf, OWN_BSON, type ClientBson } from './bson-value.js';
import { DATA_FIELD } from '../storage/document.js';

/**
 * Filters on session data for `endAll`, `countSessions` and `listSessions`. A filter ends,
 * counts or lists every session it matches, so anything that would silently widen it is
 * refused: `undefined` (the driver sends it as null, matching every session without the key),
 * class instances such as a `Map` (serialized as an empty document), and operators that run
 * code on the server.
 */

const CODE_OPERATORS = new Set(['$where', '$function', '$accumulator', '$expr']);

/**
 * Turns a filter on session data, `{ userId: 42 }`, into one on the data field. Values may use
 * query operators (`{ $in: [...] }`) but never ones that run code on the server, nor BSON values
 * of another library than the client's (`bson`). `{}` matches every live session.
 */
export function buildDataFilter(filter: unknown, codec: DataCodec = PLAIN_CODEC, bson: ClientBson = OWN_BSON): Record<string, unknown> {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter) || !isPlainObject(filter)) {
    invalid('the filter must be a plain object of data keys and values, for example { userId: 42 }');
  }
  const query: Record<string, unknown> = {};
  for (const key of Object.keys(filter)) {
    if (key === '_id') invalid('filtering on _id is not possible: ids are stored hashed');
    codec.checkFilterKey(checkKey(key, 'get'));
    const value = (filter as Record<string, unknown>)[key];
    checkFilterValue(value, key, 0, bson);
    query[`${DATA_FIELD}.${key}`] = value;
  }
  return query;
}

/** Query values: data (as set() allows, plus RegExp), operator objects and arrays of them. */
function checkFilterValue(value: unknown, path: string, depth: number, bson: ClientBson): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
      return;
    case 'undefined':
      invalid(
        `the filter value at ${describeKey(path)} is undefined, which would match every session without that key; ` +
          'pass a value, or null to match sessions without it on purpose',
      );
      break;
    case 'function':
    case 'symbol':
      invalid(`the filter value at ${describeKey(path)} is a ${typeof value}, which is not data`);
      break;
  }
  if (value === null || value instanceof Date || value instanceof RegExp) return;
  if (depth > MAX_DEPTH) invalid(`the filter is nested more than ${MAX_DEPTH} levels deep`);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return;
  const kind = bsonKindOf(value as object);
  if (kind && allowedBsonBytes(value as object, kind, bson, () => describeKey(path)) !== undefined) return;
  if (Array.isArray(value)) {
    for (const [i, item] of (value as unknown[]).entries()) checkFilterValue(item, `${path}.${i}`, depth + 1, bson);
    return;
  }
  if (!isPlainObject(value)) {
    invalid(
      `the filter value at ${describeKey(path)} is a class instance (${(value as object).constructor?.name ?? 'unknown'}); use plain objects`,
    );
  }
  for (const key of Object.keys(value as object)) {
    if (CODE_OPERATORS.has(key)) invalid(`the filter may not use ${key}`);
    checkFilterValue((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, bson);
  }
}
