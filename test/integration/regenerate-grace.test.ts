// regenerate() with a grace window (connect's `regenerateGrace`) and replay detection, black-box
// over HTTP: within the window the old id is forwarded to the new session (reads and writes land
// there, no cookie goes out); after it, a use of the old id is a replay (the `replay` event, a
// fresh empty session, and with `onReplay: 'endAll'` the end of the user's sessions). The window
// edges run on a fake clock; the races run through the serializing proxy (FerretDB 1.x is not
// atomic per document), each with a control (no window) that loses what the window keeps.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import MongoSess, { type ConnectOptions, type Session, type SessionEventMap } from '../../src/index.js';
import { digestOfCookie } from '../helpers/db.js';
import { Gates } from '../helpers/gates.js';
import { Browser, type Reply } from '../helpers/http.js';
import { proxiedApp } from '../helpers/proxied-app.js';

const GRACE = 10_000;
const HOUR = 3_600_000;
let clock = Date.now();
const now = () => clock;
const fixture = await proxiedApp('grace');
const gates = new Gates();

const replays: SessionEventMap['replay'][] = [];
const onReplay = (event: SessionEventMap['replay']) => void replays.push(event);

/** Connects with the fake clock, a window, a user key, and `more`. */
function connect(more: Partial<ConnectOptions> = {}): Promise<void> {
  return fixture.connect({ now, expires: HOUR, userKey: 'userId', regenerateGrace: GRACE, ...more });
}

/** A browser holding a session with `data`; returns its cookie. */
async function visitor(browser: Browser, data: Record<string, unknown>): Promise<string> {
  const reply = await fixture.app.run((s) => s.set(data), { browser });
  assert.equal(reply.status, 200, reply.body);
  const cookie = await browser.cookie(fixture.app.url, 'sess');
  assert.ok(cookie);
  return cookie;
}

/** Logs `browser` in as `userId` (regenerate({ set })); returns the new cookie. */
async function login(browser: Browser, userId: string): Promise<string> {
  const reply = await fixture.app.run((s) => s.regenerate({ set: { userId } }), { browser });
  assert.equal(reply.status, 200, reply.body);
  const cookie = await browser.cookie(fixture.app.url, 'sess');
  assert.ok(cookie);
  return cookie;
}

/**
 * A request with the old cookie `old` reads its session, then, while it waits, `browser` logs in
 * as `userId` (1 ms after the request began); then the request goes on with `then`.
 */
async function loginDuring(
  browser: Browser,
  old: string,
  userId: string,
  then: (session: Session) => Promise<unknown>,
): Promise<{ fresh: string; reply: Reply }> {
  const gate = gates.open('in flight');
  const request = fixture.app.run(
    async (s) => {
      await s.get();
      await gates.pass('in flight');
      return then(s);
    },
    { headers: { cookie: `sess=${old}` } },
  );
  await gate.atGate;
  clock += 1;
  const fresh = await login(browser, userId);
  gate.release();
  return { fresh, reply: await request };
}

/** The session data a request with exactly this cookie sees (without `_id` and `createdAt`). */
async function dataWith(cookie: string): Promise<{ data: Record<string, unknown>; reply: Reply }> {
  const reply = await fixture.app.run((s) => s.get().then(({ _id, createdAt, ...data }) => data), {
    headers: { cookie: `sess=${cookie}` },
  });
  assert.equal(reply.status, 200, reply.body);
  return { data: reply.json(), reply };
}

/** A promise and its resolve (Promise.withResolvers, which Node 20 lacks). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** The session cookies a reply set (clearing ones included). */
function sessionCookies(reply: Reply): string[] {
  return reply.setCookie.filter((line) => line.startsWith('sess='));
}

