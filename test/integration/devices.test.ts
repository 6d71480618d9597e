// Device sessions, login in one step, and events, black-box through HTTP with a real cookie jar:
// listSessions' handles (useless as cookies, unforgeable), lastSeenAt with no extra write,
// recordClient, endSession / endAll except, userKey and maxSessionsPerUser, regenerate({ set }),
// and the events (emitter and diagnostics_channel), which never carry an id or a digest.
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, afterEach, before, describe, it } from 'node:test';
import MongoSess, { type EndedEvent, type SessionEventMap, type SessionEventName } from '../../src/index.js';
import { MongoClient, ObjectId } from 'mongodb';
import { describeMessage } from '../../scripts/wire-messages.mjs';
import { digestOfCookie, MONGODB_URI } from '../helpers/db.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { updatesAreAtomic } from '../helpers/atomic-probe.js';
import { serialProxy } from '../helpers/serial-proxy.js';
import { Browser } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let clock = Date.now();
const now = () => clock;
const fixture = sessionFixture('devices', { connect: { now, recordClient: true, userKey: 'userId', expires: HOUR } });
const { collection } = fixture;

/** Every event emitted while a test runs, in order. */
const heard: { event: SessionEventName; payload: SessionEventMap[SessionEventName] }[] = [];
const listeners = new Map<SessionEventName, (payload: SessionEventMap[SessionEventName]) => void>();

/** The reasons of the `ended` events heard, in order. */
function endReasons(): string[] {
  return heard.filter((e) => e.event === 'ended').map((e) => (e.payload as EndedEvent).reason);
}

