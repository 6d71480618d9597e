import { isDeepStrictEqual } from 'node:util';
import { isMongoClient } from '../storage/driver-objects.js';
import { CONNECT_OPTIONS } from './connect-options.js';

function asOptions(input: unknown): Record<string, unknown> {
  return typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
}

function same(a: unknown, b: unknown): boolean {
  // Functions and clients are the same only if they are the same object; plain data (uri,
  // clientOptions, servers, …) compares by value, so an equal literal written again is not a change.
  if (typeof a === 'function' || typeof b === 'function' || isMongoClient(a) || isMongoClient(b)) {
    return Object.is(a, b);
  }
  return isDeepStrictEqual(a, b);
}

/**
 * The names of the `connect()` options (those of the spec table) whose values differ between
 * two calls. Names only: values may hold credentials.
 */
export function changedConnectOptions(before: unknown, after: unknown): string[] {
  const a = asOptions(before);
  const b = asOptions(after);
  return Object.keys(CONNECT_OPTIONS).filter((name) => !same(a[name], b[name]));
}
