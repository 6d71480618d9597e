// Option resolution: defaults, 0.4's `servers`/`auth` mapping, and clear errors for bad values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import MongoSess, { FOURTEEN_DAYS_MS, MongoSessConfigError } from '../../src/index.js';
import { resolveConnectOptions } from '../../src/connect-options.js';
import { resolveSessionOptions } from '../../src/session-options.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';

describe('connect options', () => {
  it('defaults', () => {
    const config = resolveConnectOptions({});
    assert.equal(config.dbName, 'mongosess');
    assert.equal(config.collectionName, 'sessions');
    assert.equal(config.expires, FOURTEEN_DAYS_MS);
    assert.equal(config.autoRemove, 'native');
    assert.equal(config.autoRemoveInterval, 60_000);
    assert.equal(config.rolling, false);
    assert.equal(config.touchAfter, 0);
    assert.equal(config.absoluteTimeout, 0);
    assert.equal(config.maxDataBytes, 1024 * 1024);
    assert.equal(config.upgradeLegacySessions, true);
    assert.ok('uri' in config.connection);
    assert.equal(config.connection.uri, 'mongodb://127.0.0.1:27017');
    assert.equal(config.connection.clientOptions.serverSelectionTimeoutMS, 5000, 'a few seconds, not 30');
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
    assert.ok('uri' in config.connection);
    assert.equal(config.connection.uri, 'mongodb://db1.example:27018,db2.example:27017/');
    assert.equal(config.connection.clientOptions.maxPoolSize, 7);
    assert.equal(config.connection.clientOptions.replicaSet, 'rs0');
    assert.deepEqual(config.connection.clientOptions.auth, { username: 'u', password: 'p' });
    assert.equal('autoReconnect' in config.connection.clientOptions, false);
    assert.equal(config.dbName, 'app');
  });

  it('takes the database from the uri when db is not given', () => {
    assert.equal(resolveConnectOptions({ uri: 'mongodb://h:1/shop?retryWrites=true' }).dbName, 'shop');
    assert.equal(resolveConnectOptions({ uri: 'mongodb://h:1/shop', db: 'other' }).dbName, 'other');
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
      [{ auth: { user: 'u' } }, /auth must be \{ user: string, pass: string \}/],
      [{ client: new MongoClient(MONGODB_URI), auth: { user: 'u', pass: 'p' } }, /cannot be combined with client/],
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

  it('connects with 0.4-style servers to the test server', async (t) => {
    const { hostname, port } = new URL(MONGODB_URI.replace(/^mongodb:/, 'http:'));
    if (MONGODB_URI.includes(',') || MONGODB_URI.includes('@') || MONGODB_URI.startsWith('mongodb+srv')) {
      return t.skip('MONGODB_URI needs credentials or several hosts; servers: takes one plain host here');
    }
    await MongoSess.connect({
      servers: [{ host: hostname, port: Number(port || 27017), opts: { poolSize: 2, autoReconnect: true } }],
      db: uniqueDbName('servers'),
      autoRemove: 'disabled',
      warn: () => undefined,
    });
    try {
      assert.equal(MongoSess.isConnected(), true);
    } finally {
      await new Promise((resolve) => MongoSess.close(resolve));
    }
  });
});

describe('session options', () => {
  it('defaults', () => {
    const config = resolveSessionOptions(undefined);
    assert.equal(config.name, 'sess');
    assert.equal(config.sigName, 'sess.sig');
    assert.equal(config.signer, undefined);
    assert.equal(config.expires, FOURTEEN_DAYS_MS);
    assert.equal(config.secure, undefined, 'decided per request');
    assert.equal(config.httpOnly, true);
    assert.equal(config.sameSite, 'lax');
    assert.equal(config.path, '/');
    assert.equal(config.domain, undefined);
  });

  it('an options object is resolved once', () => {
    const options = { cookieName: 'x', keys: ['k'] };
    assert.equal(resolveSessionOptions(options), resolveSessionOptions(options));
  });

  it('prefixes and SameSite=None force Secure, and refuse contradictions', () => {
    assert.equal(resolveSessionOptions({ cookieName: '__Host-s' }).secure, true);
    assert.equal(resolveSessionOptions({ cookieName: '__Secure-s' }).secure, true);
    assert.equal(resolveSessionOptions({ sameSite: 'none' }).secure, true);
    assert.throws(() => resolveSessionOptions({ cookieName: '__Host-s', domain: 'example.com' }), /requires path "\/" and no domain/);
    assert.throws(() => resolveSessionOptions({ cookieName: '__Host-s', path: '/app' }), /requires path "\/" and no domain/);
    assert.throws(() => resolveSessionOptions({ sameSite: 'none', secure: false }), /requires Secure; remove secure: false/);
  });
});
