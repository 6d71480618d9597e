// Regression tests for hardening from the security review, black-box through HTTP: log out
// everywhere reaching 0.4 sessions, absoluteTimeout on writes and counts, cookie rotation races,
// 0.4 sessions first read after the headers, short tombstones for anonymous ids, a retried 0.4
// look-up, and a lowered absoluteTimeout. A fake clock stands in for waiting.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { MongoClient, ObjectId } from 'mongodb';
import MongoSess, { type SessionOptions } from '../../src/index.js';
import { describeMessage } from '../../scripts/wire-messages.mjs';
import { digestOfCookie, MONGODB_URI } from '../helpers/db.js';
import { Gates } from '../helpers/gates.js';
import { Browser, type Reply } from '../helpers/http.js';
import { cookiesOf, outcome, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ID = /^[A-Za-z0-9_-]{43}$/;

let clock = Date.now();
const now = () => clock;
const fixture = sessionFixture('hardening', { connect: { now } });
const { collection } = fixture;
let app: SessionApp;

function stored(sid: string) {
  return collection.findOne({ _id: digestOfCookie(sid) as never });
}

/** A session stored by `browser`'s request; returns its id. */
async function storedSession(browser: Browser, data: Record<string, unknown>): Promise<string> {
  const reply = await app.run((s) => s.set(data).then(() => s.sid), { browser });
  assert.equal(reply.status, 200, reply.body);
  return reply.json();
}

/** A session as mongosess 0.4 stored it: an ObjectId `_id` (the cookie), `createdAt`, the data at the top level. */
async function legacySession(data: Record<string, unknown>, createdAt = new Date(clock - HOUR)): Promise<string> {
  const _id = new ObjectId();
  await collection.insertOne({ _id, createdAt, ...data });
  return _id.toHexString();
}

/** A browser holding the cookie mongosess 0.4 set for `hex`. */
async function legacyBrowser(hex: string): Promise<Browser> {
  const browser = new Browser();
  await browser.jar.setCookie(`sess=${hex}; Path=/; HttpOnly`, app.url);
  return browser;
}

/** A proxy in front of the test server and a client of MongoSess's through it (closed by `after`). */
async function proxiedClient(t: { skip(message: string): void }): Promise<{ proxy: TcpProxy; client: MongoClient } | undefined> {
  try {
    const proxy = await tcpProxy(MONGODB_URI);
    const client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 2000, heartbeatFrequencyMS: 500, directConnection: true });
    proxied.push({ proxy, client });
    return { proxy, client };
  } catch (err) {
    t.skip(`MONGODB_URI is not a single host this test can relay to (${(err as Error).message})`);
    return undefined;
  }
}
const proxied: { proxy: TcpProxy; client: MongoClient }[] = [];

/**
 * A read racing a login: `browser` reads `user` until `held` (one of the read's commands, or its
 * answer, held at the relay) is reached; the same browser then logs in (regenerate()) and the hold
 * is released. Returns the login's new id and the read's reply (both checked to be 200s).
 */
async function readDuringLogin(
  held: { atGate: Promise<void>; release: () => void },
  browser: Browser,
  options?: SessionOptions,
): Promise<{ newSid: string; read: Reply }> {
  const run = { browser, ...(options ? { options } : {}) };
  const reader = app.run((s) => s.get('user'), run);
  await held.atGate;
  const login = await app.run((s) => s.regenerate().then(() => s.sid), run);
  assert.equal(login.status, 200, login.body);
  const newSid: string = login.json();
  assert.match(newSid, ID);
  held.release();
  const read = await reader;
  assert.equal(read.status, 200, read.body);
  return { newSid, read };
}

/** A moved 0.4 document: no data left, only the digest of the session it became. */
function assertForwardingTombstone(doc: Record<string, unknown> | null, message: string): void {
  assert.ok(doc, message);
  assert.deepEqual(Object.keys(doc).sort(), ['_id', 'ended', 'endedAt', 'expiresAt', 'movedTo'], message);
  assert.match(String(doc['movedTo']), /^[A-Za-z0-9_-]{43}$/, message);
}

