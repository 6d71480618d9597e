// Recognizing the driver's clients and errors from any copy of the mongodb package: Mongoose 8
// brings mongodb 6.x, Mongoose 9 its own 7.x.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { MongoClient, MongoServerError } from 'mongodb';
import { clientBson, driverVersion, isMongoClient, isServerError, unsupportedDriver } from '../../../src/storage/driver-objects.js';
import { bsonKindOf, OWN_BSON } from '../../../src/data/bson-value.js';

const require = createRequire(import.meta.url);
/** The mongodb copies Mongoose 8 (6.x) and Mongoose 9 (7.x, not ours) depend on. */
const copies = {
  'mongodb 6 (Mongoose 8)': require(require.resolve('mongodb', { paths: [require.resolve('mongoose8')] })) as typeof import('mongodb'),
  'mongodb 7 (Mongoose 9)': require(require.resolve('mongodb', { paths: [require.resolve('mongoose')] })) as typeof import('mongodb'),
};

describe('driver objects from any copy of mongodb', () => {
  it('the copies are really other classes (else this tests nothing)', () => {
    for (const [name, copy] of Object.entries(copies)) assert.notEqual(copy.MongoClient, MongoClient, name);
  });

  it('a MongoClient is recognized by shape, and its driver version read', async () => {
    assert.equal(isMongoClient(new MongoClient('mongodb://127.0.0.1:1')), true);
    assert.equal(await driverVersion(new MongoClient('mongodb://127.0.0.1:1')), require('mongodb/package.json').version);
    for (const [name, copy] of Object.entries(copies)) {
      const client = new copy.MongoClient('mongodb://127.0.0.1:1');
      assert.equal(isMongoClient(client), true, name);
      assert.match((await driverVersion(client)) ?? '', name.startsWith('mongodb 6') ? /^6\./ : /^7\./, name);
    }
    for (const value of [null, {}, { db() {} }, 'mongodb://x', new (class NotAClient {})()]) assert.equal(isMongoClient(value), false);
  });

  it("clientBson finds the client's bson major and ObjectId class, from the ObjectIds its pkFactory makes", async () => {
    assert.equal(clientBson(new MongoClient('mongodb://127.0.0.1:1'), undefined), OWN_BSON);
    for (const [name, copy] of Object.entries(copies)) {
      const client = new copy.MongoClient('mongodb://127.0.0.1:1');
      const bson = clientBson(client, await driverVersion(client));
      const id = bson.objectId('0123456789abcdef01234567');
      assert.ok(id instanceof copy.ObjectId, `${name}: an ObjectId of the client's own class`);
      assert.equal(id.toHexString(), '0123456789abcdef01234567');
      assert.equal(bson.major, name.startsWith('mongodb 6') ? 6 : 7, name);
      assert.equal(bsonKindOf(id)?.major, bson.major);
    }
  });

  it("clientBson with a pkFactory of the app's own: its driver version decides, else a config error", () => {
    const pkFactory = { createPk: () => 'an id' };
    const [six, seven] = [copies['mongodb 6 (Mongoose 8)'], copies['mongodb 7 (Mongoose 9)']];
    assert.equal(clientBson(new seven.MongoClient('mongodb://127.0.0.1:1', { pkFactory }), '7.8.0'), OWN_BSON, 'bson 7: ours');
    assert.throws(() => clientBson(new six.MongoClient('mongodb://127.0.0.1:1', { pkFactory }), '6.20.0'), {
      name: 'MongoSessConfigError',
      message:
        /client has a pkFactory that makes no ObjectId, and its driver \(mongodb 6\.20\.0\) does not use this package's bson.*Pass a client without a pkFactory of its own/,
    });
    assert.throws(() => clientBson(new six.MongoClient('mongodb://127.0.0.1:1', { pkFactory }), undefined), /of an unknown version/);
  });

  it('mongodb 6.x and 7.x are supported; another major is refused with a message that names it', () => {
    assert.equal(unsupportedDriver('6.20.0'), undefined);
    assert.equal(unsupportedDriver('7.8.0'), undefined);
    assert.equal(unsupportedDriver(undefined), undefined, 'a client that does not say is given the benefit of the doubt');
    assert.match(
      unsupportedDriver('5.9.2') ?? '',
      /^client comes from mongodb 5\.9\.2, which mongosess does not support: pass a MongoClient from mongodb 6\.x or 7\.x/,
    );
    assert.match(unsupportedDriver('4.17.2|mongoose 6.12.0') ?? '', /mongodb 4\.17\.2,/);
  });

  it("a server's error is recognized from any copy (duplicate keys, TTL refusals)", () => {
    assert.equal(isServerError(new MongoServerError({ code: 11000, errmsg: 'dup' })), true);
    for (const copy of Object.values(copies)) assert.equal(isServerError(new copy.MongoServerError({ code: 11000, errmsg: 'dup' })), true);
    assert.equal(isServerError(new Error('x')), false);
    assert.equal(isServerError({ code: 11000 }), false);
  });
});