/** A browser whose session holds `data`; returns its cookie value (the session id). */
async function login(browser: Browser, data: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string> {
  const reply = await fixture.app.run((s) => s.set(data).then(() => s.sid), { browser, headers });
  assert.equal(reply.status, 200, reply.body);
  return reply.json();
}

/** The session's stored data, without the `_id` and `createdAt` that get() adds. */
async function dataOf(browser: Browser): Promise<Record<string, unknown>> {
  const reply = await fixture.app.run((s) => s.get().then(({ _id, createdAt, ...data }) => data), { browser });
  return reply.json();
}

/** No payload names a session by id or digest. */
function assertNoSecrets(ids: string[]): void {
  const text = JSON.stringify(heard);
  for (const id of ids) {
    assert.equal(text.includes(id), false, 'an event carried a session id');
    assert.equal(text.includes(digestOfCookie(id)), false, 'an event carried a digest');
  }
}

describe('device sessions', () => {
  before(async () => {
    await fixture.start();
    for (const event of ['created', 'ended', 'regenerated', 'refused', 'replay', 'error'] as const) {
      const listener = (payload: SessionEventMap[SessionEventName]) => void heard.push({ event, payload });
      listeners.set(event, listener);
      MongoSess.on(event, listener);
    }
  });
  afterEach(async () => {
    heard.splice(0);
    clock = Date.now();
    await collection.deleteMany({});
  });
  after(async () => {
    for (const [event, listener] of listeners) MongoSess.off(event, listener as never);
    await fixture.stop();
  });

  it('listSessions names each session by a handle, with createdAt, lastSeenAt, the client, and current', async () => {
    const [laptop, phone] = [new Browser(), new Browser()];
    const t0 = clock;
    const laptopId = await login(laptop, { userId: 'ann' }, { 'user-agent': 'Laptop/1.0' });
    clock += MINUTE;
    const phoneId = await login(phone, { userId: 'ann' }, { 'user-agent': 'Phone/2.0' });
    clock += MINUTE;
    await fixture.app.run((s) => s.set({ seen: 1 }), { browser: laptop });

    const reply = await fixture.app.run((s) => MongoSess.listSessions({ userId: 'ann' }, { current: s }), { browser: phone });
    const listed = reply.json() as Array<Record<string, any>>;
    assert.equal(listed.length, 2);
    const byAgent = new Map(listed.map((s) => [s['client']?.userAgent, s]));
    const laptopRow = byAgent.get('Laptop/1.0');
    const phoneRow = byAgent.get('Phone/2.0');
    assert.ok(laptopRow && phoneRow);
    assert.deepEqual(Object.keys(laptopRow).sort(), ['client', 'createdAt', 'current', 'data', 'expiresAt', 'handle', 'lastSeenAt']);
    assert.equal(phoneRow['current'], true);
    assert.equal(laptopRow['current'], false);
    assert.equal(new Date(laptopRow['createdAt']).getTime(), t0);
    assert.equal(new Date(laptopRow['lastSeenAt']).getTime(), t0 + 2 * MINUTE, 'the last write is when it was last seen');
    assert.equal(new Date(phoneRow['lastSeenAt']).getTime(), t0 + MINUTE);
    assert.equal(laptopRow['client'].ip, '127.0.0.1');
    assert.match(laptopRow['handle'], /^msh1\.[A-Za-z0-9_-]{43}$/);
    assert.notEqual(laptopRow['handle'], phoneRow['handle']);
    const text = JSON.stringify(listed);
    for (const id of [laptopId, phoneId]) {
      assert.equal(text.includes(id), false);
      assert.equal(text.includes(digestOfCookie(id)), false);
    }
  });

  it('a handle is no cookie: sent as the session cookie it opens nothing', async () => {
    const owner = new Browser();
    await login(owner, { userId: 'ann', secret: 'owner-only' });
    const [summary] = await MongoSess.listSessions({ userId: 'ann' });
    assert.ok(summary?.handle);
    for (const value of [summary.handle, summary.handle.slice('msh1.'.length)]) {
      const thief = new Browser();
      await thief.jar.setCookie(`sess=${value}`, fixture.app.url);
      assert.deepEqual(await dataOf(thief), {}, 'a handle (or its body) as a cookie is a new, empty session');
    }
    assert.equal((await dataOf(owner))['secret'], 'owner-only');
  });

  it('endSession(handle) ends that device only; a forged handle, or one outside the filter, ends nothing', async () => {
    const [laptop, phone, other] = [new Browser(), new Browser(), new Browser()];
    const ids = [await login(laptop, { userId: 'ann', d: 'laptop' }), await login(phone, { userId: 'ann', d: 'phone' })];
    ids.push(await login(other, { userId: 'bob' }));
    const [bobs] = await MongoSess.listSessions({ userId: 'bob' });
    const phoneRow = (await MongoSess.listSessions({ userId: 'ann' })).find((s) => s.data['d'] === 'phone');
    assert.ok(bobs?.handle && phoneRow?.handle);

    // One character changed: another 256-bit name, which no session has.
    const last = phoneRow.handle.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(await MongoSess.endSession(`${phoneRow.handle.slice(0, -1)}${last}` as typeof phoneRow.handle, { userId: 'ann' }), false);
    // Ann's devices page, handed Bob's handle: scoped by her filter, it ends nothing.
    assert.equal(await MongoSess.endSession(bobs.handle, { userId: 'ann' }), false);
    await assert.rejects(MongoSess.endSession(digestOfCookie(ids[0] ?? '') as never), { name: 'MongoSessValidationError' });
    await assert.rejects(MongoSess.endSession(ids[0] as never), { name: 'MongoSessValidationError' });
    assert.equal(await MongoSess.countSessions({}), 3);

    assert.equal(await MongoSess.endSession(phoneRow.handle, { userId: 'ann' }), true);
    assert.equal(await MongoSess.endSession(phoneRow.handle, { userId: 'ann' }), false, 'ended once');
    assert.deepEqual(await dataOf(phone), {}, 'the revoked device is logged out on its next request');
    assert.equal((await dataOf(laptop))['d'], 'laptop');
    assert.equal((await dataOf(other))['userId'], 'bob');
    assert.deepEqual(
      heard.filter((e) => e.event === 'ended'),
      [{ event: 'ended', payload: { reason: 'end', handle: phoneRow.handle } }],
    );
    assertNoSecrets(ids);
  });

  it('a session stored before handles existed gets its handle when first listed, and can then be ended by it', async () => {
    const browser = new Browser();
    const id = await login(browser, { userId: 'old' });
    await collection.updateOne({ _id: digestOfCookie(id) as never }, { $unset: { h: '' } });
    const [listed] = await MongoSess.listSessions({ userId: 'old' });
    assert.match(listed?.handle ?? '', /^msh1\./);
    assert.equal((await collection.findOne({ _id: digestOfCookie(id) as never }))?.['h'], listed?.handle, 'stored once listed');
    assert.equal(await MongoSess.endSession(listed?.handle as never, { userId: 'old' }), true);
    assert.deepEqual(await dataOf(browser), {});
  });

  it('endAll(filter, { except: session }) logs out everywhere else', async () => {
    const browsers = [new Browser(), new Browser(), new Browser()];
    for (const browser of browsers) await login(browser, { userId: 'ann' });
    const [here, ...elsewhere] = browsers as [Browser, ...Browser[]];
    const reply = await fixture.app.run((s) => MongoSess.endAll({ userId: 'ann' }, { except: s }), { browser: here });
    assert.equal(reply.json(), 2);
    assert.equal((await dataOf(here))['userId'], 'ann');
    for (const browser of elsewhere) assert.deepEqual(await dataOf(browser), {});
    assert.deepEqual(
      heard.filter((e) => e.event === 'ended').map((e) => e.payload),
      [{ reason: 'endAll', count: 2 }],
    );
    await assert.rejects(MongoSess.endAll({ userId: 'ann' }, { except: 'me' as never }), { name: 'MongoSessValidationError' });
    await assert.rejects(MongoSess.endAll({ userId: 'ann' }, { exept: 1 } as { except?: never }), /has no option exept/);
    // A tombstone of endAll keeps no device facts (the client's address is personal data).
    const tombstones = await collection.find({ ended: true }).toArray();
    assert.equal(tombstones.length, 2);
    for (const doc of tombstones) assert.deepEqual(Object.keys(doc).sort(), ['_id', 'ended', 'endedAt', 'expiresAt']);
  });

  it('except also keeps a mongosess 0.4 session not yet moved, and reaches the other 0.4 ones', async () => {
    const [kept, other] = [new ObjectId(), new ObjectId()];
    for (const _id of [kept, other]) await collection.insertOne({ _id, createdAt: new Date(clock - MINUTE), userId: 'legacy' });
    const modern = new Browser();
    await login(modern, { userId: 'legacy' });
    const browser = new Browser();
    await browser.jar.setCookie(`sess=${kept.toHexString()}`, fixture.app.url);
    const reply = await fixture.app.run((s) => MongoSess.endAll({ userId: 'legacy' }, { except: s }), { browser });
    assert.equal(reply.json(), 2, 'the other 0.4 session and the 1.x one');
    assert.ok(await collection.findOne({ _id: kept as never, userId: 'legacy' }), "the caller's 0.4 session is untouched");
    assert.equal(await collection.countDocuments({ _id: other as never }), 0);
    assert.equal((await dataOf(browser))['userId'], 'legacy', 'and still serves its owner (moved on this first use)');
  });

  it('recordClient honours trustProxy: the first X-Forwarded-For address only when trusted', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'user-agent': 'Agent' };
    await fixture.app.run((s) => s.set({ userId: 'p' }), { browser: new Browser(), headers, options: { trustProxy: true } });
    await fixture.app.run((s) => s.set({ userId: 'q' }), { browser: new Browser(), headers });
    const [trusted] = await MongoSess.listSessions({ userId: 'p' });
    const [direct] = await MongoSess.listSessions({ userId: 'q' });
    assert.deepEqual(trusted?.client, { userAgent: 'Agent', ip: '203.0.113.9' });
    assert.deepEqual(direct?.client, { userAgent: 'Agent', ip: '127.0.0.1' });
  });

  it('lastSeenAt follows rolling extensions in the extension itself: no extra write', async () => {
    await fixture.reconnect({ rolling: true, touchAfter: MINUTE });
    try {
      const browser = new Browser();
      const t0 = clock;
      await login(browser, { userId: 'r' });
      clock += 30_000; // within touchAfter: no write at all
      fixture.reset();
      await dataOf(browser);
      assert.deepEqual(
        fixture.commands.map((c) => c.commandName),
        ['find'],
      );
      assert.equal((await MongoSess.listSessions({ userId: 'r' }))[0]?.lastSeenAt?.getTime(), t0);
      clock += 2 * MINUTE; // the read extends the session, and that one update records when
      fixture.reset();
      await dataOf(browser);
      assert.deepEqual(
        fixture.commands.map((c) => c.commandName),
        ['find', 'update'],
      );
      assert.equal((await MongoSess.listSessions({ userId: 'r' }))[0]?.lastSeenAt?.getTime(), clock);
    } finally {
      await fixture.reconnect();
    }
  });

  it('userKey is indexed at connect; maxSessionsPerUser ends the least recently seen beyond the limit', async () => {
    const indexes = await collection.listIndexes().toArray();
    assert.ok(indexes.some((i) => i.name === 'mongosess_user_userId' && i.key['d.userId'] === 1));
    assert.ok(indexes.some((i) => i.name === 'mongosess_handle' && i.key['h'] === 1));
    await fixture.reconnect({ maxSessionsPerUser: 2 });
    try {
      const devices = [new Browser(), new Browser(), new Browser()];
      for (const browser of devices) {
        await fixture.app.run((s) => s.set({ visitor: true }), { browser });
        clock += MINUTE;
      }
      // The newest session logs in first, the oldest last: the limit ranks by last seen, and never ends the one logging in.
      for (const browser of [...devices].reverse()) {
        await login(browser, { userId: 'max' });
        clock += MINUTE;
      }
      assert.equal(await MongoSess.countSessions({ userId: 'max' }), 2);
      assert.deepEqual(await dataOf(devices[2] as Browser), {}, 'the least recently seen device was ended');
      assert.equal((await dataOf(devices[0] as Browser))['userId'], 'max');
      assert.equal((await dataOf(devices[1] as Browser))['userId'], 'max');
      assert.deepEqual(endReasons(), ['evicted']);
    } finally {
      await fixture.reconnect();
    }
  });

  it("maxSessionsPerUser with a dotted userKey counts a write of the key above it (Passport's passport.user)", async () => {
    await fixture.reconnect({ userKey: 'passport.user', maxSessionsPerUser: 1 });
    try {
      const devices = [new Browser(), new Browser(), new Browser()];
      for (const browser of devices) {
        await login(browser, { passport: { user: 'pp' } });
        clock += MINUTE;
      }
      assert.equal(await MongoSess.countSessions({ 'passport.user': 'pp' }), 1, 'only the newest login stays');
      assert.deepEqual(await dataOf(devices[2] as Browser), { passport: { user: 'pp' } });
      assert.deepEqual(await dataOf(devices[0] as Browser), {}, 'the oldest was ended');
    } finally {
      await fixture.reconnect();
    }
  });

  it('concurrent logins with maxSessionsPerUser agree: at least one survives, never more than the limit', async () => {
    // Through the serializing proxy where the server is not atomic per document (as every race
    // test here): direct to FerretDB 1.x, lost updates leave 3 of them live.
    const atomic = await updatesAreAtomic(MONGODB_URI);
    const proxy = atomic ? undefined : await serialProxy(MONGODB_URI);
    const client = new MongoClient(proxy?.uri ?? MONGODB_URI, { serverSelectionTimeoutMS: 2000 });
    try {
      await fixture.reconnect({ client, maxSessionsPerUser: 2 });
      for (let round = 0; round < 5; round++) {
        await collection.deleteMany({});
        const devices = Array.from({ length: 6 }, () => new Browser());
        for (const browser of devices) await fixture.app.run((s) => s.set({ visitor: true }), { browser });
        const replies = await Promise.all(devices.map((browser) => fixture.app.run((s) => s.set({ userId: 'rush' }), { browser })));
        assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
        const live = await MongoSess.countSessions({ userId: 'rush' });
        assert.ok(live >= 1 && live <= 2, `round ${round}: ${live} sessions live`);
      }
    } finally {
      await fixture.reconnect();
      await client.close();
      await proxy?.close();
    }
  });

  it('connect() refuses maxSessionsPerUser without userKey, and a bad userKey', async () => {
    for (const [options, message] of [
      [{ maxSessionsPerUser: 2, userKey: undefined }, /maxSessionsPerUser needs userKey/],
      [{ userKey: '$where' }, /userKey is not a usable data key/],
      [{ maxSessionsPerUser: -1 }, /maxSessionsPerUser must be a non-negative integer/],
      [{ recordClient: 'yes' }, /recordClient must be true or false/],
    ] as const) {
      await assert.rejects(fixture.reconnect(options as never), message);
    }
    await fixture.reconnect();
  });

  it('stores the data with the new id in the write that creates it; the old id never held it', async () => {
    const browser = new Browser();
    const oldId = await login(browser, { cart: ['book'] });
    fixture.reset();
    const reply = await fixture.app.run((s) => s.regenerate({ set: { userId: 'ann', 'prefs.lang': 'en' } }).then(() => s.sid), { browser });
    assert.equal(reply.status, 200, reply.body);
    const newId = reply.json() as string;
    assert.notEqual(newId, oldId);
    // The new document is inserted with the user in it: no update adds it later.
    const writes = fixture.commands.filter((c) => ['insert', 'update', 'findAndModify'].includes(c.commandName));
    const insert = writes.find((c) => c.commandName === 'insert');
    assert.deepEqual(insert?.command['documents'][0].d, { cart: ['book'], userId: 'ann', prefs: { lang: 'en' } });
    assert.equal(
      writes.some((c) => JSON.stringify(c.command).includes('"ann"') && c.commandName !== 'insert'),
      false,
      'the user is written only by the insert of the new id',
    );
    assert.deepEqual(await dataOf(browser), { cart: ['book'], userId: 'ann', prefs: { lang: 'en' } });
    const old = await collection.findOne({ _id: digestOfCookie(oldId) as never });
    assert.equal(old?.['ended'], true);
    assert.equal(old?.['d'], undefined);

    const [summary] = await MongoSess.listSessions({ userId: 'ann' });
    const regenerated = heard.find((e) => e.event === 'regenerated');
    assert.ok(regenerated);
    const { from, to } = regenerated.payload as SessionEventMap['regenerated'];
    assert.equal(to, summary?.handle);
    assert.match(from, /^msh1\./);
    assert.notEqual(from, to);
    assert.deepEqual(endReasons(), ['regenerate']);
    assertNoSecrets([oldId, newId]);
  });

  it('a write to the old id while regenerate({ set }) moves it is carried over, and the login keys win', async (t) => {
    let proxy: TcpProxy;
    try {
      proxy = await tcpProxy(MONGODB_URI);
    } catch (err) {
      return t.skip(`MONGODB_URI is not a single host this test can relay to (${(err as Error).message})`);
    }
    const client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 2000, directConnection: true });
    try {
      await fixture.reconnect({ client });
      const browser = new Browser();
      const oldId = await login(browser, { cart: 1, userId: 'anonymous' });
      const parallel = new Browser();
      await parallel.jar.setCookie(`sess=${oldId}`, fixture.app.url);
      // The claim of the old id (its end), held after the new copy is stored: the moment a parallel write can land.
      const oldDigest = Buffer.from(digestOfCookie(oldId));
      const claim = proxy.hold((message) => describeMessage(message).command === 'findAndModify' && message.includes(oldDigest));
      const regenerating = fixture.app.run((s) => s.regenerate({ set: { userId: 'ann' } }).then(() => s.sid), { browser });
      await claim.atGate;
      const write = await fixture.app.run((s) => s.set({ cart: 2, userId: 'mallory' }), { browser: parallel });
      assert.equal(write.status, 200, write.body);
      claim.release();
      const reply = await regenerating;
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(await dataOf(browser), { cart: 2, userId: 'ann' }, "the parallel write is kept, the login's key wins");
    } finally {
      await fixture.reconnect();
      await client.close();
      await proxy.cut();
    }
  });

  it('a visitor with nothing stored gets a new session created with the data', async () => {
    const browser = new Browser();
    const reply = await fixture.app.run((s) => s.regenerate({ set: { userId: 'new' } }), { browser });
    assert.equal(reply.status, 200, reply.body);
    assert.equal((await dataOf(browser))['userId'], 'new');
    assert.equal(heard.filter((e) => e.event === 'created').length, 1);
  });

  it('refuses bad input before any write, through the callback too', async () => {
    const browser = new Browser();
    await login(browser, { a: 1 });
    const reply = await fixture.app.run(
      (s) =>
        new Promise((resolve) => {
          s.regenerate({ set: { $bad: 1 } }, (err) => resolve(err?.name));
        }),
      { browser },
    );
    assert.equal(reply.json(), 'MongoSessValidationError');
    const wrongShape = await fixture.app.run((s) => s.regenerate({ sett: { a: 1 } } as never).catch((err: Error) => err.message), {
      browser,
    });
    assert.match(wrongShape.json(), /has no option sett/);
    assert.equal(await collection.countDocuments({ ended: true }), 0, 'nothing was regenerated');
  });

  it('emits created once, refused for a write to an ended session, expired as seen; on diagnostics_channel too', async () => {
    const published: unknown[] = [];
    const onCreated = (message: unknown) => void published.push(message);
    diagnostics.subscribe('mongosess:created', onCreated);
    try {
      const [browser, stale] = [new Browser(), new Browser()];
      const id = await login(browser, { a: 1 });
      await login(browser, { b: 2 });
      assert.equal(heard.filter((e) => e.event === 'created').length, 1);
      assert.deepEqual(published, [heard.find((e) => e.event === 'created')?.payload]);

      // A write refused: this request read the session live, then another request ended it. (A
      // cookie ended before its request began is a new visitor instead, and nothing is refused.)
      await stale.jar.setCookie(`sess=${id}`, fixture.app.url);
      const refused = await fixture.app.run(
        async (s) => {
          await s.get();
          await fixture.app.run((other) => other.end(), { browser });
          return s.set({ late: 1 }).catch((err: Error) => err.name);
        },
        { browser: stale },
      );
      assert.equal(refused.json(), 'MongoSessEndedError');
      const [handle] = heard.filter((e) => e.event === 'created').map((e) => (e.payload as SessionEventMap['created']).handle);
      assert.deepEqual(
        heard.filter((e) => e.event !== 'created').map((e) => e.payload),
        [
          { reason: 'end', handle },
          { handle, operation: 'write' },
        ],
      );

      heard.splice(0);
      const later = new Browser();
      await login(later, { c: 3 });
      clock += 2 * HOUR;
      assert.deepEqual(await dataOf(later), {});
      assert.deepEqual(endReasons(), ['expired']);
      assertNoSecrets([id]);
    } finally {
      diagnostics.unsubscribe('mongosess:created', onCreated);
    }
  });

  it('a listener that throws is reported, and the request goes on', async () => {
    const warnings: string[] = [];
    await fixture.reconnect({ warn: (message) => warnings.push(message) });
    const thrower = () => {
      throw new Error('listener bug');
    };
    MongoSess.on('created', thrower);
    try {
      const browser = new Browser();
      await login(browser, { a: 1 });
      assert.equal((await dataOf(browser))['a'], 1);
      assert.deepEqual(
        warnings.filter((w) => w.includes('listener')),
        ["mongosess: a listener of the 'created' event threw (Error); the event's other listeners still ran"],
      );
      assert.throws(() => MongoSess.on('toString' as never, () => undefined), /unknown event "toString"/);
    } finally {
      MongoSess.off('created', thrower);
      await fixture.reconnect();
    }
  });
});
