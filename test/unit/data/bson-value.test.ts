// BSON values from any copy of js-bson: recognized by their `_bsontype` and bson major, counted
// as js-bson counts them, and refused (with a validation error that says how to fix it) when the
// client's driver, of another major, could not write them. Mongoose 8 brings bson 6.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from 'mongodb';
import { allowedBsonBytes, bsonKindOf, documentBytes, isBinaryLike, OWN_BSON, type ClientBson } from '../../../src/data/bson-value.js';
import { checkDataSize } from '../../../src/data/change.js';
import { buildDataFilter } from '../../../src/data/filter.js';
import { buildSet } from '../../../src/data/session-data.js';
import { isSealed, SEALED_SUBTYPE } from '../../../src/data/encryption.js';
import { PLAIN_CODEC } from '../../../src/data/codec.js';

const require = createRequire(import.meta.url);
const mongodb6 = require(require.resolve('mongodb', { paths: [require.resolve('mongoose8')] })) as typeof import('mongodb');
const MiB = 1024 * 1024;
/** The BSON of a mongodb 6.x client, as connect() finds it. */
const BSON6: ClientBson = { major: 6, objectId: (hex) => new mongodb6.ObjectId(hex) };

describe('BSON values from any copy of js-bson', () => {
  it('bson 6 classes are really other classes (else this tests nothing)', () => {
    assert.notEqual(mongodb6.ObjectId, ObjectId);
    assert.equal(OWN_BSON.major, 7);
  });

  it('bsonKindOf names the type and the bson major of a value, and nothing for other objects', () => {
    assert.deepEqual(bsonKindOf(new ObjectId()), { type: 'ObjectId', major: 7 });
    assert.deepEqual(bsonKindOf(new mongodb6.ObjectId()), { type: 'ObjectId', major: 6 });
    assert.deepEqual(bsonKindOf(new mongodb6.UUID()), { type: 'Binary', major: 6 });
    assert.deepEqual(bsonKindOf(new mongodb6.Code('x')), { type: 'Code', major: 6 });
    for (const other of [{}, { _bsontype: 'ObjectId' }, new Date(), Buffer.from('x'), new Map()])
      assert.equal(bsonKindOf(other), undefined);
    assert.equal(isBinaryLike(new mongodb6.Binary(Buffer.from('x'))), true);
    assert.equal(isBinaryLike(new mongodb6.ObjectId()), false);
  });

  it('allowedBsonBytes counts as js-bson does, whatever the major', () => {
    const values = (lib: typeof import('mongodb')) => [
      new lib.ObjectId(),
      lib.Decimal128.fromString('1.5'),
      lib.Long.fromNumber(3),
      new lib.Int32(4),
      new lib.Double(5),
      new lib.Timestamp({ t: 1, i: 2 }),
      new lib.Binary(Buffer.from('abc'), 0x80),
      new lib.Binary(Buffer.from('abc'), 2),
    ];
    const ours = values({ ObjectId, Decimal128, Long, Int32, Double, Timestamp, Binary } as typeof import('mongodb'));
    for (const [i, value] of values(mongodb6).entries()) {
      const kind = bsonKindOf(value);
      assert.ok(kind);
      const own = ours[i] as object;
      // js-bson's own count of the element, minus its type byte and its name ('v' and a NUL).
      const expected = BSON.calculateObjectSize({ v: own }) - 4 - 1 - 3;
      assert.equal(
        allowedBsonBytes(value, kind, BSON6, () => '"v"'),
        expected,
        kind.type,
      );
    }
    const code = new mongodb6.Code('x');
    assert.equal(
      allowedBsonBytes(code, { type: 'Code', major: 6 }, BSON6, () => '"v"'),
      undefined,
      'not a type a user may store',
    );
  });

  it('set() takes the BSON values of the client, and refuses those of another major with a validation error', () => {
    const id6 = new mongodb6.ObjectId();
    const write = buildSet({ owner: id6, list: [mongodb6.Long.fromNumber(1)] }, MiB, PLAIN_CODEC, BSON6);
    assert.equal(write.$set['d.owner'], id6, 'stored as given');
    assert.throws(() => buildSet({ owner: id6 }, MiB), {
      name: 'MongoSessValidationError',
      message:
        /the value at "owner" is an ObjectId of bson 6, which the client cannot store: it comes from mongodb 7\.x, which writes only bson 7 values\. Make the ObjectId with the client's own driver/,
    });
    assert.throws(
      () => buildSet({ a: { b: [new ObjectId()] } }, MiB, PLAIN_CODEC, BSON6),
      /the value at "a\.b\.0" is an ObjectId of bson 7.*mongodb 6\.x/,
    );
    assert.throws(() => buildSet({ c: new mongodb6.Code('x') }, MiB, PLAIN_CODEC, BSON6), /is a class instance \(Code\)/);
  });

  it('filters take the BSON values of the client, and refuse those of another major', () => {
    const id6 = new mongodb6.ObjectId();
    assert.deepEqual(buildDataFilter({ owner: { $in: [id6] } }, PLAIN_CODEC, BSON6), { 'd.owner': { $in: [id6] } });
    assert.throws(() => buildDataFilter({ owner: id6 }), { name: 'MongoSessValidationError', message: /"owner" is an ObjectId of bson 6/ });
  });

  it("documentBytes measures data of bson 6 values as bson 6's own calculateObjectSize does", () => {
    const lib = mongodb6;
    const data = {
      name: 'Ann ✓',
      n: 1,
      big: 2 ** 40,
      ok: true,
      none: null,
      at: new Date(0),
      re: /x/i,
      buf: Buffer.from('abc'),
      ids: [new lib.ObjectId(), new lib.ObjectId()],
      nested: {
        long: lib.Long.fromNumber(7),
        d: lib.Decimal128.fromString('2.5'),
        bin: new lib.Binary(Buffer.from('xy'), 2),
        t: new lib.Timestamp({ t: 1, i: 1 }),
      },
    };
    assert.equal(documentBytes(data), lib.BSON.calculateObjectSize(data));
    const own = { a: [new ObjectId(), 'x'], b: { c: Long.fromNumber(1) } };
    assert.equal(documentBytes(own), BSON.calculateObjectSize(own), 'bson 7 values too');
    assert.throws(() => documentBytes({ a: { code: new lib.Code('x') } }), {
      name: 'MongoSessValidationError',
      message: /the session's value at "a\.code" is a Code of bson 6, which mongosess cannot measure/,
    });
    checkDataSize(data, 10_000, BSON6);
    assert.throws(() => checkDataSize(data, 100, BSON6), { name: 'MongoSessValidationError' });
  });

  it('a sealed value is recognized as a mongodb 6.x client reads it back, and reserved in set()', () => {
    const sealed6 = new mongodb6.Binary(Buffer.alloc(40), SEALED_SUBTYPE);
    assert.equal(isSealed(sealed6), true);
    assert.throws(() => buildSet({ blob: sealed6 }, MiB, PLAIN_CODEC, BSON6), /which mongosess reserves for encrypted values/);
    assert.throws(() => PLAIN_CODEC.decode({ blob: sealed6 }), { name: 'MongoSessDecryptionError' });
  });
});
