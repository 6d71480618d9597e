// Session lifetime: fixed and sliding expiry, absolute timeout, no resurrection, log out everywhere,
// sweeping, and changing `expires` between deployments. A fake clock stands in for waiting.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import MongoSess, { MongoSessValidationError, type Session } from '../../src/index.js';
import { digestOfCookie, serverCapabilities, uniqueDbName } from '../helpers/db.js';
import { Gates, writeOutcome } from '../helpers/gates.js';
import { Browser, parseSetCookie } from '../helpers/http.js';
import type { Step } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;
let clock = Date.now();
const now = () => clock;
const fixture = sessionFixture('life', { connect: { now } });
const { client, collection, commands, reset } = fixture;

/** Gates that hold a request between its read and its write, to stage races. */
const gates = new Gates();

/** What one request does with its session. */
const steps = {
  /** set()s the data in `json`, then answers get(). */
  set:
    (json: string): Step =>
    async (session: Session) => {
      await session.set(JSON.parse(json || '{}'));
      return session.get();
    },
  get: (session: Session) => session.get(),
  end: (session: Session) => session.end(),
  regenerate: async (session: Session) => {
    await session.regenerate();
    return session.get();
  },
  /** Reads, waits for the test's signal at gate `key`, then writes and deletes: the late writer of a race. */
  slow:
    (key: string): Step =>
    async (session: Session) => {
      await session.get();
      await gates.pass(key);
      const outcome = await writeOutcome(session.set({ late: true }), 'written');
      const deleted = await writeOutcome(session.del('name'), 'deleted');
      return [outcome, deleted];
    },
};

/** Runs `step` in one request of `browser`. */
const request = (browser: Browser, step: Step) => fixture.app.run(step, { browser });

function stored(sid: string) {
  return collection.findOne({ _id: digestOfCookie(sid) });
}

