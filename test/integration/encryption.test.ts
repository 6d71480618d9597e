// Encryption at rest, against the real server: every value sealed on its own (what the database
// holds gives nothing away), BSON types kept, set() still one $set of only the keys it names (no
// lost update among concurrent writers), filters only on keys left in clear, rotation, migration
// of values stored in clear, and a session that does not decrypt is never partly served.
//
// Everything goes through the serializing proxy where the server is not atomic per document
// (FerretDB 1.x, see concurrency.test.ts); MONGOSESS_TEST_DIRECT=1 skips it, to see the lost
// updates it prevents.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Binary, BSON, Decimal128, ObjectId, type Collection } from 'mongodb';
import MongoSess, { type Session } from '../../src/index.js';
import { SEALED_SUBTYPE } from '../../src/data/encryption.js';
import { updatesAreAtomic } from '../helpers/atomic-probe.js';
import { digestOfCookie, MONGODB_URI } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { outcome } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';
import { serialProxy } from '../helpers/serial-proxy.js';
import type { SessionDocument } from '../../src/storage/document.js';

const PARALLEL = 50;
const KEY = randomBytes(32);
const NEW_KEY = randomBytes(32).toString('base64');
const direct = await updatesAreAtomic(MONGODB_URI);
const proxy = direct || process.env['MONGOSESS_TEST_DIRECT'] === '1' ? undefined : await serialProxy(MONGODB_URI);
const route = proxy ? 'via the serializing proxy' : 'direct to the server';
const warnings: string[] = [];
const fixture = sessionFixture('encryption', { uri: proxy?.uri ?? MONGODB_URI, connect: { warn: (m) => void warnings.push(m) } });
const { client, db, commands, reset } = fixture;
const sessions: Collection<SessionDocument> = client.db(db).collection<SessionDocument>('sessions');

async function storedSession(data: Record<string, unknown>): Promise<{ browser: Browser; sid: string }> {
  const browser = new Browser();
  const reply = await fixture.app.run((s) => s.set(data).then(() => s.sid), { browser });
  assert.equal(reply.status, 200, reply.body);
  return { browser, sid: reply.json() };
}

async function storedData(sid: string): Promise<Record<string, unknown>> {
  return (await sessions.findOne({ _id: digestOfCookie(sid) }))?.d ?? {};
}

function keyIdOf(value: unknown): string {
  assert.ok(value instanceof Binary && value.sub_type === SEALED_SUBTYPE, 'a sealed value');
  return Buffer.from(value.buffer.subarray(1, 5)).toString('hex');
}

