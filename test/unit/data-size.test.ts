// The size cap holds for what the server stores: numeric path segments are charged the nulls the
// server writes when it pads an array up to that index.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON } from 'mongodb';
import { paddingBytes, paddingCharge, sizeFilter } from '../../src/data-size.js';
import { buildSet } from '../../src/session-data.js';

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