describe('session lifetime', () => {
  before(() => fixture.start());

  afterEach(() => {
    clock = Date.now();
  });

  after(() => fixture.stop());

  it('without rolling, a session lives `expires` from creation; use does not extend it; then it is never served', async () => {
    await fixture.reconnect({ expires: HOUR });
    const browser = new Browser();
    const first = (await request(browser, steps.set('{"name":"Ann"}'))).json();
    const created = clock;
    const doc = await stored(first._id);
    assert.equal(doc?.['expiresAt'].getTime(), created + HOUR);

    clock = created + HOUR - MINUTE;
    reset();
    assert.equal((await request(browser, steps.get)).json().name, 'Ann');
    assert.deepEqual(
      commands.map((c) => c.commandName),
      ['find'],
      'reading writes nothing without rolling',
    );
    assert.equal((await stored(first._id))?.['expiresAt'].getTime(), created + HOUR);

    clock = created + HOUR + 1;
    const reply = await request(browser, steps.get);
    assert.ok(await stored(first._id), 'the document is still in the database (no TTL has run)');
    assert.notEqual(reply.json()._id, first._id, 'but it is not served: a fresh session instead');
    assert.equal(reply.json().name, undefined);
    assert.deepEqual(reply.setCookie, [], 'a read sends no cookie (a racing request must not overwrite a good one)');
  });

  it("an expired session cannot be written back by a set with its old cookie: the set is a new visitor's", async () => {
    await fixture.reconnect({ expires: HOUR });
    const browser = new Browser();
    const sid = (await request(browser, steps.set('{"name":"Ann"}'))).json()._id;
    clock += HOUR + 1;
    const reply = await request(browser, steps.set('{"x":1}'));
    assert.equal(reply.status, 200, reply.body);
    const view = reply.json();
    assert.notEqual(view._id, sid, 'a new session');
    assert.equal(view.name, undefined, 'without the expired data');
    assert.equal(view.x, 1);
    const doc = await stored(sid);
    assert.equal(doc?.['d']?.['x'], undefined, 'the expired session was not written to');
    const fresh = reply.setCookie.map(parseSetCookie).find((c) => c.name === 'sess');
    assert.equal(fresh?.value, view._id, "the new session's cookie is sent");
    const next = (await request(browser, steps.get)).json();
    assert.deepEqual(next, view, 'and the client holds it');
  });

  it('rolling: use pushes the database expiry and the cookie forward', async () => {
    await fixture.reconnect({ expires: HOUR, rolling: true });
    const browser = new Browser();
    const sid = (await request(browser, steps.set('{"a":1}'))).json()._id;
    const start = clock;
    for (let i = 1; i <= 3; i++) {
      clock = start + i * 50 * MINUTE; // each step is inside the previous expiry, the total far past one hour
      const reply = await request(browser, steps.get);
      assert.equal(reply.json()._id, sid, `still the same session after ${i * 50} minutes`);
      assert.equal((await stored(sid))?.['expiresAt'].getTime(), clock + HOUR);
      const cookie = reply.setCookie.map(parseSetCookie).find((c) => c.name === 'sess');
      assert.ok(cookie, 'the cookie is sent again');
      // The cookie follows the session: it expires when the database says the session does.
      assert.equal(Date.parse(String(cookie.attrs['expires'])), Math.floor((clock + HOUR) / 1000) * 1000);
    }
    clock += HOUR + 1;
    assert.notEqual((await request(browser, steps.get)).json()._id, sid, 'idle for longer than expires: gone');
  });

  it('rolling with touchAfter: a session that is only read costs at most one write per touchAfter', async () => {
    await fixture.reconnect({ expires: HOUR, rolling: true, touchAfter: 10 * MINUTE });
    const browser = new Browser();
    const sid = (await request(browser, steps.set('{"a":1}'))).json()._id;
    const start = clock;
    reset();
    for (let minute = 1; minute <= 9; minute++) {
      clock = start + minute * MINUTE;
      await request(browser, steps.get);
    }
    assert.deepEqual(new Set(commands.map((c) => c.commandName)), new Set(['find']), 'no write within touchAfter');
    clock = start + 11 * MINUTE;
    reset();
    await request(browser, steps.get);
    assert.deepEqual(
      commands.map((c) => c.commandName),
      ['find', 'update'],
      'one extension once touchAfter passed',
    );
    assert.equal((await stored(sid))?.['expiresAt'].getTime(), clock + HOUR);
  });

  it('rolling: a set or del is still one command (the write itself moves the expiry)', async () => {
    await fixture.reconnect({ expires: HOUR, rolling: true });
    const browser = new Browser();
    const sid = (await request(browser, steps.set('{"a":1}'))).json()._id;
    clock += 10 * MINUTE;
    reset();
    await request(browser, steps.set('{"b":2}'));
    assert.deepEqual(
      commands.map((c) => c.commandName),
      ['findAndModify'],
    );
    assert.equal((await stored(sid))?.['expiresAt'].getTime(), clock + HOUR);
  });

  it('absolute timeout also caps sessions created before it was turned on (from their createdAt)', async () => {
    await fixture.reconnect({ expires: HOUR, rolling: true });
    const browser = new Browser();
    const sid = (await request(browser, steps.set('{"a":1}'))).json()._id;
    const created = clock;
    await fixture.reconnect({ expires: HOUR, rolling: true, absoluteTimeout: 2 * HOUR });
    for (let minutes = 40; minutes < 120; minutes += 40) {
      clock = created + minutes * MINUTE;
      assert.equal((await request(browser, steps.get)).json()._id, sid);
    }
    assert.ok((await stored(sid))?.['expiresAt'].getTime() <= created + 2 * HOUR, 'extensions stop at the cap');
    clock = created + 2 * HOUR + 1;
    assert.notEqual((await request(browser, steps.get)).json()._id, sid, 'dead at createdAt + absoluteTimeout');
  });

  it('absolute timeout: no activity extends a session past its cap from creation', async () => {
    await fixture.reconnect({ expires: HOUR, rolling: true, absoluteTimeout: 2 * HOUR });
    const browser = new Browser();
    const sid = (await request(browser, steps.set('{"a":1}'))).json()._id;
    const created = clock;
    for (let minutes = 30; minutes < 120; minutes += 30) {
      clock = created + minutes * MINUTE;
      assert.equal((await request(browser, steps.get)).json()._id, sid);
      await request(browser, steps.set(`{"m":${minutes}}`));
      const expiresAt = (await stored(sid))?.['expiresAt'].getTime();
      assert.ok(expiresAt! <= created + 2 * HOUR, 'expiry never passes the cap');
    }
    clock = created + 2 * HOUR + 1;
    assert.notEqual((await request(browser, steps.get)).json()._id, sid, 'dead at the cap despite activity');
  });

  for (const [what, ending] of [
    ['ended', steps.end],
    ['regenerated', steps.regenerate],
  ] as const) {
    it(`no resurrection: a slow request that writes after the session was ${what} leaves no session behind`, async () => {
      await fixture.reconnect({ expires: HOUR });
      const browser = new Browser();
      const sid = (await request(browser, steps.set('{"name":"Ann"}'))).json()._id;
      const { atGate, release } = gates.open(what);

      const slow = request(browser, steps.slow(what));
      await atGate; // the slow request has read the live session
      const concurrent = await request(browser, ending);
      assert.equal(concurrent.status, 200);
      release();
      const reply = await slow;
      assert.deepEqual(reply.json(), ['MongoSessEndedError', 'deleted'], 'the late write is refused; the del is a no-op');

      const old = await stored(sid);
      assert.equal(old?.['ended'], true, 'only a tombstone remains under the old id');
      assert.equal(old?.['d'], undefined, 'with no data');
      const live = await collection.countDocuments({ 'd.late': true });
      assert.equal(live, 0, 'the late write created no session anywhere');
      if (what === 'regenerated') {
        const regenerated = concurrent.json();
        assert.equal((await stored(regenerated._id))?.['d']?.['name'], 'Ann', 'the regenerated session kept its data');
      }
    });
  }

  it('a set with the cookie of an ended session never revives it', async () => {
    await fixture.reconnect({ expires: HOUR });
    const browser = new Browser();
    const sid = (await request(browser, steps.set('{"name":"Ann"}'))).json()._id;
    const cookie = `sess=${sid}`;
    await request(browser, steps.end);
    const replay = new Browser();
    await replay.jar.setCookie(cookie, fixture.app.url);
    const reply = await request(replay, steps.set('{"again":true}'));
    assert.equal(reply.status, 200, 'ended before this request: a new visitor, not an error');
    assert.notEqual(reply.json()._id, sid);
    assert.equal((await stored(sid))?.['ended'], true, 'the old session stays ended');
    assert.equal((await stored(sid))?.['d'], undefined);
    assert.equal(await collection.countDocuments({ 'd.again': true }), 1, 'the write went to the one new session');
  });

  it('log out everywhere: endAll ends every session matching a filter and returns how many', async () => {
    await fixture.reconnect({ expires: HOUR });
    const userOf = new Map<Browser, number>();
    for (const user of [7, 7, 7, 8, 8]) {
      const browser = new Browser();
      await request(browser, steps.set(JSON.stringify({ userId: user, device: userOf.size })));
      userOf.set(browser, user);
    }
    assert.equal(await MongoSess.countSessions({ userId: 7 }), 3);
    const listed = await MongoSess.listSessions({ userId: 7 });
    assert.equal(listed.length, 3);
    assert.deepEqual(
      listed.map((s) => s.data['userId']),
      [7, 7, 7],
    );
    assert.ok(listed.every((s) => s.expiresAt instanceof Date && s.createdAt instanceof Date));
    assert.equal((await MongoSess.listSessions({ userId: { $in: [7, 8] } }, { limit: 2 })).length, 2);

    assert.equal(await MongoSess.endAll({ userId: 7 }), 3);
    assert.equal(await MongoSess.countSessions({ userId: 7 }), 0);
    assert.equal(await MongoSess.countSessions({ userId: 8 }), 2);
    for (const [browser, user] of userOf) {
      const data = (await request(browser, steps.get)).json();
      assert.equal(data.userId, user === 7 ? undefined : 8);
    }
    const count = await new Promise((resolve, reject) =>
      MongoSess.countSessions({ userId: 8 }, (err, n) => (err ? reject(err) : resolve(n))),
    );
    assert.equal(count, 2, 'callback style');
    await assert.rejects(MongoSess.endAll({ $where: 'true' }), MongoSessValidationError);
    await assert.rejects(MongoSess.endAll({ userId: { $where: 'sleep(1)' } }), MongoSessValidationError);
    await assert.rejects(MongoSess.countSessions(null as never), MongoSessValidationError);
  });

  it('the sweep removes expired sessions and tombstones with a range query on the expiresAt index', async () => {
    await fixture.reconnect({ expires: HOUR, autoRemove: 'interval', autoRemoveInterval: 50 });
    const indexes = await collection.listIndexes().toArray();
    assert.ok(
      indexes.some((index) => Object.keys(index['key']).join() === 'expiresAt'),
      'an index on expiresAt exists for the sweep',
    );
    const keep = new Browser();
    const gone = new Browser();
    const ended = new Browser();
    const keepSid = (await request(keep, steps.set('{"k":1}'))).json()._id;
    clock -= 2 * HOUR; // created two hours ago, so already expired
    const goneSid = (await request(gone, steps.set('{"k":2}'))).json()._id;
    const endedSid = (await request(ended, steps.set('{"k":3}'))).json()._id;
    await request(ended, steps.end); // its tombstone expires one lifetime after the (past) end
    clock += 2 * HOUR;
    reset();
    const deadline = Date.now() + 5000;
    while ((await stored(goneSid)) || (await stored(endedSid))) {
      assert.ok(Date.now() < deadline, 'swept within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(await stored(keepSid), 'live sessions stay');
    const sweep = commands.find((c) => c.commandName === 'delete');
    assert.deepEqual(Object.keys(sweep?.command['deletes'][0].q.expiresAt ?? {}), ['$lte']);
  });

  it('removal by TTL where the server has it; otherwise one warning and the sweep', async () => {
    const warnings: string[] = [];
    const ttlDb = uniqueDbName('ttl');
    await new Promise((resolve) => MongoSess.close(resolve));
    await MongoSess.connect({ client, db: ttlDb, now, warn: (message) => warnings.push(message) });
    const { ttl } = await serverCapabilities(client);
    const indexes = await client.db(ttlDb).collection('sessions').listIndexes().toArray();
    const expiryIndex = indexes.find((index) => Object.keys(index['key']).join() === 'expiresAt');
    assert.ok(expiryIndex);
    const ttlWarnings = warnings.filter((w) => /TTL/.test(w));
    if (ttl) {
      assert.equal(expiryIndex['expireAfterSeconds'], 0);
      assert.deepEqual(ttlWarnings, []);
    } else {
      assert.equal(expiryIndex['expireAfterSeconds'], undefined);
      assert.equal(ttlWarnings.length, 1);
      assert.match(ttlWarnings[0]!, /refused a TTL index.*sweep every/);
    }
  });

  it('changing expires between deployments needs no index work; each session keeps the expiry it was given', async () => {
    const changeDb = uniqueDbName('change');
    await new Promise((resolve) => MongoSess.close(resolve));
    await MongoSess.connect({ client, db: changeDb, now, expires: HOUR, warn: () => undefined });
    const first = (await request(new Browser(), steps.set('{"a":1}'))).json()._id;
    await new Promise((resolve) => MongoSess.close(resolve));
    await MongoSess.connect({ client, db: changeDb, now, expires: 3 * HOUR, warn: () => undefined });
    const second = (await request(new Browser(), steps.set('{"a":2}'))).json()._id;
    const sessions = client.db(changeDb).collection('sessions');
    const expiryOf = async (sid: string) => {
      const doc = await sessions.findOne({ _id: digestOfCookie(sid) });
      return (doc?.['expiresAt'] as Date | undefined)?.getTime();
    };
    assert.equal(await expiryOf(first), clock + HOUR);
    assert.equal(await expiryOf(second), clock + 3 * HOUR);
  });
});
