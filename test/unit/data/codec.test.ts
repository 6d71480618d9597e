// The codec seam: set() encodes each top-level key's value (encrypted where configured, charged
// at its stored size), reads decode a session whole or not at all, and paths or filters that the
// database could not apply to an encrypted value are refused before anything is sent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Binary, BSON } from 'mongodb';
import { encryptingCodec, PLAIN_CODEC, type DataCodec } from '../../../src/data/codec.js';
import { buildDataFilter } from '../../../src/data/filter.js';
import { isSealed, resolveEncryption, SEALED_SUBTYPE } from '../../../src/data/encryption.js';
import { resolveConnectOptions } from '../../../src/config/connect-options.js';
import { MongoSessConfigError, MongoSessDecryptionError, MongoSessValidationError } from '../../../src/edge/errors.js';
import { buildSet, buildUnset } from '../../../src/data/session-data.js';

const MiB = 1024 * 1024;
const KEY = randomBytes(32);

function codec(options: { keys?: unknown[]; fields?: string[] } = {}, warnings: string[] = []): DataCodec {
  const settings = resolveEncryption({ keys: options.keys ?? [KEY], ...(options.fields ? { fields: options.fields } : {}) });
  assert.ok(settings);
  return encryptingCodec(settings, (message) => warnings.push(message));
}

/** What the database would hold after applying set()'s `$set` to an empty session. */
function stored(update: Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(update)) data[path.replace(/^d\./, '')] = value;
  return data;
}

describe('the plain codec (no encryption)', () => {
  it('stores values as given and decodes to the same object', () => {
    const data = { a: 1, b: { c: [2] } };
    assert.deepEqual(buildSet(data, MiB).$set, { 'd.a': 1, 'd.b': { c: [2] } });
    assert.equal(PLAIN_CODEC.decode(data), data);
  });

  it('refuses a Binary of the subtype reserved for encrypted values, and will not serve one', () => {
    const reserved = new Binary(Buffer.from('x'), SEALED_SUBTYPE);
    assert.throws(() => buildSet({ blob: reserved }, MiB), /Binary of subtype 0x8e, which mongosess reserves for encrypted values/);
    assert.doesNotThrow(() => buildSet({ blob: new Binary(Buffer.from('x'), 0x80) }, MiB));
    assert.throws(
      () => PLAIN_CODEC.decode({ ok: 1, email: reserved }),
      (err: unknown) =>
        err instanceof MongoSessDecryptionError && /"email" is encrypted, and connect\(\) has no encryption option/.test(err.message),
    );
  });
});

