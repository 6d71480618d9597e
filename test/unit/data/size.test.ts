// The size cap holds for what the server stores: numeric path segments are charged the nulls the
// server writes when it pads an array up to that index.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from 'mongodb';
import { paddingBytes, paddingCharge, sizeFilter } from '../../../src/data/size.js';
import { buildSet } from '../../../src/data/session-data.js';

const MiB = 1024 * 1024;

describe('array padding', () => {
  it('paddingBytes(n) is exactly what n nulls add to a BSON array', () => {
    const empty = BSON.calculateObjectSize({ list: [] });
    for (const n of [0, 1, 9, 10, 11, 99, 100, 101, 12_345, 100_000]) {
      assert.equal(paddingBytes(n), BSON.calculateObjectSize({ list: new Array(n).fill(null) }) - empty, `n = ${n}`);
    }
    assert.equal(paddingBytes(100_000), 688_890, 'list.100000 pads the document by 689 KB');
  });

  it('every numeric segment below the top level is charged; the top level (the data object) never is', () => {
    assert.equal(paddingCharge([['5'], ['list', 'x']]), 0);
    assert.equal(paddingCharge([['list', '10']]), paddingBytes(10));
    assert.equal(
      paddingCharge([
        ['a', '3', '4'],
        ['b', '007'],
      ]),
      paddingBytes(3) + paddingBytes(4) + paddingBytes(7),
    );
    assert.equal(paddingCharge([['a', '1234567890']]), Number.POSITIVE_INFINITY);
  });

  it('set() refuses an index whose padding would take the stored data past maxDataBytes, before sending anything', () => {
    // The 18-byte payload that made the server store 7.9 MB:
    assert.throws(
      () => buildSet({ 'list.1000000': 1 }, MiB),
      /could make the server add 7888890 bytes of nulls padding arrays, over the limit of 1048576/,
    );
    assert.throws(() => buildSet({ 'list.100000': 1 }, 512 * 1024), /over the limit of 524288 \(maxDataBytes\)/);
    assert.throws(() => buildSet({ 'a.99999999999': 1 }, MiB), /maxDataBytes/);
    // Charged, not refused, while it fits: the charge is what the write may add.
    const { bytes } = buildSet({ 'list.100000': 1 }, MiB);
    assert.equal(bytes, BSON.calculateObjectSize({ 'd.list.100000': 1 }) + 688_890);
    assert.equal(buildSet({ '12345': 1 }, MiB).bytes, BSON.calculateObjectSize({ 'd.12345': 1 }), 'a numeric top-level key pads nothing');
  });

  it('the server-side guard compares the stored data with what is left of maxDataBytes', () => {
    assert.deepEqual(sizeFilter('d', 1000, 300), { $expr: { $lte: [{ $bsonSize: { $ifNull: ['$d', {}] } }, 700] } });
  });
});

/** The BSON bytes `$set` stores under an empty data object: the document its dotted keys build, less its frame. */
function storedBytes($set: Record<string, unknown>): number {
  const data: Record<string, unknown> = {};
  for (const [field, value] of Object.entries($set)) {
    const segments = field.split('.').slice(1);
    let at = data;
    for (const segment of segments.slice(0, -1)) {
      at[segment] ??= {};
      at = at[segment] as Record<string, unknown>;
    }
    at[segments.at(-1) as string] = value;
  }
  return BSON.calculateObjectSize(data) - BSON.calculateObjectSize({});
}

describe('what set() is charged', () => {
  it('the charge of plain values is their BSON size as js-bson counts it, for every type set() takes', () => {
    const values: Record<string, unknown>[] = [
      { s: 'text', e: '', u: 'żółw 🐢', n: 1, big: 2 ** 31, neg: -(2 ** 31), f: 1.5, z: -0, t: true, nil: null },
      { when: new Date(0), list: [1, 'a', [null, { x: 2 ** 40 }]], nested: { a: { b: { c: [] } } } },
      { buf: Buffer.from('abc'), u8: new Uint8Array(7), oid: new ObjectId(), dec: Decimal128.fromString('1.5') },
      {
        long: Long.fromNumber(5),
        int: new Int32(3),
        dbl: new Double(2),
        ts: new Timestamp({ t: 1, i: 2 }),
        bin: new Binary(Buffer.from('xy')),
      },
      { old: new Binary(Buffer.from('xyz'), Binary.SUBTYPE_BYTE_ARRAY), many: Array.from({ length: 1234 }, (_, i) => i) },
    ];
    for (const data of values) {
      const { $set, bytes } = buildSet(data, MiB);
      assert.equal(bytes, BSON.calculateObjectSize($set), JSON.stringify(Object.keys(data)));
    }
  });

  // Audit of d3b32e5, finding 8: one set() of 2,500 keys, each a 98-segment path, was charged
  // 516 KB and stored 1.97 MB: the documents a dotted path creates at every level were not charged.
  it('finding 8: a dotted path is charged the documents it creates at every level, shared ones once', () => {
    const keys = Array.from({ length: 2500 }, (_, i) => [`k${i}`, ...Array.from({ length: 97 }, () => 'a')].join('.'));
    const data = Object.fromEntries(keys.map((key) => [key, 1]));
    assert.throws(() => buildSet(data, MiB), /over the limit of 1048576 \(maxDataBytes\)/, 'refused at the default 1 MiB');
    const { $set, bytes } = buildSet(data, 64 * MiB);
    const stored = storedBytes($set);
    assert.ok(stored > 1_900_000, `the server stores ${stored} bytes (1.97 MB in the audit)`);
    assert.equal(bytes, stored, 'charged what is stored');
    // Keys that share their levels: the shared documents are charged once.
    const shared = buildSet({ 'user.profile.name': 'ann', 'user.profile.age': 3, 'user.tags': [] }, MiB);
    assert.equal(shared.bytes, Math.max(storedBytes(shared.$set), BSON.calculateObjectSize(shared.$set)));
  });

  // Audit of d3b32e5, finding 7: a body over maxDataBytes was walked to its end before it was
  // refused, so refusing cost what the input cost, not what the limit costs.
  it('finding 7: validation stops as soon as the data passes maxDataBytes', () => {
    let readAfterTheLimit = false;
    const list: unknown[] = [...Array.from({ length: 100 }, () => 'x'.repeat(1024))];
    list.push({
      get late() {
        readAfterTheLimit = true;
        return 1;
      },
    });
    assert.throws(() => buildSet({ list }, 16 * 1024), /over the limit of 16384 \(maxDataBytes\)/);
    assert.equal(readAfterTheLimit, false, 'nothing past the limit was read');
    assert.throws(
      () =>
        buildSet(
          {
            first: 'x'.repeat(20 * 1024),
            ...{
              get second() {
                readAfterTheLimit = true;
                return 1;
              },
            },
          },
          16 * 1024,
        ),
      /over the limit/,
    );
  });
});
