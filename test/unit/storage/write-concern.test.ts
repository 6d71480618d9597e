// connect()'s writeConcern option: the default, what passes, and clear errors for nonsense.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConnectOptions } from '../../../src/config/connect-options.js';
import { MongoSessConfigError } from '../../../src/edge/errors.js';

const resolve = (writeConcern: unknown) => resolveConnectOptions({ writeConcern }).connection.endingWriteConcern;

describe('connect option writeConcern', () => {
  it("defaults to { w: 'majority' }, a fresh object each time", () => {
    assert.deepEqual(resolve(undefined), { w: 'majority' });
    const one = resolve(undefined);
    one.w = 1;
    assert.deepEqual(resolve(undefined), { w: 'majority' }, 'the default cannot be changed through a result');
  });

  it('accepts w as a count, majority or a tag name, with wtimeoutMS and journal', () => {
    assert.deepEqual(resolve({ w: 1 }), { w: 1 });
    assert.deepEqual(resolve({ w: 3, wtimeoutMS: 0 }), { w: 3, wtimeoutMS: 0 });
    assert.deepEqual(resolve({ w: 'majority', wtimeoutMS: 5000, journal: true }), { w: 'majority', wtimeoutMS: 5000, journal: true });
    assert.deepEqual(resolve({ w: 'twoDataCenters' }), { w: 'twoDataCenters' });
    assert.deepEqual(resolve({}), {}, "empty: the server's default write concern");
  });

  it('refuses nonsense with a message that says what to write', () => {
    const cases: [unknown, RegExp][] = [
      ['majority', /^mongosess: writeConcern must be an object such as \{ w: 'majority' \}, got: "majority"$/],
      [null, /writeConcern must be an object .*got: null/],
      [[1], /writeConcern must be an object .*got: an array/],
      [{ w: 0 }, /writeConcern\.w must not be 0: an unacknowledged write cannot tell that a session was ended/],
      [{ w: -1 }, /writeConcern\.w must be 'majority', a positive integer or a write concern tag name, got: -1/],
      [{ w: 1.5 }, /writeConcern\.w must be 'majority'/],
      [{ w: '' }, /writeConcern\.w must be 'majority'/],
      [{ w: true }, /writeConcern\.w must be 'majority'.*got: true/],
      [{ wtimeoutMS: -1 }, /writeConcern\.wtimeoutMS must be a non-negative integer number of ms, got: -1/],
      [{ wtimeoutMS: '5s' }, /writeConcern\.wtimeoutMS must be/],
      [{ journal: 'yes' }, /writeConcern\.journal must be true or false, got: "yes"/],
      [{ j: true }, /writeConcern\.j is not supported; use journal/],
      [{ wtimeout: 5 }, /writeConcern\.wtimeout is not supported; use wtimeoutMS/],
      [{ fsync: true }, /writeConcern\.fsync is not supported; use journal/],
      [{ timeoutMS: 5 }, /writeConcern\.timeoutMS is not supported; use wtimeoutMS \(timeoutMS is the driver's whole-operation timeout/],
      [{ wmode: 1 }, /unknown writeConcern option "wmode"; the options are: w, wtimeoutMS, journal/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => resolve(value),
        (err: unknown) => err instanceof MongoSessConfigError && message.test(err.message),
        String(value),
      );
    }
  });
});