describe('the encrypting codec', () => {
  it('encrypts each top-level key of a set() on its own, in one $set of only those keys', () => {
    const c = codec();
    const { $set } = buildSet({ email: 'ann@example.com', cart: { items: [1, 2] } }, MiB, c);
    assert.deepEqual(Object.keys($set), ['d.email', 'd.cart']);
    assert.ok(isSealed($set['d.email']) && isSealed($set['d.cart']));
    assert.deepEqual(c.decode(stored($set)), { email: 'ann@example.com', cart: { items: [1, 2] } });
  });

  it('with fields, encrypts only those keys', () => {
    const c = codec({ fields: ['email'] });
    const { $set } = buildSet({ email: 'ann@example.com', userId: 42, 'prefs.theme': 'dark' }, MiB, c);
    assert.ok(isSealed($set['d.email']));
    assert.equal($set['d.userId'], 42);
    assert.equal($set['d.prefs.theme'], 'dark');
  });

  it('charges maxDataBytes with the encrypted size', () => {
    const c = codec();
    const plain = buildSet({ k: 'v' }, MiB);
    const encrypted = buildSet({ k: 'v' }, MiB, c);
    assert.equal(encrypted.bytes, BSON.calculateObjectSize(encrypted.$set));
    assert.ok(encrypted.bytes > plain.bytes + 33, `${encrypted.bytes} > ${plain.bytes} + the 33 bytes of key id, IV and tag`);
    // Fits in clear, not once encrypted: refused before anything is sent.
    assert.doesNotThrow(() => buildSet({ k: 'v' }, plain.bytes));
    assert.throws(
      () => buildSet({ k: 'v' }, plain.bytes, c),
      (err: unknown) => err instanceof MongoSessValidationError && /maxDataBytes/.test(err.message),
    );
  });

  it('refuses dotted writes and removals inside an encrypted key (its value is stored whole)', () => {
    const c = codec({ fields: ['user'] });
    assert.throws(
      () => buildSet({ 'user.name': 'Ann' }, MiB, c),
      /set\(\) cannot write into "user\.name": "user" is encrypted \(listed in encryption\.fields\).*set the whole key instead/,
    );
    assert.throws(() => buildUnset(['user.name'], c), /del\(\) cannot remove "user\.name": "user" is encrypted/);
    assert.doesNotThrow(() => buildUnset(['user'], c), 'the whole key can go');
    assert.doesNotThrow(() => buildSet({ 'other.name': 'Ann' }, MiB, c));
    assert.throws(() => buildSet({ 'a.b': 1 }, MiB, codec()), /encryption without fields encrypts every key/);
  });

  it('refuses filters on encrypted keys, and allows them on the others', () => {
    const some = codec({ fields: ['email'] });
    assert.deepEqual(buildDataFilter({ userId: 42 }, some), { 'd.userId': 42 });
    assert.throws(
      () => buildDataFilter({ userId: 42, email: 'ann@example.com' }, some),
      (err: unknown) =>
        err instanceof MongoSessValidationError &&
        /cannot filter on "email": "email" is encrypted.*leave it out of encryption\.fields/.test(err.message),
    );
    assert.throws(() => buildDataFilter({ 'email.domain': 'x' }, some), /"email" is encrypted/);
    assert.throws(() => buildDataFilter({ userId: 42 }, codec()), /encryption without fields encrypts every key/);
    assert.deepEqual(buildDataFilter({}, codec()), {}, 'the empty filter (every session) needs no key');
  });

  it('serves values stored in clear before encryption was on, and encrypts them when next set', () => {
    const c = codec();
    const legacy = { email: 'old@example.com', n: 1 };
    assert.equal(c.decode(legacy), legacy);
    const { $set } = buildSet({ email: 'new@example.com' }, MiB, c);
    const mixed = { ...legacy, ...stored($set) };
    assert.ok(isSealed(mixed.email));
    assert.deepEqual(c.decode(mixed), { email: 'new@example.com', n: 1 });
  });

  it('decrypts a stored object once, however often the request reads it', () => {
    const c = codec();
    const data = stored(buildSet({ a: 1 }, MiB, c).$set);
    assert.equal(c.decode(data), c.decode(data));
  });

  it('will not serve part of a session: one value that does not decrypt fails the whole read, with one warning per cause', () => {
    const warnings: string[] = [];
    const writer = codec({ keys: [randomBytes(32)] });
    const reader = codec({}, warnings);
    const data = {
      ...stored(buildSet({ ok: 'fine' }, MiB, reader).$set),
      ...stored(buildSet({ token: 'secret-token' }, MiB, writer).$set),
    };
    for (let i = 0; i < 3; i++) {
      assert.throws(
        () => reader.decode({ ...data }),
        (err: unknown) =>
          err instanceof MongoSessDecryptionError && /value of key "token" does not decrypt.*not in encryption\.keys/.test(err.message),
      );
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /^mongosess: the session cannot be read.*warned once per process/);
    assert.ok(!warnings[0]?.includes('secret-token') && !warnings[0]?.includes('fine'));
  });
});

describe('connect() option encryption', () => {
  it('MongoSessDecryptionError is public: a named export and a property of MongoSess', async () => {
    const index = await import('../../../src/index.js');
    assert.equal(index.MongoSessDecryptionError, MongoSessDecryptionError);
    assert.equal(index.default.MongoSessDecryptionError, MongoSessDecryptionError);
    assert.ok(new MongoSessDecryptionError('x') instanceof index.MongoSessError);
  });

  it('is resolved up front into the codec, with config errors', () => {
    assert.equal(resolveConnectOptions({}).codec, PLAIN_CODEC);
    assert.notEqual(resolveConnectOptions({ encryption: { keys: [KEY] } }).codec, PLAIN_CODEC);
    assert.throws(() => resolveConnectOptions({ encryption: { keys: ['too short'] } }), MongoSessConfigError);
  });
});