describe(`encryption at rest, ${route}`, () => {
  before(async () => {
    await fixture.start();
    await fixture.reconnect({ encryption: { keys: [KEY] } });
  });

  after(async () => {
    await fixture.stop();
    await proxy?.close();
  });

  it('stores every value sealed, and nothing of it in clear; reads give the values back', async () => {
    const { browser, sid } = await storedSession({ email: 'ann@example.com', token: { access: 'ya29.secret-token' } });
    const stored = await storedData(sid);
    assert.deepEqual(Object.keys(stored).sort(), ['email', 'token'], 'key names stay, so each key is its own value');
    for (const value of Object.values(stored)) keyIdOf(value);
    const raw = Buffer.from(BSON.serialize((await sessions.findOne({ _id: digestOfCookie(sid) })) ?? {}));
    for (const secret of ['ann@example.com', 'ya29', 'access']) assert.ok(!raw.includes(secret), `${secret} is not in the document`);
    const reply = await fixture.app.run((s) => s.get(), { browser });
    assert.deepEqual(reply.json(), {
      email: 'ann@example.com',
      token: { access: 'ya29.secret-token' },
      _id: sid,
      createdAt: reply.json().createdAt,
    });
    assert.equal(
      (await fixture.app.run((s) => s.get('token.access'), { browser })).json(),
      'ya29.secret-token',
      'a dotted get reads inside',
    );
  });

  it('keeps BSON types: Date, ObjectId, Binary, Decimal128 and nested documents come back as stored', async () => {
    const at = new Date('2024-01-02T03:04:05.678Z');
    const id = new ObjectId();
    const { browser } = await storedSession({
      at,
      id,
      bin: new Binary(Buffer.from([9, 8, 7]), 0),
      price: Decimal128.fromString('12.50'),
      nested: { deep: { list: [at] } },
    });
    const reply = await fixture.app.run(
      async (s) => {
        const data = await s.get();
        const bin = data['bin'] as Binary;
        const nested = data['nested'] as { deep: { list: Date[] } };
        return {
          at: data['at'] instanceof Date && data['at'].getTime() === at.getTime(),
          id: data['id'] instanceof ObjectId && data['id'].equals(id),
          bin: bin instanceof Binary && bin.sub_type === 0 && Buffer.from(bin.buffer).equals(Buffer.from([9, 8, 7])),
          price: data['price'] instanceof Decimal128 && String(data['price']) === '12.50',
          nested: nested.deep.list[0] instanceof Date && nested.deep.list[0].getTime() === at.getTime(),
        };
      },
      { browser },
    );
    assert.deepEqual(reply.json(), { at: true, id: true, bin: true, price: true, nested: true });
  });

  it('set() stays one $set of only the keys named', async () => {
    const { browser } = await storedSession({ first: 1 });
    reset();
    await fixture.app.run((s) => s.set({ second: 2, third: 3 }), { browser });
    const updates = commands.filter((c) => c.commandName === 'findAndModify');
    assert.equal(updates.length, 1);
    const $set = updates[0]?.command['update'].$set as Record<string, unknown>;
    assert.deepEqual(
      Object.keys($set).filter((k) => k.startsWith('d.')),
      ['d.second', 'd.third'],
    );
    assert.ok(
      Object.values($set).every((v) => !(typeof v === 'number')),
      'sent sealed',
    );
  });

  it(`${PARALLEL} parallel requests each setting a different encrypted key on one session: none is lost`, async () => {
    const browser = new Browser();
    await fixture.app.run((s) => s.set({ start: true }), { browser });
    const before = proxy?.serialized ?? 0;
    const replies = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => fixture.app.run((s) => s.set({ [`k${i}`]: i }), { browser })),
    );
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    if (proxy) assert.ok(proxy.serialized - before >= PARALLEL, 'every write went through the proxy');
    const data = (await fixture.app.run((s) => s.get(), { browser })).json();
    const lost = Array.from({ length: PARALLEL }, (_, i) => `k${i}`).filter((k, i) => data[k] !== i);
    assert.deepEqual(lost, [], `no lost updates (${lost.length} of ${PARALLEL} lost)`);
  });

  it('refuses dotted writes into an encrypted key, and writes nothing', async () => {
    const { browser, sid } = await storedSession({ user: { name: 'Ann' } });
    const before = await storedData(sid);
    reset();
    const set = await fixture.app.run((s) => outcome(s.set({ 'user.name': 'Bob' })), { browser });
    assert.equal(set.json().name, 'MongoSessValidationError');
    assert.match(set.json().message, /set\(\) cannot write into "user\.name": "user" is encrypted/);
    const del = await fixture.app.run((s) => outcome(s.del('user.name')), { browser });
    assert.match(del.json().message, /del\(\) cannot remove "user\.name"/);
    assert.deepEqual(
      commands.filter((c) => c.commandName === 'findAndModify'),
      [],
    );
    assert.deepEqual(await storedData(sid), before);
  });

  it('regenerate() carries encrypted data over to the new id', async () => {
    const { browser, sid } = await storedSession({ email: 'ann@example.com' });
    await fixture.app.run((s) => s.regenerate(), { browser });
    const reply = await fixture.app.run((s) => s.get(), { browser });
    assert.notEqual(reply.json()._id, sid);
    assert.equal(reply.json().email, 'ann@example.com');
  });

  it('regenerate({ set }) encrypts what it sets, as set() does, and refuses dotted writes into an encrypted key', async () => {
    const { browser } = await storedSession({ cart: ['book'], profile: { name: 'Ann', email: 'ann@example.com' } });
    const login = await fixture.app.run((s) => s.regenerate({ set: { userEmail: 'ann@example.com' } }).then(() => s.sid), { browser });
    assert.equal(login.status, 200, login.body);
    const stored = await storedData(login.json());
    for (const key of ['cart', 'profile', 'userEmail']) keyIdOf(stored[key]);
    const raw = Buffer.from(BSON.serialize((await sessions.findOne({ _id: digestOfCookie(login.json()) })) ?? {}));
    assert.ok(!raw.includes('ann@example.com'), 'nothing of the login data is stored in clear');
    // A new visitor's login, stored by its first write: sealed too.
    const visitor = await fixture.app.run((s) => s.regenerate({ set: { userEmail: 'bob@example.com' } }).then(() => s.sid), {
      browser: new Browser(),
    });
    keyIdOf((await storedData(visitor.json()))['userEmail']);

    const before = await storedData(login.json());
    const dotted = await fixture.app.run((s) => outcome(s.regenerate({ set: { 'profile.name': 'x' } })), { browser });
    assert.equal(dotted.json().name, 'MongoSessValidationError');
    assert.match(dotted.json().message, /cannot write into "profile\.name": "profile" is encrypted/);
    assert.deepEqual(await storedData(login.json()), before, 'nothing moved, nothing lost');
    assert.deepEqual((await fixture.app.run((s) => s.get('profile'), { browser })).json(), { name: 'Ann', email: 'ann@example.com' });
  });

  it('a value that does not decrypt makes the session unreadable, with a clear error and one warning, never partly served', async () => {
    const { browser, sid } = await storedSession({ ok: 'readable', token: 'secret-token-value' });
    warnings.splice(0);
    await fixture.reconnect({ encryption: { keys: [NEW_KEY] } });
    try {
      for (const step of [(s: Session) => s.get(), (s: Session) => s.get('ok')]) {
        const reply = await fixture.app.run((s) => outcome(step(s)), { browser });
        assert.equal(reply.json().name, 'MongoSessDecryptionError', reply.body);
        assert.match(
          reply.json().message,
          /^mongosess: the session cannot be read: the value of key "(ok|token)" does not decrypt: it was encrypted with a key that is not in encryption\.keys/,
        );
      }
      assert.equal(warnings.filter((w) => /cannot be read/.test(w)).length, 1, warnings.join('\n'));
      for (const text of [...warnings, fixture.app.errors.map(String).join()]) {
        for (const secret of ['secret-token', 'readable', sid, NEW_KEY.slice(0, 12), KEY.toString('base64').slice(0, 12)]) {
          assert.ok(!text.includes(secret), 'no value, id or key in an error or warning');
        }
      }
      // Tampered in the database, under the right key: the same.
      await fixture.reconnect({ encryption: { keys: [KEY] } });
      const stored = await storedData(sid);
      const bytes = Buffer.from((stored['token'] as Binary).buffer);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      await sessions.updateOne({ _id: digestOfCookie(sid) }, { $set: { 'd.token': new Binary(bytes, SEALED_SUBTYPE) } });
      const tampered = await fixture.app.run((s) => outcome(s.get()), { browser });
      assert.match(tampered.json().message, /the value of key "token" does not decrypt: it fails authentication/);
      // A value copied under another key does not open either.
      await sessions.updateOne({ _id: digestOfCookie(sid) }, { $set: { 'd.token': stored['ok'] } });
      assert.match(
        (await fixture.app.run((s) => outcome(s.get()), { browser })).json().message,
        /"token" does not decrypt: it fails authentication/,
      );
    } finally {
      await fixture.reconnect({ encryption: { keys: [KEY] } });
    }
  });

  it('listSessions lists a session whose values do not decrypt without them (named in undecryptable), so it can still be ended', async () => {
    await fixture.reconnect({ encryption: { keys: [KEY], fields: ['token'] } });
    try {
      const userId = Math.floor(Math.random() * 1e9);
      await storedSession({ userId, token: 'secret-token-value' });
      await storedSession({ userId, note: 'kept' });
      // The key that sealed the first session's token is retired.
      await fixture.reconnect({ encryption: { keys: [NEW_KEY], fields: ['token'] } });
      const listed = await MongoSess.listSessions({ userId });
      assert.equal(listed.length, 2);
      const [broken, whole] = [listed.find((s) => s.undecryptable), listed.find((s) => !s.undecryptable)];
      assert.deepEqual(broken?.data, { userId });
      assert.deepEqual(broken?.undecryptable, ['token']);
      assert.deepEqual(whole?.data, { userId, note: 'kept' });
      assert.ok(broken?.handle, 'listed with its handle');
      assert.equal(await MongoSess.endSession(broken.handle, { userId }), true);
      assert.equal(await MongoSess.countSessions({ userId }), 1);
    } finally {
      await fixture.reconnect({ encryption: { keys: [KEY] } });
    }
  });

  it('rotation: old values stay readable under [new, old], and are re-encrypted with the newest key when next written', async () => {
    const { browser, sid } = await storedSession({ a: 'one', b: 'two' });
    const oldId = keyIdOf((await storedData(sid))['a']);
    await fixture.reconnect({ encryption: { keys: [NEW_KEY, KEY] } });
    try {
      assert.deepEqual((await fixture.app.run(async (s) => [await s.get('a'), await s.get('b')], { browser })).json(), ['one', 'two']);
      await fixture.app.run((s) => s.set({ a: 'uno' }), { browser });
      const stored = await storedData(sid);
      assert.notEqual(keyIdOf(stored['a']), oldId, 'a was re-encrypted with the new key');
      assert.equal(keyIdOf(stored['b']), oldId, 'b, not written, still has the old key');
      const both = await fixture.app.run(async (s) => [await s.get('a'), await s.get('b')], { browser });
      assert.deepEqual(both.json(), ['uno', 'two']);
    } finally {
      await fixture.reconnect({ encryption: { keys: [KEY] } });
    }
  });

  it('migration: values stored in clear keep working when encryption is turned on, and are encrypted when next written', async () => {
    await fixture.reconnect({});
    const { browser, sid } = await storedSession({ email: 'plain@example.com', n: 1 });
    assert.equal((await storedData(sid))['email'], 'plain@example.com');
    await fixture.reconnect({ encryption: { keys: [KEY] } });
    assert.deepEqual((await fixture.app.run(async (s) => [await s.get('email'), await s.get('n')], { browser })).json(), [
      'plain@example.com',
      1,
    ]);
    await fixture.app.run((s) => s.set({ email: 'new@example.com' }), { browser });
    const stored = await storedData(sid);
    keyIdOf(stored['email']);
    assert.equal(stored['n'], 1, 'a key not written stays as it was');
    assert.deepEqual((await fixture.app.run(async (s) => [await s.get('email'), await s.get('n')], { browser })).json(), [
      'new@example.com',
      1,
    ]);
    // Turned off again, the encrypted value is refused rather than served as bytes.
    await fixture.reconnect({});
    try {
      const reply = await fixture.app.run((s) => outcome(s.get()), { browser });
      assert.match(reply.json().message, /"email" is encrypted, and connect\(\) has no encryption option/);
    } finally {
      await fixture.reconnect({ encryption: { keys: [KEY] } });
    }
  });

  it('with fields: the other keys stay queryable by endAll, countSessions and listSessions; a filter on an encrypted key is refused', async () => {
    await fixture.reconnect({ encryption: { keys: [KEY], fields: ['email'] } });
    try {
      const userId = Math.floor(Math.random() * 1e9);
      const { sid } = await storedSession({ userId, email: 'ann@example.com' });
      const stored = await storedData(sid);
      assert.equal(stored['userId'], userId);
      keyIdOf(stored['email']);
      assert.equal(await MongoSess.countSessions({ userId }), 1);
      const listed = await MongoSess.listSessions({ userId });
      assert.deepEqual(
        listed.map((s) => s.data),
        [{ userId, email: 'ann@example.com' }],
        'listed data is decrypted',
      );
      await assert.rejects(MongoSess.countSessions({ email: 'ann@example.com' }), /cannot filter on "email": "email" is encrypted/);
      await assert.rejects(MongoSess.endAll({ userId, email: 'ann@example.com' }), { name: 'MongoSessValidationError' });
      assert.equal(await MongoSess.countSessions({ userId }), 1, 'the refused endAll ended nothing');
      assert.equal(await MongoSess.endAll({ userId }), 1);
    } finally {
      await fixture.reconnect({ encryption: { keys: [KEY] } });
    }
  });

  it('maxDataBytes charges the encrypted size', async () => {
    const plainBytes = BSON.calculateObjectSize({ 'd.k': 'v' });
    await fixture.reconnect({ encryption: { keys: [KEY] }, maxDataBytes: plainBytes + 10 });
    try {
      const reply = await fixture.app.run((s) => outcome(s.set({ k: 'v' })), { browser: new Browser() });
      assert.equal(reply.json().name, 'MongoSessValidationError');
      assert.match(reply.json().message, /over the limit of \d+ \(maxDataBytes\)/);
    } finally {
      await fixture.reconnect({ encryption: { keys: [KEY] } });
    }
  });

  it('checks the keys at connect, without echoing them', async () => {
    await new Promise((resolve) => MongoSess.close(resolve));
    try {
      await assert.rejects(MongoSess.connect({ client, db, encryption: { keys: ['not-a-strong-key'] } }), (err: Error) => {
        return (
          err.name === 'MongoSessConfigError' &&
          /encryption\.keys\[0\] is a passphrase of 16 characters/.test(err.message) &&
          !err.message.includes('not-a-strong')
        );
      });
    } finally {
      await fixture.reconnect({ encryption: { keys: [KEY] } });
    }
  });
});
