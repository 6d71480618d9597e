import { MongoSessValidationError } from '../edge/errors.js';

/**
 * Keys and dotted paths into session data: what a key may be called, how deep a path may go,
 * and which keys of one call collide. Every check here is linear in the size of its input.
 */

/**
 * MongoDB nests documents at most 100 levels deep, counting the session document itself
 * ("Nested Depth for BSON Documents" in MongoDB's Limits and Thresholds). The session document
 * is level 1 and its data field `d` level 2, so a path of 99 segments reaches level 100.
 */
export const MONGODB_MAX_NESTING = 100;
export const MAX_PATH_SEGMENTS = MONGODB_MAX_NESTING - 1;

/** Keys that pollute prototypes when data is merged into objects by careless code. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Every name `checkSegment` refuses whatever its characters: the prototype keys and `_bsontype`. */
export const REFUSED_NAMES: ReadonlySet<string> = new Set([...FORBIDDEN_KEYS, '_bsontype']);

export function invalid(message: string): never {
  throw new MongoSessValidationError(`${message}`);
}

export function describeKey(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

export function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks one segment of a key: no empty name, no `$` operator, no NUL, no prototype key.
 * `where` describes the key for an error message; it is only called on an error.
 */
export function checkSegment(segment: string, where: () => string): void {
  if (segment.length === 0) invalid(`${where()} has an empty name; use a non-empty key`);
  if (segment.startsWith('$')) invalid(`${where()} ${describeKey(segment)} starts with '$', which MongoDB reads as an operator`);
  if (segment.includes('\0')) invalid(`${where()} contains a NUL character`);
  if (FORBIDDEN_KEYS.has(segment)) invalid(`${where()} ${describeKey(segment)} is not allowed (prototype pollution)`);
  if (segment === '_bsontype') invalid(`${where()} "_bsontype" is not allowed: the driver would misread the object as a BSON type`);
}

/** Bytes of a BSON element's name (or a string's content) in UTF-8; short ASCII text without a native call. */
export function utf8Bytes(text: string): number {
  const length = text.length;
  if (length > 32) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text, 'utf8');
  return length;
}

/** Whether `checkSegment` would accept `segment`, answered without building a message. */
function isPlainSegment(segment: string): boolean {
  if (segment.length === 0 || segment.charCodeAt(0) === 0x24 || segment.includes('\0')) return false;
  return !REFUSED_NAMES.has(segment);
}

/** Whether `key` has more than `limit` dot-separated segments; stops scanning once it has. */
function hasMoreSegmentsThan(key: string, limit: number): boolean {
  let segments = 1;
  for (let dot = key.indexOf('.'); dot !== -1; dot = key.indexOf('.', dot + 1)) {
    if (++segments > limit) return true;
  }
  return false;
}

/**
 * Checks a key given to set/get/del or a filter: a string, not `_id`, at most
 * MAX_PATH_SEGMENTS segments (checked before the key is split), each a valid name.
 * Returns its path segments.
 */
export function checkKey(key: unknown, action: 'set' | 'get' | 'del'): string[] {
  if (typeof key !== 'string') invalid(`${action}() keys must be strings, got: ${typeof key}`);
  if (hasMoreSegmentsThan(key, MAX_PATH_SEGMENTS)) {
    invalid(
      `key ${describeKey(key)} is a path of more than ${MAX_PATH_SEGMENTS} segments; MongoDB nests documents ` +
        `at most ${MONGODB_MAX_NESTING} levels deep (counting the session document), so use fewer dots`,
    );
  }
  const segments = key.split('.');
  // `_id` is the session id (shown by get()), so neither it nor a path inside it is data.
  if (segments[0] === '_id') invalid('Cannot modify _id field.');
  for (const segment of segments) {
    // The common case without making a closure for an error message that is not needed.
    if (!isPlainSegment(segment)) checkSegment(segment, () => `key ${describeKey(key)}:`);
  }
  return segments;
}

interface PathNode {
  /** The key that ends here, if one does. */
  key: string | undefined;
  /** Made for the first key that goes deeper: most nodes are leaves. */
  children: Map<string, PathNode> | undefined;
}

/** Any key that ends at or below `node`. */
function someKeyBelow(node: PathNode): string {
  let current = node;
  while (current.key === undefined) current = current.children?.values().next().value as PathNode;
  return current.key;
}

/**
 * MongoDB refuses an update that names both `a` and `a.b`; say so before sending it. The keys
 * go into a tree of their segments, so the check costs one step per segment. The same key
 * twice (`del('a', 'a')`) is no overlap.
 *
 * Returns the BSON bytes of the documents the paths need above their last segments (`a.b.c`
 * needs documents `a` and `b`), each counted once however many keys share it: what a `$set` of
 * these paths stores beyond its values where none of those documents exists yet.
 */
export function checkNoOverlap(keys: readonly string[], paths: readonly (readonly string[])[]): number {
  const root: PathNode = { key: undefined, children: undefined };
  let levelBytes = 0;
  paths.forEach((segments, index) => {
    const key = keys[index] as string;
    let node = root;
    for (const [depth, segment] of segments.entries()) {
      if (node.key !== undefined) overlap(node.key, key);
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (!child) {
        child = { key: undefined, children: undefined };
        node.children.set(segment, child);
      }
      // A document holding what is below: type, name and NUL, size, terminator.
      if (depth < segments.length - 1 && !child.children) levelBytes += 7 + utf8Bytes(segment);
      node = child;
    }
    if (node.children) overlap(key, someKeyBelow(node));
    node.key = key;
  });
  return levelBytes;
}

function overlap(shorter: string, longer: string): never {
  invalid(`keys ${describeKey(shorter)} and ${describeKey(longer)} overlap; set one or the other`);
}