describe('hardening from the security review', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
  });

  afterEach(async () => {
    clock = Date.now();
    await fixture.reconnect();
    for (const { proxy, client } of proxied.splice(0)) {
      await client.close();
      await proxy.cut();
    }
  });

  after(() => fixture.stop());

  it('log out everywhere reaches 0.4 sessions: counted, listed, ended, and their cookies then read no data', async () => {
    const legacy = [];
    for (let device = 0; device < 6; device++) legacy.push(await legacySession({ userId: 42, device }));
    const current = new Browser();
    await storedSession(current, { userId: 42, device: 'new' });
    const others = [new Browser(), new Browser()];
    for (const browser of others) await storedSession(browser, { userId: 7 });

    assert.equal(await MongoSess.countSessions({ userId: 42 }), 7, 'the six 0.4 sessions and the 1.x one are counted');
    const listed = await MongoSess.listSessions({ userId: 42 });
    assert.deepEqual(listed.map((s) => s.data['device']).sort(), [0, 1, 2, 3, 4, 5, 'new']);
    assert.ok(listed.every((s) => s.data['userId'] === 42 && s.createdAt instanceof Date && s.expiresAt instanceof Date));

    assert.equal(await MongoSess.endAll({ userId: 42 }), 7);
    assert.equal(await MongoSess.countSessions({ userId: 42 }), 0);
    for (const hex of legacy) {
      const reply = await app.run((s) => s.get(), { browser: await legacyBrowser(hex) });
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(Object.keys(reply.json()), ['_id'], 'the 0.4 cookie reads no data');
    }
    assert.equal((await app.run((s) => s.get('userId'), { browser: current })).json(), null, 'the 1.x session is ended too');

    assert.equal(await MongoSess.countSessions({ userId: 7 }), 2, "other users' sessions are untouched");
    for (const browser of others) assert.equal((await app.run((s) => s.get('userId'), { browser })).json(), 7);
  });

  for (const hours of [9, 33]) {
    it(`absoluteTimeout turned on later: at ${hours} h a set is a new visitor's (no data under the old id), and the old session is not counted`, async () => {
      const browser = new Browser();
      const created = clock;
      const user = `uncapped-${hours}`;
      const sid = await storedSession(browser, { user });
      await fixture.reconnect({ absoluteTimeout: 8 * HOUR });
      clock = created + hours * HOUR;

      const reply = await app.run(
        async (s) => {
          const write = await outcome(s.set({ more: 1 }));
          return { write, view: await s.get() };
        },
        { browser },
      );
      assert.equal(reply.status, 200, reply.body);
      const { write, view } = reply.json();
      assert.equal(write, 'resolved', 'the session was over its cap before this request: the write starts a new one');
      assert.notEqual(view._id, sid);
      assert.deepEqual(view, { _id: view._id, createdAt: view.createdAt, more: 1 }, 'a new session: none of the old data');
      assert.equal(cookiesOf(reply).get('sess')?.value, view._id, 'with its cookie');
      assert.equal((await stored(sid))?.['d']?.['more'], undefined, 'nothing was written to the old session');
      assert.equal(await MongoSess.countSessions({ user }), 0, 'countSessions does not count it');
    });
  }

  it('rolling: a read that saw the session live before a concurrent regenerate() does not re-send the old cookie', async (t) => {
    const relay = await proxiedClient(t);
    if (!relay) return;
    await fixture.reconnect({ client: relay.client, rolling: true, expires: HOUR });
    const browser = new Browser();
    const sid = await storedSession(browser, { user: 'ann' });
    clock += 10 * MINUTE; // so that a read extends the session
    const digest = Buffer.from(digestOfCookie(sid));
    const touch = relay.proxy.hold((message) => describeMessage(message).command === 'update' && message.includes(digest));

    // The reader finds the session live; its extension is held before the server during the login.
    const { newSid, read } = await readDuringLogin(touch, browser);

    assert.equal(cookiesOf(read).get('sess'), undefined, 'the old cookie is not sent again');
    assert.equal(await browser.cookie(app.url, 'sess'), newSid, "the browser keeps the login's cookie");
    assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann');
  });

  // Task h2: a cookie signed with an older key of `keys` is re-signed only once a command of the
  // request proves the session still live after its read. Re-signed on the read alone, the late
  // response re-sent the old id over the login's new cookie: the user was logged out at once.
  for (const regenerateGrace of [0, 30_000]) {
    const within = regenerateGrace ? ', within regenerateGrace' : '';
    it(`keys rotated: a read that saw the session live before a concurrent regenerate() does not re-sign the old cookie${within}`, async (t) => {
      const relay = await proxiedClient(t);
      if (!relay) return;
      await fixture.reconnect({ client: relay.client, regenerateGrace });
      const keys = ['rotation-newest-5e1b', 'rotation-older-c04a'];
      const browser = new Browser();
      const first = await app.run((s) => s.set({ user: 'ann' }).then(() => s.sid), { browser, options: { keys: keys.slice(1) } });
      const sid: string = first.json();
      const digest = Buffer.from(digestOfCookie(sid));
      const found = relay.proxy.holdReply((message) => describeMessage(message).command === 'find' && message.includes(digest));

      // The reader's look-up finds the session live; its answer is held during the login.
      const { newSid, read } = await readDuringLogin(found, browser, { keys });

      assert.equal(read.json(), 'ann', 'the read is served');
      assert.equal(cookiesOf(read).get('sess'), undefined, 'the old id is not re-signed and sent again');
      assert.equal(cookiesOf(read).get('sess.sig'), undefined, 'nor its signature');
      assert.equal(await browser.cookie(app.url, 'sess'), newSid, "the browser keeps the login's cookie");
      assert.equal((await app.run((s) => s.get('user'), { browser, options: { keys } })).json(), 'ann', 'and is logged in');
    });
  }

  // With rolling, the read before the gate extends the session and puts the (then valid) old
  // cookie on the response: the refused write must take it back.
  for (const rolling of [false, true]) {
    const name = `${rolling ? 'rolling' : 'fixed expiry'}: a late set refused after a concurrent regenerate() sends no cookie`;
    it(name, async () => {
      await fixture.reconnect({ rolling, expires: HOUR });
      const gates = new Gates();
      const browser = new Browser();
      await storedSession(browser, { user: 'bob' });
      const { atGate, release } = gates.open('late set');
      const late = app.run(
        async (s) => {
          await s.get(); // the session is live here
          await gates.pass('late set');
          return outcome(s.set({ late: true }));
        },
        { browser },
      );
      await atGate;
      const login = await app.run((s) => s.regenerate().then(() => s.sid), { browser });
      const newSid = login.json();
      release();
      const reply = await late;

      assert.equal(reply.json().name, 'MongoSessEndedError');
      assert.equal(cookiesOf(reply).get('sess'), undefined, 'the refused write sends no cookie');
      assert.equal(await browser.cookie(app.url, 'sess'), newSid, "the refused write left the login's cookie in place");
      assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'bob');
      assert.equal(await collection.countDocuments({ 'd.late': true }), 0);
    });
  }

  it('a set with the cookie of a session ended long before the request is a new visitor: stored under a fresh id, with its cookie', async () => {
    const browser = new Browser();
    const sid = await storedSession(browser, { user: 'cy' });
    const stale = new Browser();
    await stale.jar.setCookie(`sess=${sid}; Path=/`, app.url);
    await app.run((s) => s.end(), { browser });
    clock += MINUTE;

    const reply = await app.run((s) => outcome(s.set({ again: true })), { browser: stale });
    assert.equal(reply.json(), 'resolved', 'no error');
    const fresh = cookiesOf(reply).get('sess')?.value ?? '';
    assert.match(fresh, ID, 'a fresh cookie is sent');
    assert.notEqual(fresh, sid);
    assert.deepEqual((await stored(fresh))?.['d'], { again: true }, 'the write went to the new session');
    assert.equal((await stored(sid))?.['d'], undefined, 'the ended one stays ended');
    assert.equal((await app.run((s) => s.get('again'), { browser: stale })).json(), true, 'and the client holds it');
  });

  it('a 0.4 session first read after the response headers were sent is served and kept; a later request moves it', async () => {
    const hex = await legacySession({ user: 'late-reader' });
    const browser = await legacyBrowser(hex);
    const reply = await app.run(
      async (s, _req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        res.end(JSON.stringify(await s.get()));
      },
      { browser },
    );
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.json().user, 'late-reader', 'its data is readable');
    assert.deepEqual(reply.setCookie, []);
    const kept = await collection.findOne({ _id: new ObjectId(hex) });
    assert.equal(kept?.['user'], 'late-reader', 'the 0.4 document still exists');

    const next = await app.run((s) => s.get(), { browser });
    const view = next.json();
    assert.match(view._id, ID, 'the next request moves it to a new id');
    assert.equal(view.user, 'late-reader');
    assert.equal(cookiesOf(next).get('sess')?.value, view._id);
    assertForwardingTombstone(
      await collection.findOne({ _id: new ObjectId(hex) }),
      'and leaves only a forwarding tombstone of the 0.4 document',
    );
  });

  for (const [what, call] of [
    ['end()', 'end'],
    ['regenerate()', 'regenerate'],
  ] as const) {
    it(`a fresh visitor whose next request calls ${what} leaves a tombstone of five minutes at most`, async () => {
      const browser = new Browser();
      const sid = (await app.run((s) => s.sid, { browser })).json();
      assert.equal(await browser.cookie(app.url, 'sess'), sid);
      const reply = await app.run((s) => s[call](), { browser });
      assert.equal(reply.status, 200, reply.body);
      const tomb = await stored(sid);
      assert.equal(tomb?.['ended'], true);
      assert.ok(tomb?.['expiresAt'].getTime() <= clock + 5 * MINUTE, `kept until ${tomb?.['expiresAt'].toISOString()}`);
    });
  }

  it('end() of a session that held data leaves a tombstone kept one `expires`', async () => {
    const browser = new Browser();
    const sid = await storedSession(browser, { user: 'dee' });
    await app.run((s) => s.end(), { browser });
    const tomb = await stored(sid);
    assert.equal(tomb?.['ended'], true);
    assert.equal(tomb?.['expiresAt'].getTime(), clock + 14 * DAY);
  });

  it('after a failed 0.4 look-up, a retry on the same session looks the 0.4 session up again, never writing under SHA-256 of its id', async (t) => {
    const relay = await proxiedClient(t);
    if (!relay) return;
    await fixture.reconnect({ client: relay.client });
    const hex = await legacySession({ user: 'eve' });
    const reply = await app.run(
      async (s) => {
        relay.proxy.down();
        const first = await outcome(s.get());
        relay.proxy.up();
        const second = await outcome(s.set({ visits: 1 }));
        return { first, second, view: await s.get() };
      },
      { browser: await legacyBrowser(hex) },
    );
    assert.equal(reply.status, 200, reply.body);
    const { first, second, view } = reply.json();
    assert.equal(first.name, 'MongoSessDatabaseError', 'the database was down for the first look-up');
    assert.equal(second, 'resolved');
    const hexDigest = createHash('sha256').update(hex).digest('base64url');
    assert.equal(await collection.findOne({ _id: hexDigest as never }), null, 'nothing stored under SHA-256 of the 0.4 id');
    assert.match(view._id, ID, 'the 0.4 session moved to a new id');
    assert.deepEqual({ user: view.user, visits: view.visits }, { user: 'eve', visits: 1 });
    assert.equal(cookiesOf(reply).get('sess')?.value, view._id);
    assertForwardingTombstone(await collection.findOne({ _id: new ObjectId(hex) }), 'the 0.4 document is a forwarding tombstone');
    assert.deepEqual((await stored(view._id))?.['d'], { user: 'eve', visits: 1 });
  });

  /** What an app would write of `get()`'s whole session: plain JSON.stringify (as res.json() does), a spread, its keys. */
  async function echoedSession(browser: Browser) {
    const reply = await app.run(
      async (s, _req, res) => {
        const data = await s.get();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data, spread: { ...data }, keys: Object.keys(data), readable: data._id === s.sid }));
      },
      { browser },
    );
    return { body: reply.body, ...reply.json() };
  }

  it("get()'s whole session holds _id as an ordinary property by default, as in 0.4: JSON.stringify(session) carries it", async () => {
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'ann' }), { browser });
    const sid = await browser.cookie(app.url, 'sess');
    const { data, spread, keys, readable } = await echoedSession(browser);
    assert.deepEqual(data, { _id: sid, createdAt: data.createdAt, user: 'ann' });
    assert.deepEqual(spread, data);
    assert.deepEqual(keys, ['_id', 'createdAt', 'user'], '_id comes first, as in the 0.4 document');
    assert.equal(readable, true);
    const fresh = await echoedSession(new Browser());
    assert.deepEqual(fresh.keys, ['_id'], 'a new visitor is { _id }');
  });

  it("with hideId, get()'s whole session does not hand the id to page scripts: JSON, spreads and keys skip _id, yet data._id reads it", async () => {
    await fixture.reconnect({ hideId: true });
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'ann' }), { browser });
    const sid = await browser.cookie(app.url, 'sess');
    const { body, data, spread, keys, readable } = await echoedSession(browser);
    assert.ok(sid);
    assert.ok(!body.includes(sid), 'the session id is not in the JSON');
    assert.deepEqual(data, { createdAt: data.createdAt, user: 'ann' });
    assert.deepEqual(spread, data);
    assert.deepEqual(keys, ['createdAt', 'user']);
    assert.equal(readable, true, 'code reading data._id still gets the id');
  });

  it('lowering absoluteTimeout shortens existing sessions: a 24 h session is not served at 9 h under an 8 h cap', async () => {
    await fixture.reconnect({ absoluteTimeout: DAY });
    const browser = new Browser();
    const created = clock;
    const sid = await storedSession(browser, { user: 'long-cap' });
    assert.equal((await stored(sid))?.['deadline']?.getTime(), created + DAY, 'the 24 h deadline is stored');
    await fixture.reconnect({ absoluteTimeout: 8 * HOUR });
    clock = created + 9 * HOUR;

    const view = (await app.run((s) => s.get(), { browser })).json();
    assert.notEqual(view._id, sid);
    assert.deepEqual(view, { _id: view._id }, 'not served');
    assert.equal(await MongoSess.countSessions({ user: 'long-cap' }), 0);
  });
});