describe(`regenerate() with a grace window (${fixture.route})`, () => {
  before(async () => {
    await fixture.start();
    MongoSess.on('replay', onReplay);
  });
  after(async () => {
    MongoSess.off('replay', onReplay);
    await fixture.stop();
  });
  afterEach(() => {
    replays.length = 0;
  });

  it('within the window (its last ms included) the old id reads and writes the new session, and sends no cookie', async () => {
    await connect();
    const browser = new Browser();
    const old = await visitor(browser, { cart: ['book'] });
    const fresh = await login(browser, 'ann');
    clock += GRACE;
    const { data, reply } = await dataWith(old);
    assert.deepEqual(data, { cart: ['book'], userId: 'ann' }, 'the old id reads the new session');
    assert.deepEqual(sessionCookies(reply), [], 'no cookie: the login response carries the new one');
    const write = await fixture.app.run((s) => s.set({ theme: 'dark' }).then(() => s.del('cart')), { headers: { cookie: `sess=${old}` } });
    assert.equal(write.status, 200, write.body);
    assert.deepEqual(sessionCookies(write), []);
    assert.deepEqual((await dataWith(fresh)).data, { userId: 'ann', theme: 'dark' }, 'the writes landed on the new session');
    const tombstone = await fixture.dbClient
      .db(fixture.db)
      .collection('sessions')
      .findOne({ _id: digestOfCookie(old) as never });
    assert.equal(tombstone?.['d'], undefined, 'nothing was written under the old id');
    assert.deepEqual(replays, []);
  });

  it("within the window the old id's request is the new session for listSessions' current and endAll's except", async () => {
    await connect();
    const browser = new Browser();
    const old = await visitor(browser, { cart: [] });
    const fresh = await login(browser, 'kim');
    const other = new Browser();
    await visitor(other, { cart: [] });
    await login(other, 'kim');
    const reply = await fixture.app.run(
      async (s) => {
        await s.get();
        const listed = await MongoSess.listSessions({ userId: 'kim' }, { current: s });
        const ended = await MongoSess.endAll({ userId: 'kim' }, { except: s });
        return { current: listed.filter((d) => d.current).length, ended };
      },
      { headers: { cookie: `sess=${old}` } },
    );
    assert.equal(reply.status, 200, reply.body);
    assert.deepEqual(reply.json(), { current: 1, ended: 1 });
    assert.deepEqual((await dataWith(fresh)).data, { cart: [], userId: 'kim' }, 'the session it was forwarded to is kept');
  });

  it('one ms after the window the old id is a replay: a fresh empty session, the event by handles only', async () => {
    await connect();
    const browser = new Browser();
    const old = await visitor(browser, { cart: ['pen'] });
    const fresh = await login(browser, 'bob');
    clock += GRACE + 1;
    const { data } = await dataWith(old);
    assert.deepEqual(data, {}, 'nothing of the session');
    assert.equal(replays.length, 1);
    const [summary] = await MongoSess.listSessions({ userId: 'bob' });
    assert.equal(replays[0]?.to, summary?.handle, 'the event names the session it became by handle');
    assert.match(replays[0]?.handle ?? '', /^msh1\./);
    const text = JSON.stringify(replays);
    for (const id of [old, fresh]) assert.equal(text.includes(id) || text.includes(digestOfCookie(id)), false, 'no id, no digest');
    // A write with the replayed id starts a new visitor's session, never touching the user's.
    const write = await fixture.app.run((s) => s.set({ evil: true }), { headers: { cookie: `sess=${old}` } });
    assert.equal(write.status, 200, write.body);
    assert.equal(sessionCookies(write).length, 1, 'a new id for the new visitor');
    assert.equal(sessionCookies(write)[0]?.startsWith(`sess=${old};`), false);
    assert.deepEqual((await dataWith(fresh)).data, { cart: ['pen'], userId: 'bob' }, 'the user kept the session, untouched');
    assert.equal(replays.length, 2, 'each use after the window is reported');
  });

  it("onReplay: 'endAll' ends every session of the replayed id's user, and only theirs", async () => {
    await connect({ onReplay: 'endAll' });
    const laptop = new Browser();
    const phone = new Browser();
    const other = new Browser();
    const old = await visitor(laptop, { step: 1 });
    await login(laptop, 'cat');
    await visitor(phone, { step: 2 });
    const phoneCookie = await login(phone, 'cat');
    await visitor(other, { step: 3 });
    const otherCookie = await login(other, 'dan');
    clock += GRACE + 1;
    assert.deepEqual((await dataWith(old)).data, {});
    assert.equal(await MongoSess.countSessions({ userId: 'cat' }), 0, "all of cat's sessions ended");
    assert.deepEqual((await dataWith(phoneCookie)).data, {}, 'the phone is logged out on its next request');
    assert.deepEqual((await dataWith(otherCookie)).data, { step: 3, userId: 'dan' }, 'another user is untouched');
    assert.equal(replays.length, 1);
  });

  it('without the window (the default) the old id is dead at once, and no replay is reported', async () => {
    await fixture.connect({ now, expires: HOUR, userKey: 'userId' });
    const browser = new Browser();
    const old = await visitor(browser, { cart: ['cup'] });
    await login(browser, 'eve');
    assert.deepEqual((await dataWith(old)).data, {}, 'at the same ms');
    clock += HOUR / 2;
    assert.deepEqual((await dataWith(old)).data, {});
    assert.deepEqual(replays, []);
  });

  for (const readFirst of [true, false]) {
    it(`an end() with the old id within the window wins (${readFirst ? 'after a read' : 'alone'}): the new session ends too`, async () => {
      await connect();
      const browser = new Browser();
      const old = await visitor(browser, { cart: ['hat'] });
      const fresh = await login(browser, `fay-${readFirst}`);
      clock += GRACE;
      const reply = await fixture.app.run(async (s) => (readFirst ? s.get().then(() => s.end()) : s.end()), {
        headers: { cookie: `sess=${old}` },
      });
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual((await dataWith(fresh)).data, {}, 'the session the old id led to ended');
      assert.equal(await MongoSess.countSessions({ userId: `fay-${readFirst}` }), 0);
    });
  }

  it('regenerate() through the old id within the window stores its data on the new session and sends no cookie', async () => {
    await connect();
    const browser = new Browser();
    const old = await visitor(browser, { cart: ['map'] });
    const fresh = await login(browser, 'gus');
    const again = await fixture.app.run((s) => s.regenerate({ set: { role: 'admin' } }), { headers: { cookie: `sess=${old}` } });
    assert.equal(again.status, 200, again.body);
    assert.deepEqual(sessionCookies(again), [], 'the first login already gave the browser its new id');
    assert.deepEqual((await dataWith(fresh)).data, { cart: ['map'], userId: 'gus', role: 'admin' });
    assert.equal(await MongoSess.countSessions({ userId: 'gus' }), 1, 'one session, not two');
  });

  for (const grace of [GRACE, 0]) {
    it(`two logins racing (a form sent twice), regenerateGrace ${grace}: ${grace ? 'both succeed, one session, no second cookie' : 'the second is refused'}; a logout with the old id then ends the winner's session`, async () => {
      await connect({ regenerateGrace: grace });
      const browser = new Browser();
      const old = await visitor(browser, { cart: ['bag'] });
      const { fresh, reply } = await loginDuring(browser, old, 'joe', (s) => s.regenerate({ set: { userId: 'joe', twice: true } }));
      if (grace) {
        assert.equal(reply.status, 200, reply.body);
        assert.deepEqual(sessionCookies(reply), [], "the first login's cookie stands");
        assert.deepEqual((await dataWith(fresh)).data, { cart: ['bag'], userId: 'joe', twice: true });
      } else {
        assert.equal(reply.status, 500);
        assert.equal(reply.json().error, 'MongoSessEndedError');
        assert.deepEqual((await dataWith(fresh)).data, { cart: ['bag'], userId: 'joe' });
      }
      assert.equal(await MongoSess.countSessions({ userId: 'joe' }), 1);
      // The losing login left the winner's forwarding alone: a logout with the old id (within
      // 10 s, window or not) still finds and ends the session it became.
      const logout = await fixture.app.run((s) => s.end(), { headers: { cookie: `sess=${old}` } });
      assert.equal(logout.status, 200, logout.body);
      assert.equal(await MongoSess.countSessions({ userId: 'joe' }), 0);
    });
  }

  it('a chain of regenerate()s: the oldest id follows it within its own window, and is a replay after it', async () => {
    await connect();
    const browser = new Browser();
    const first = await visitor(browser, { n: 1 });
    await login(browser, 'hal');
    clock += GRACE / 2;
    const third = await login(browser, 'hal');
    assert.deepEqual((await dataWith(first)).data, { n: 1, userId: 'hal' }, 'forwarded across two moves');
    clock += GRACE / 2 + 1;
    assert.deepEqual((await dataWith(first)).data, {}, "past the first move's window: a replay, though the second is recent");
    assert.equal(replays.length, 1);
    assert.deepEqual((await dataWith(third)).data, { n: 1, userId: 'hal' });
  });

  for (const [grace, runs, outcome] of [
    [GRACE, GRACE, 'forwarded'],
    [GRACE, GRACE + 1, 'refused'],
    [0, 1, 'refused'],
  ] as const) {
    it(`a request in flight during the move that writes ${runs} ms after it (regenerateGrace ${grace}) is ${outcome}`, async () => {
      await connect({ regenerateGrace: grace });
      const browser = new Browser();
      const old = await visitor(browser, { cart: ['key'] });
      const { fresh, reply } = await loginDuring(browser, old, 'ivy', async (s) => {
        clock += runs;
        await s.set({ late: true });
        return s.get('late');
      });
      assert.deepEqual(sessionCookies(reply), [], 'no cookie from the request that began with the old id');
      assert.deepEqual(replays, [], 'a request in flight is no replay');
      if (outcome === 'forwarded') {
        assert.equal(reply.status, 200, reply.body);
        assert.equal(reply.json(), true);
        assert.deepEqual((await dataWith(fresh)).data, { cart: ['key'], userId: 'ivy', late: true });
      } else {
        // Past the window (or without one, the control), the old id reaches nothing: held open, a
        // request must not stretch the window.
        assert.equal(reply.status, 500);
        assert.equal(reply.json().error, 'MongoSessEndedError');
        assert.deepEqual((await dataWith(fresh)).data, { cart: ['key'], userId: 'ivy' });
      }
    });
  }

  it('writes racing the login: with the window every one lands on the new session; without it some miss it', async (t) => {
    const outcomes: Record<string, { refused: number; lost: number }> = {};
    for (const grace of [GRACE, 0]) {
      await connect({ regenerateGrace: grace });
      let refused = 0;
      let lost = 0;
      for (let round = 0; round < 6; round++) {
        const browser = new Browser();
        const old = await visitor(browser, { round });
        // Each write reads the session, then waits for the login to start, then writes a few ms
        // apart from the others, around the move.
        let arrived = 0;
        const allRead = deferred();
        const go = deferred();
        const writes = Array.from({ length: 6 }, (_, i) =>
          fixture.app.run(
            async (s) => {
              await s.get();
              if (++arrived === 6) allRead.resolve();
              await go.promise;
              await new Promise((resolve) => setTimeout(resolve, i * 3));
              return s.set({ [`k${i}`]: i });
            },
            { headers: { cookie: `sess=${old}` } },
          ),
        );
        await allRead.promise;
        const reply = await fixture.app.run(
          (s) => {
            go.resolve();
            return s.regenerate({ set: { userId: `racer${round}` } });
          },
          { browser },
        );
        assert.equal(reply.status, 200, reply.body);
        const fresh = await browser.cookie(fixture.app.url, 'sess');
        const replies = await Promise.all(writes);
        const data = (await dataWith(fresh ?? '')).data;
        for (const [i, write] of replies.entries()) {
          if (write.status !== 200) refused++;
          else if (data[`k${i}`] !== i) lost++;
        }
      }
      outcomes[grace] = { refused, lost };
    }
    t.diagnostic(`writes that missed the new session, by regenerateGrace: ${JSON.stringify(outcomes)}`);
    assert.deepEqual(outcomes[GRACE], { refused: 0, lost: 0 }, 'with the window nothing is refused or lost');
    // The control: without the window, writes racing the login miss the new session (refused).
    const missed = (outcomes[0]?.refused ?? 0) + (outcomes[0]?.lost ?? 0);
    assert.ok(missed > 0, `the control: without the window some writes miss the new session (${JSON.stringify(outcomes)})`);
  });

  it('connect() refuses onReplay: endAll without userKey or without a window', async () => {
    await assert.rejects(fixture.connect({ regenerateGrace: GRACE, onReplay: 'endAll' }), /onReplay: 'endAll' needs userKey/);
    await assert.rejects(fixture.connect({ userKey: 'userId', onReplay: 'endAll' }), /onReplay: 'endAll' needs regenerateGrace/);
    await connect();
  });
});
