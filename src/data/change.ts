/**
 * Applies a `$set` as buildSet (data/session-data.ts) makes it (`{ 'd.a.b': value }`) to session
 * data in memory, as MongoDB would apply it to the stored document: for `regenerate({ set })`,
 * whose new document is written whole, with the change already in it. Nothing is changed in
 * place: the containers along each path are copied.
 */
import { BSON } from 'mongodb';
import { tooLargeError } from './size.js';
import { MongoSessValidationError } from '../edge/errors.js';
import type { DataCodec } from './codec.js';
import { buildSet } from './session-data.js';
import { documentBytes, OWN_BSON, type ClientBson } from './bson-value.js';
import { DATA_FIELD } from '../storage/document.js';

type Container = Record<string, unknown> | unknown[];

const PREFIX = `${DATA_FIELD}.`;

/**
 * `data` with every path of `$set` set. Where a path crosses a value that cannot hold keys (a
 * string, a number, null), the new value wins and replaces it: the login's data is never lost
 * to whatever a concurrent request stored meanwhile.
 */
export function applySet(data: Record<string, unknown>, $set: Record<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = { ...data };
  for (const [path, value] of Object.entries($set)) {
    const segments = (path.startsWith(PREFIX) ? path.slice(PREFIX.length) : path).split('.');
    let container: Container = root;
    for (const [i, segment] of segments.entries()) {
      if (i === segments.length - 1) {
        put(container, segment, value);
        break;
      }
      const next = get(container, segment);
      const copy: Container = Array.isArray(next) ? [...next] : isRecord(next) ? { ...next } : {};
      put(container, segment, copy);
      container = copy;
    }
  }
  return root;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function get(container: Container, segment: string): unknown {
  return Object.hasOwn(container, segment) ? (container as Record<string, unknown>)[segment] : undefined;
}

function put(container: Container, segment: string, value: unknown): void {
  // Defined, not assigned: whatever the key, it becomes data and never reaches a setter or prototype.
  Object.defineProperty(container, segment, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Refuses (before anything is written) session data over `maxBytes` of BSON: `regenerate({ set })`
 * writes the whole data, so it is measured whole, on any server. The data holds the values of the
 * client's bson (`bson`): those of another than this package's are measured one by one.
 */
export function checkDataSize(data: Record<string, unknown>, maxBytes: number, bson: ClientBson = OWN_BSON): void {
  const bytes = bson.major === OWN_BSON.major ? BSON.calculateObjectSize(data) : documentBytes(data);
  if (bytes > maxBytes) throw tooLargeError(maxBytes);
}

/**
 * The `$set` of `regenerate({ set })`, checked and encoded (encrypted) by `codec` as `set()` does
 * its argument, and the most it adds to the stored data; undefined without one.
 */
export function regenerateChange(
  options: unknown,
  maxBytes: number,
  codec: DataCodec,
  bson: ClientBson,
): { $set: Record<string, unknown>; bytes: number } | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new MongoSessValidationError('regenerate() takes { set: { ... } } or nothing');
  }
  const unknownKeys = Object.keys(options).filter((key) => key !== 'set');
  if (unknownKeys.length > 0) throw new MongoSessValidationError(`regenerate() has no option ${unknownKeys.join(', ')}; it takes { set }`);
  const { set } = options as { set?: unknown };
  if (set === undefined) return undefined;
  const { $set, bytes } = buildSet(set, maxBytes, codec, bson);
  return Object.keys($set).length > 0 ? { $set, bytes } : undefined;
}
