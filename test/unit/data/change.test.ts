import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applySet, checkDataSize } from '../../../src/data/change.js';

describe('applySet', () => {
  it('sets top-level keys and dotted paths as MongoDB $set does, without touching the input', () => {
    const data = { cart: ['book'], prefs: { theme: 'dark' } };
    const changed = applySet(data, { 'd.userId': 7, 'd.prefs.lang': 'en', 'd.a.b.c': true });
    assert.deepEqual(changed, { cart: ['book'], prefs: { theme: 'dark', lang: 'en' }, userId: 7, a: { b: { c: true } } });
    assert.deepEqual(data, { cart: ['book'], prefs: { theme: 'dark' } }, 'the input is not changed');
  });

  it('the new value wins over a value on its path that cannot hold keys', () => {
    assert.deepEqual(applySet({ user: 'anonymous' }, { 'd.user.id': 7 }), { user: { id: 7 } });
    assert.deepEqual(applySet({ user: null }, { 'd.user.id': 7 }), { user: { id: 7 } });
  });

  it('indexes into arrays, and keys such as __proto__ stay data', () => {
    assert.deepEqual(applySet({ list: [1, 2] }, { 'd.list.1': 9 }), { list: [1, 9] });
    const changed = applySet({}, { 'd.__proto__': { polluted: true } });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.ok(Object.hasOwn(changed, '__proto__'));
  });

  it('checkDataSize refuses data over the limit, measured whole', () => {
    checkDataSize({ a: 'x'.repeat(100) }, 200);
    assert.throws(() => checkDataSize({ a: 'x'.repeat(100), b: 'y'.repeat(100) }, 200), {
      name: 'MongoSessValidationError',
      message: /maxDataBytes \(200 bytes/,
    });
  });
});
