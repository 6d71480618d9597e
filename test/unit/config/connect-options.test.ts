// connect() options: defaults, 0.4's `servers`/`auth` mapping, and clear errors for bad values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { FOURTEEN_DAYS_MS, resolveConnectOptions } from '../../../src/config/connect-options.js';
import { MongoSessConfigError } from '../../../src/edge/errors.js';

describe('connect options', () => {
  it('defaults', () => {
    const config = resolveConnectOptions({});
    assert.equal(config.connection.dbName, 'mongosess');
    assert.equal(config.connection.collectionName, 'sessions');
    assert.equal(config.policy.expires, FOURTEEN_DAYS_MS);
    assert.equal(config.connection.autoRemove, 'native');
    assert.equal(config.connection.autoRemoveInterval, 60_000);
    assert.equal(config.policy.rolling, false);
    assert.equal(config.policy.touchAfter, 0);
    assert.equal(config.policy.absoluteTimeout, 0);
    assert.equal(config.policy.maxDataBytes, 1024 * 1024);
    assert.equal(config.policy.hideId, false, "get()'s _id is an ordinary property, as in 0.4");
    assert.equal(config.connection.upgradeLegacySessions, true);
    assert.ok('uri' in config.connection.client);
    assert.equal(config.connection.client.uri, 'mongodb://127.0.0.1:27017');
    assert.equal(config.connection.client.clientOptions.serverSelectionTimeoutMS, 5000, 'a few seconds, not 30');
  });

  it('refuses a userKey that encryption would encrypt: the database could not find a user by it', () => {
    const key = Buffer.alloc(32, 1);
    assert.throws(
      () => resolveConnectOptions({ userKey: 'userId', encryption: { keys: [key] } }),
      (err: unknown) => err instanceof MongoSessConfigError && /userKey "userId" is encrypted .*every key/.test(err.message),
    );
    assert.throws(
      () => resolveConnectOptions({ userKey: 'user.id', encryption: { keys: [key], fields: ['user', 'email'] } }),
      /userKey "user.id" is encrypted \(listed in encryption.fields\)/,
    );
    const allowed = resolveConnectOptions({ userKey: 'userId', maxSessionsPerUser: 2, encryption: { keys: [key], fields: ['email'] } });
    assert.equal(allowed.devices.userKey, 'userId');
  });

  it("maps 0.4's servers, poolSize, rs_name and auth; ignores options the driver no longer has", () => {
    const config = resolveConnectOptions({
      db: 'app',
      servers: [
        { host: 'db1.example', port: 27018, opts: { poolSize: 7, autoReconnect: true, auto_reconnect: true, rs_name: 'rs0' } },
        { host: 'db2.example' },
      ],
      auth: { user: 'u', pass: 'p' },
    });
    assert.ok('uri' in config.connection.client);
    assert.equal(config.connection.client.uri, 'mongodb://db1.example:27018,db2.example:27017/');
    assert.equal(config.connection.client.clientOptions.maxPoolSize, 7);
    assert.equal(config.connection.client.clientOptions.replicaSet, 'rs0');
    assert.deepEqual(config.connection.client.clientOptions.auth, { username: 'u', password: 'p' });
    assert.equal('autoReconnect' in config.connection.client.clientOptions, false);
    assert.equal(config.connection.dbName, 'app');
  });

  it('takes the database from the uri when db is not given', () => {
    assert.equal(resolveConnectOptions({ uri: 'mongodb://h:1/shop?retryWrites=true' }).connection.dbName, 'shop');
    assert.equal(resolveConnectOptions({ uri: 'mongodb://h:1/shop', db: 'other' }).connection.dbName, 'other');
  });

  it('every bad option names itself, its value and the fix', () => {
    const cases: [unknown, RegExp][] = [
      [{ expires: -5 }, /^mongosess: expires must be a positive number of ms, got: -5$/],
      [{ expires: 'long' }, /expires must be a positive number of ms, got: "long"/],
      [{ autoRemove: 'sometimes' }, /autoRemove must be one of 'native', 'interval', 'disabled'/],
      [{ touchAfter: 1000 }, /touchAfter only has an effect with rolling: true/],
      [{ servers: [] }, /servers must be a non-empty array/],
      [{ servers: [{ host: 'a;b' }] }, /servers\[0\].host is not a host name/],
      [{ servers: [{ host: 'a', port: 70000 }] }, /port must be at most 65535/],
      [{ uri: 'http://x' }, /uri must start with mongodb:\/\//],
      [{ db: 'a.b' }, /db must be a database name/],
      [{ collection: '$x' }, /collection must not contain/],
      [{ hideId: 'yes' }, /^mongosess: hideId must be true or false, got: "yes"$/],
      [{ auth: { user: 'u' } }, /auth must be \{ user: string, pass: string \}/],
      [{ client: new MongoClient('mongodb://127.0.0.1:1'), auth: { user: 'u', pass: 'p' } }, /cannot be combined with client/],
      [{ now: 5 }, /now must be a function/],
      [{ autoRemoveInterval: 30 * 24 * 3600 * 1000 }, /autoRemoveInterval must be at most 2147483647 ms/],
      [{ colection: 'x' }, /unknown connect option "colection"/],
      ['mongodb://h', /connect options must be an object/],
    ];
    for (const [index, [options, message]] of cases.entries()) {
      assert.throws(
        () => resolveConnectOptions(options),
        (err: unknown) => err instanceof MongoSessConfigError && message.test(err.message),
        `case ${index}: expected ${message}`,
      );
    }
  });

  it('regenerateGrace and onReplay: off by default; endAll needs userKey and a window', () => {
    const { devices } = resolveConnectOptions({});
    assert.equal(devices.regenerateGrace, 0, 'the old id is dead at once unless asked');
    assert.equal(devices.onReplay, 'report');
    const on = resolveConnectOptions({ regenerateGrace: 10_000, userKey: 'userId', onReplay: 'endAll' }).devices;
    assert.deepEqual([on.regenerateGrace, on.onReplay], [10_000, 'endAll']);
    assert.equal(resolveConnectOptions({ regenerateGrace: 60_000 }).devices.regenerateGrace, 60_000, 'the largest window');
    const cases: [unknown, RegExp][] = [
      [{ regenerateGrace: -1 }, /^mongosess: regenerateGrace must be a non-negative number of ms, got: -1$/],
      [{ regenerateGrace: '10s' }, /regenerateGrace must be a non-negative number of ms, got: "10s"/],
      [{ regenerateGrace: 60_001 }, /regenerateGrace must be at most 60000 ms: through the window the old id opens the new session/],
      [{ onReplay: 'logout' }, /onReplay must be one of 'report', 'endAll', got: "logout"/],
      [{ regenerateGrace: 10_000, onReplay: 'endAll' }, /onReplay: 'endAll' needs userKey, .* \(for example userKey: 'userId'\)/],
      [{ userKey: 'userId', onReplay: 'endAll' }, /onReplay: 'endAll' needs regenerateGrace \(for example 10000\)/],
    ];
    for (const [index, [options, message]] of cases.entries()) {
      assert.throws(
        () => resolveConnectOptions(options),
        (err: unknown) => err instanceof MongoSessConfigError && message.test(err.message),
        `case ${index}: expected ${message}`,
      );
    }
  });

  it('a duration past the last valid date is refused', () => {
    assert.throws(() => resolveConnectOptions({ expires: Number.MAX_SAFE_INTEGER }), /expires must be at most \d+ ms/);
    assert.throws(() => resolveConnectOptions({ absoluteTimeout: 1e16 }), /absoluteTimeout must be at most/);
  });
});
