// Security: upgrading from mongosess 0.4 keeps users logged in, and takes them off
// guessable ObjectId cookies. The 0.4 sessions are written the way 0.4 wrote them: `_id: new
// ObjectId()`, `createdAt`, the data at the top level, a TTL index on createdAt, and the cookie
// set by the `cookies` package (signed, when keys were given, with `new Keygrip(keys)`: SHA-1).
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Cookies from 'cookies';
import Keygrip from 'keygrip';
import { MongoServerError, ObjectId } from 'mongodb';
import { MOVE_GRACE_MS } from '../../src/legacy/legacy.js';
import { Browser, send, serve } from '../helpers/http.js';
import { cookiesOf, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FOURTEEN_DAYS = 14 * DAY;
const ID = /^[A-Za-z0-9_-]{43}$/;
const OLD_KEYS = ['legacy-app-secret-7d1c'];

const warnings: string[] = [];
const fixture = sessionFixture('sec_legacy', { connect: { warn: (message) => void warnings.push(message) } });
const { client, commands, reset, collection } = fixture;
/** The server's answer to 0.4's TTL index: true, or why it refused it. */
let legacyTtl: true | string = 'not tried';
/** A 0.4 session stored before connect(), when 0.4's TTL index was still in place. */
let storedBeforeConnect: ObjectId;
let app: SessionApp;

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** What mongosess 0.4 stored for a session: the ObjectId is the cookie, the data at the top level. */
async function legacyDocument(data: Record<string, unknown>, createdAt = new Date()): Promise<ObjectId> {
  const _id = new ObjectId();
  await collection.insertOne({ _id, createdAt, ...data });
  return _id;
}

/** A 0.4 app hands `browser` the cookie of `id`, set by the `cookies` package as 0.4 did. */
async function legacyCookie(browser: Browser, id: ObjectId, keys?: string[]): Promise<void> {
  const old = await serve((req, res) => {
    const cookies = new Cookies(req, res, keys ? { keys: new Keygrip(keys) } : {});
    cookies.set('sess', id.toHexString(), { signed: keys !== undefined, httpOnly: true });
    send(res, 'ok');
  });
  try {
    await browser.get(old.url); // another port of 127.0.0.1: the jar sends these cookies to the new app too
  } finally {
    await old.close();
  }
  assert.equal(await browser.cookie(app.url, 'sess'), id.toHexString());
  if (keys) assert.ok(await browser.cookie(app.url, 'sess.sig'), 'the 0.4 signature cookie is in the jar');
}

/** Makes a moved 0.4 document's move older than the grace in which its cookie is still forwarded. */
async function pastMoveGrace(id: ObjectId): Promise<void> {
  await collection.updateOne({ _id: id }, { $set: { endedAt: new Date(Date.now() - MOVE_GRACE_MS - 1000) } });
}

/** What is left of a moved or ended 0.4 document: a tombstone with no data. */
function assertNoData(doc: Record<string, unknown> | null, message: string): void {
  assert.ok(doc, message);
  const kept = Object.keys(doc).filter((key) => !['_id', 'ended', 'endedAt', 'expiresAt', 'movedTo'].includes(key));
  assert.deepEqual(kept, [], message);
  assert.equal(doc['ended'], true, message);
}

describe('security: upgrading mongosess 0.4 sessions', () => {
  before(async () => {
    await client.connect();
    try {
      await collection.createIndex({ createdAt: 1 }, { expireAfterSeconds: FOURTEEN_DAYS / 1000 });
      legacyTtl = true;
    } catch (err) {
      legacyTtl =
        err instanceof MongoServerError
          ? `the server has no TTL indexes: it refused 0.4's { createdAt: 1 } index with expireAfterSeconds (${err.codeName ?? err.code}: ${err.message})`
          : `creating 0.4's TTL index failed: ${String(err)}`;
    }
    storedBeforeConnect = await legacyDocument({ user: 'early' });
    await fixture.start();
    app = fixture.app;
  });

  after(() => fixture.stop());

  it("0.4's TTL index on createdAt is replaced by per-session expiry dates at connect", async (t) => {
    if (legacyTtl !== true) {
      t.skip(legacyTtl);
      return;
    }
    const indexes = await collection.listIndexes().toArray();
    assert.equal(
      indexes.some((index) => Object.keys(index['key']).join() === 'createdAt' && index['expireAfterSeconds'] !== undefined),
      false,
      'the createdAt TTL index is gone',
    );
    assert.ok(
      warnings.some((w) => /replaced the TTL index/.test(w)),
      'and the replacement was reported',
    );
    const early = await collection.findOne({ _id: storedBeforeConnect });
    // Every key of a 0.4 session but _id and createdAt is data: nothing of mongosess's is added.
    assert.equal(early?.['expiresAt'], undefined, 'the 0.4 documents are left as 0.4 wrote them');
  });

  it('an unsigned 0.4 session: data carried over, a new 43-char cookie, the old document removed, the old cookie replays to nothing', async () => {
    const created = new Date(Date.now() - HOUR);
    const oldId = await legacyDocument({ user: 'ann', cart: [1, 2], prefs: { theme: 'dark' } }, created);
    const browser = new Browser();
    await legacyCookie(browser, oldId);

    const reply = await app.run((s) => s.get(), { browser });
    assert.equal(reply.status, 200, reply.body);
    const view = reply.json();
    assert.match(view._id, ID, 'the session moved to a new random id');
    assert.deepEqual(view, { _id: view._id, createdAt: created.toISOString(), user: 'ann', cart: [1, 2], prefs: { theme: 'dark' } });
    const cookie = cookiesOf(reply).get('sess');
    assert.equal(cookie?.value, view._id, 'its cookie is in this response');
    assert.equal(cookie?.attrs['httponly'], true);
    assert.equal(await browser.cookie(app.url, 'sess'), view._id);

    assertNoData(await collection.findOne({ _id: oldId }), 'the 0.4 document keeps no data, only where it went');
    const moved = await collection.findOne({ _id: digest(view._id) as never });
    assert.deepEqual(moved?.['d'], { user: 'ann', cart: [1, 2], prefs: { theme: 'dark' } });
    assert.equal(moved?.['createdAt']?.getTime(), created.getTime());
    assert.equal(moved?.['expiresAt']?.getTime(), created.getTime() + FOURTEEN_DAYS, 'it still expires 14 days after creation');

    // A request with the 0.4 cookie that begins after the move (a guessed id, or one the browser
    // sent late) reaches nothing of the session it became, and sends no cookie that could replace
    // the new one (only requests that began before the move finished are forwarded); after the
    // grace, nothing either.
    const late = await app.run((s) => s.get('user'), { headers: { cookie: `sess=${oldId.toHexString()}` } });
    assert.equal(late.json(), null, 'within the grace, a request that began after the move reads nothing');
    assert.equal(cookiesOf(late).get('sess'), undefined, 'and sends no cookie');
    await pastMoveGrace(oldId);
    const replay = await app.run((s) => s.get(), { headers: { cookie: `sess=${oldId.toHexString()}` } });
    assert.equal(replay.status, 200);
    assert.deepEqual(Object.keys(replay.json()), ['_id'], 'the old cookie finds nothing');
    assert.ok(![oldId.toHexString(), view._id].includes(replay.json()._id));
    assert.equal(cookiesOf(replay).get('sess'), undefined, 'a read sends no cookie: a racing request must not overwrite the moved one');

    assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann', 'the user is still logged in');
  });

  it('a 0.4 cookie signed the 0.4 way (cookies + new Keygrip(keys): SHA-1) is upgraded and re-signed with HMAC-SHA-256', async () => {
    const options = { keys: OLD_KEYS };
    const oldId = await legacyDocument({ user: 'bob' });
    const browser = new Browser();
    await legacyCookie(browser, oldId, OLD_KEYS);
    const oldSig = (await browser.cookie(app.url, 'sess.sig')) ?? '';

    const reply = await app.run((s) => s.get(), { browser, options });
    assert.equal(reply.status, 200, reply.body);
    const view = reply.json();
    assert.match(view._id, ID);
    assert.equal(view.user, 'bob');
    const cookies = cookiesOf(reply);
    assert.equal(cookies.get('sess')?.value, view._id);
    assert.equal(
      cookies.get('sess.sig')?.value,
      createHmac('sha256', OLD_KEYS[0] ?? '')
        .update(`sess=${view._id}`)
        .digest('base64url'),
      'the new cookie is signed with HMAC-SHA-256',
    );
    assertNoData(await collection.findOne({ _id: oldId }), 'the 0.4 document keeps no data, only where it went');
    assert.equal((await app.run((s) => s.get('user'), { browser, options })).json(), 'bob', 'the new signed cookie works');

    await pastMoveGrace(oldId);
    const replay = await app.run((s) => s.get(), { options, headers: { cookie: `sess=${oldId.toHexString()}; sess.sig=${oldSig}` } });
    assert.equal(replay.status, 200);
    assert.deepEqual(Object.keys(replay.json()), ['_id'], 'the old signed cookie finds nothing');
    assert.notEqual(replay.json()._id, view._id);
  });

  it('with keys, a forged 0.4 cookie (no signature, or signed with another key) is refused before the database and the 0.4 session stays', async () => {
    const options = { keys: OLD_KEYS };
    const victim = await legacyDocument({ user: 'victim' });
    const hex = victim.toHexString();
    const forgeries = [
      `sess=${hex}`,
      `sess=${hex}; sess.sig=${new Keygrip(['guessed-key']).sign(`sess=${hex}`)}`,
      `sess=${hex}; sess.sig=${new Keygrip(OLD_KEYS).sign(`sess=${new ObjectId().toHexString()}`)}`,
    ];
    for (const cookie of forgeries) {
      reset();
      const reply = await app.run((s) => s.get(), { options, headers: { cookie } });
      assert.equal(reply.status, 200);
      assert.deepEqual(Object.keys(reply.json()), ['_id'], `${cookie} opened the session`);
      assert.deepEqual(
        commands.map((c) => c.commandName),
        [],
        'no database command',
      );
    }
    assert.equal((await collection.findOne({ _id: victim }))?.['user'], 'victim', 'the 0.4 session is untouched');
  });

  it('an expired 0.4 session (createdAt more than expires ago) is not brought back by the upgrade', async () => {
    const oldId = await legacyDocument({ user: 'stale' }, new Date(Date.now() - FOURTEEN_DAYS - HOUR));
    const reply = await app.run((s) => s.get(), { headers: { cookie: `sess=${oldId.toHexString()}` } });
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.json()), ['_id'], 'no data from an expired session');
    assert.notEqual(reply.json()._id, oldId.toHexString());
    assert.equal(await collection.countDocuments({ 'd.user': 'stale' }), 0, 'nor is it stored under a new id');
  });

  it('end() on a 0.4 session makes it a tombstone and clears the cookie; the old cookie then finds nothing', async () => {
    const oldId = await legacyDocument({ user: 'leaving' });
    const browser = new Browser();
    await legacyCookie(browser, oldId);
    const reply = await app.run((s) => s.end(), { browser });
    assert.equal(reply.status, 200, reply.body);
    assert.equal(cookiesOf(reply).get('sess')?.value, '', 'the cookie is cleared');
    assertNoData(await collection.findOne({ _id: oldId }), 'the 0.4 document is a tombstone');
    const replay = await app.run((s) => s.get(), { headers: { cookie: `sess=${oldId.toHexString()}` } });
    assert.deepEqual(Object.keys(replay.json()), ['_id']);
  });

  it('a 0.4 document with a __proto__ key is carried over as plain data and pollutes nothing', async () => {
    const oldId = await legacyDocument({ user: 'proto', ...JSON.parse('{"__proto__": {"polluted": "yes"}}') });
    const reply = await app.run(
      async (s) => {
        const view = await s.get();
        return {
          own: Object.hasOwn(view, '__proto__'),
          prototypeIsObject: Object.getPrototypeOf(view) === Object.prototype,
          inherited: (view as Record<string, unknown>)['polluted'] ?? null,
          global: ({} as Record<string, unknown>)['polluted'] ?? null,
          user: view['user'],
        };
      },
      { headers: { cookie: `sess=${oldId.toHexString()}` } },
    );
    assert.equal(reply.status, 200, reply.body);
    assert.deepEqual(reply.json(), { own: true, prototypeIsObject: true, inherited: null, global: null, user: 'proto' });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});
