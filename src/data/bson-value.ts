/**
 * BSON values (ObjectId, Binary, Long, …) from any copy of js-bson. A driver writes only values
 * of its own bson major (mongodb 6.x: bson 6; 7.x: bson 7) and refuses any other with a
 * BSONVersionError, and a caller's client can be of either (Mongoose 8's getClient() is mongodb
 * 6.x). So a value is recognized by the `_bsontype` and the major version every js-bson value
 * carries, not by `instanceof` this package's classes, and is checked against the client's major.
 */
import { BSON, ObjectId } from 'mongodb';
import { invalid, isPlainObject, utf8Bytes } from './path.js';

/** Where every js-bson value (bson 5 and later) says the major version of the library that made it. */
const BSON_VERSION: unique symbol = Symbol.for('@@mdb.bson.version');

/** The BSON types a user may store or filter on besides plain data; `Code` and `DBRef` are not among them. */
const ALLOWED_TYPES: ReadonlySet<string> = new Set(['ObjectId', 'Decimal128', 'Long', 'Int32', 'Double', 'Binary', 'Timestamp']);

/** A js-bson value: its type (`_bsontype`) and the major version of the library that made it. */
export interface BsonValueKind {
  type: string;
  major: number;
}

/** What a Binary of any bson major holds: its subtype and its bytes (the first `position` of `buffer`). */
export interface BinaryLike {
  readonly sub_type: number;
  readonly buffer: Uint8Array;
  readonly position: number;
}

/** The type and major of a js-bson value from any copy of the library, or undefined for anything else. */
export function bsonKindOf(value: object): BsonValueKind | undefined {
  const type: unknown = (value as { _bsontype?: unknown })._bsontype;
  const major: unknown = (value as { [BSON_VERSION]?: unknown })[BSON_VERSION];
  return typeof type === 'string' && typeof major === 'number' ? { type, major } : undefined;
}

/** Whether `value` is a BSON Binary of any bson major. */
export function isBinaryLike(value: unknown): value is BinaryLike {
  return typeof value === 'object' && value !== null && bsonKindOf(value)?.type === 'Binary';
}

/** The BSON library of a client's driver, as far as mongosess needs it. */
export interface ClientBson {
  /** Its major version: the client's driver refuses values of any other. */
  readonly major: number;
  /** An ObjectId of that library, from its 24 hex characters (a mongosess 0.4 session's `_id`). */
  readonly objectId: (hex: string) => ObjectId;
}

/** The BSON library of this package's driver: that of every client mongosess creates. */
export const OWN_BSON: ClientBson = {
  major: (bsonKindOf(new ObjectId()) as BsonValueKind).major,
  objectId: (hex) => new ObjectId(hex),
};

/**
 * The BSON bytes of `value`, of a type a user may store (`kind`), or undefined for any other
 * type. Throws a MongoSessValidationError naming `where` for a value of another bson major than
 * the client's: its driver would refuse it.
 */
export function allowedBsonBytes(value: object, kind: BsonValueKind, client: ClientBson, where: () => string): number | undefined {
  if (!ALLOWED_TYPES.has(kind.type)) return undefined;
  if (kind.major !== client.major) {
    invalid(
      `the value at ${where()} is ${/^[AEIOU]/.test(kind.type) ? 'an' : 'a'} ${kind.type} of bson ${kind.major}, which the client cannot store: ` +
        `it comes from mongodb ${client.major}.x, which writes only bson ${client.major} values. Make the ${kind.type} with the client's own ` +
        `driver (the mongodb package it comes from, or mongoose.mongo of the Mongoose whose client it is)`,
    );
  }
  return bsonValueBytes(value, kind.type);
}

/** The BSON bytes of a value of an allowed `type` (js-bson's `calculateObjectSize`, without its element). */
export function bsonValueBytes(value: object, type: string): number {
  switch (type) {
    case 'Binary': {
      const binary = value as BinaryLike;
      return 5 + binary.position + (binary.sub_type === BINARY_OLD ? 4 : 0);
    }
    case 'ObjectId':
      return 12;
    case 'Decimal128':
      return 16;
    case 'Int32':
      return 4;
    default:
      return 8; // Long, Double, Timestamp
  }
}

/** Binary subtype 2 (the old binary subtype) stores its length twice. */
const BINARY_OLD = 2;

/**
 * The BSON bytes of `doc` as a client of any bson major stores it. This package's
 * `BSON.calculateObjectSize` refuses (BSONVersionError) to measure values of another major, such
 * as every BSON value a mongodb 6.x client reads back: containers are walked here, values of
 * another major counted here (those of a type a user may store: any other is refused with a
 * MongoSessValidationError naming its path), and every other value by `calculateObjectSize`.
 */
export function documentBytes(doc: object, path = ''): number {
  let bytes = 5;
  for (const [name, value] of Object.entries(doc)) {
    const at = path === '' ? name : `${path}.${name}`;
    bytes += 2 + utf8Bytes(name);
    if (typeof value !== 'object' || value === null) {
      bytes += BSON.calculateObjectSize({ v: value }) - 8; // `{ v: value }` is 8 bytes more than the value
    } else if (Array.isArray(value) || isPlainObject(value)) {
      bytes += documentBytes(value, at);
    } else {
      const kind = bsonKindOf(value);
      if (kind === undefined || kind.major === OWN_BSON.major) {
        bytes += BSON.calculateObjectSize({ v: value }) - 8;
      } else if (ALLOWED_TYPES.has(kind.type)) {
        bytes += bsonValueBytes(value, kind.type);
      } else {
        invalid(
          `the session's value at ${JSON.stringify(at)} is a ${kind.type} of bson ${kind.major}, which mongosess cannot measure; del() it first`,
        );
      }
    }
  }
  return bytes;
}
