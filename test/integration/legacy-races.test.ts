// Parallel requests with one mongosess 0.4 cookie converge: one session, whoever wins the move,
// and an end() racing the move always wins. Per-document atomicity is the server's, so on a
// server without it (FerretDB 1.x) the app talks to it through the serializing proxy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keygrip from 'keygrip';
import { ObjectId } from 'mongodb';
import MongoSess from '../../src/index.js';
import { Gates } from '../helpers/gates.js';
import { Browser } from '../helpers/http.js';
import { proxiedApp } from '../helpers/proxied-app.js';

const PARALLEL = 12;
const KEYS = ['legacy-race-secret-3f9a'];
const ROUNDS = 5;
const fixture = await proxiedApp('legacy_race');
const { dbClient, db } = fixture;

describe(`0.4 upgrade races (${fixture.route})`, () => {
  before(() => fixture.start());
  after(() => fixture.stop());

  /** A 0.4 session as 0.4 stored it (data at the top level), and its cookie header. */
  async function legacySession(data: Record<string, unknown>): Promise<{ _id: ObjectId; cookie: string }> {
    const _id = new ObjectId();
    await dbClient
      .db(db)
      .collection('sessions')
      .insertOne({ _id, createdAt: new Date(), ...data });
    return { _id, cookie: `sess=${_id.toHexString()}` };
  }

  // Signed the 0.4 way (Keygrip's SHA-1), the 0.4 id cannot have been guessed: every parallel
  // writer is forwarded, also one that began just after the move. Unsigned, a writer that began
  // after the move reaches nothing (audit finding 6) and its write is refused; none is lost silently.
  for (const signed of [true, false]) {
    it(`${PARALLEL} parallel writers with one ${signed ? 'signed' : 'unsigned'} 0.4 cookie end in one session holding every written key`, async () => {
      const options = signed ? { keys: KEYS } : undefined;
      for (let round = 0; round < ROUNDS; round++) {
        const owner = `owner-${signed}-${round}`;
        const { _id, cookie } = await legacySession({ owner });
        const header = signed ? `${cookie}; sess.sig=${new Keygrip(KEYS).sign(`sess=${_id.toHexString()}`)}` : cookie;
        const replies = await Promise.all(
          Array.from({ length: PARALLEL }, (_, i) =>
            fixture.app.run((s) => s.set({ [`k${i}`]: i }), { headers: { cookie: header }, ...(options ? { options } : {}) }),
          ),
        );
        for (const reply of replies) {
          if (signed || reply.status === 200) assert.equal(reply.status, 200, reply.body);
          else assert.equal(reply.json().error, 'MongoSessEndedError', reply.body);
        }
        // Exactly one response hands out the new cookie: the winner's. The others were forwarded.
        const handed = replies.flatMap((r) => r.setCookie.filter((line) => line.startsWith('sess=')));
        assert.equal(handed.length, 1, `round ${round}: one new cookie, got ${handed.length}`);
        assert.equal(await MongoSess.countSessions({ owner }), 1, `round ${round}: one session, not one per loser`);
        const browser = new Browser();
        for (const line of replies.flatMap((r) => r.setCookie)) await browser.jar.setCookie(line, fixture.app.url);
        const data = (await fixture.app.run((s) => s.get(), { browser, ...(options ? { options } : {}) })).json();
        replies.forEach((reply, i) => {
          if (reply.status === 200) assert.equal(data[`k${i}`], i, `round ${round}: k${i} kept`);
        });
        assert.equal(data.owner, owner);
      }
    });
  }

  it('an end() racing the move of a 0.4 session always wins: no live session is left', async () => {
    for (let round = 0; round < 12; round++) {
      const owner = `ended-${round}`;
      const { cookie } = await legacySession({ owner });
      const writers = Array.from({ length: 4 }, (_, i) => fixture.app.run((s) => s.set({ [`w${i}`]: i }), { headers: { cookie } }));
      // The end() goes out among the writers: before, during or after the move.
      const delay = [0, 1, 3, 6, 12, 25][round % 6] ?? 0;
      const ending = new Promise((resolve) => setTimeout(resolve, delay)).then(() =>
        fixture.app.run((s) => s.end(), { headers: { cookie } }),
      );
      const [ended, ...written] = await Promise.all([ending, ...writers]);
      assert.equal(ended.status, 200, ended.body);
      for (const reply of written) assert.ok([200, 500].includes(reply.status), reply.body);
      assert.equal(await MongoSess.countSessions({ owner }), 0, `round ${round}: the end() won`);
      // And any cookie a writer handed out leads to no data.
      for (const line of written.flatMap((r) => r.setCookie.filter((l) => l.startsWith('sess=') && !l.startsWith('sess=;')))) {
        const browser = new Browser();
        await browser.jar.setCookie(line, fixture.app.url);
        const data = (await fixture.app.run((s) => s.get(), { browser })).json();
        assert.equal(data.owner, undefined, `round ${round}: a handed-out cookie reads the ended session`);
      }
    }
  });

  // Audit of d3b32e5, finding 6: without keys, within the 10 s grace after a 0.4 session moved,
  // a guessed 0.4 id could read and write the session it became, and its regenerate() walked off
  // with it (the victim then read {}). Only requests that began before the move are forwarded.
  it('finding 6: a request with a guessed 0.4 id after the move never reaches the upgraded session', async () => {
    const owner = 'victim';
    const { cookie } = await legacySession({ owner });
    const victim = new Browser();
    await victim.jar.setCookie(cookie, fixture.app.url);
    assert.equal((await fixture.app.run((s) => s.get('owner'), { browser: victim })).json(), owner, 'the victim moved it');
    const attacker = { headers: { cookie } };
    const read = await fixture.app.run((s) => s.get(), attacker);
    assert.equal(read.json().owner, undefined, 'the attacker reads nothing');
    const write = await fixture.app.run((s) => s.set({ owner: 'mallory' }), attacker);
    assert.equal(write.json().error, 'MongoSessEndedError', write.body);
    const regenerated = await fixture.app.run(async (s) => {
      await s.regenerate().catch(() => undefined);
      return s.get('owner');
    }, attacker);
    assert.equal(regenerated.json(), null, 'regenerate() takes nothing with it');
    for (const reply of [read, write, regenerated]) {
      assert.deepEqual(
        reply.setCookie.filter((line) => line.startsWith('sess=')),
        [],
        "no cookie that could replace the victim's",
      );
    }
    assert.equal((await fixture.app.run((s) => s.get('owner'), { browser: victim })).json(), owner, 'the victim keeps the session');
    assert.equal(await MongoSess.countSessions({ owner: 'mallory' }), 0);
  });

  it('finding 6: a request that began before the move finished is still forwarded to the session it became', async () => {
    const { cookie } = await legacySession({ owner: 'parallel' });
    const gates = new Gates();
    const gate = gates.open('parallel');
    const parallel = fixture.app.run(
      async (s) => {
        await gates.pass('parallel');
        await s.set({ second: true });
        return s.get();
      },
      { headers: { cookie } },
    );
    await gate.atGate;
    const mover = await fixture.app.run((s) => s.set({ first: true }), { headers: { cookie } });
    gate.release();
    const reply = await parallel;
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.json().owner, 'parallel', 'forwarded');
    const browser = new Browser();
    await browser.jar.setCookie(mover.setCookie.find((line) => line.startsWith('sess=')) ?? '', fixture.app.url);
    const data = (await fixture.app.run((s) => s.get(), { browser })).json();
    assert.deepEqual([data.first, data.second], [true, true], 'both writes reached the one session');
  });

  it('finding 6: with keys, a request with the signed 0.4 cookie just after the move is still forwarded (it was not guessed)', async () => {
    const options = { keys: KEYS };
    const { _id, cookie } = await legacySession({ owner: 'signed-late' });
    const header = `${cookie}; sess.sig=${new Keygrip(KEYS).sign(`sess=${_id.toHexString()}`)}`;
    const mover = await fixture.app.run((s) => s.get('owner'), { headers: { cookie: header }, options });
    assert.equal(mover.json(), 'signed-late');
    const late = await fixture.app.run((s) => s.get('owner'), { headers: { cookie: header }, options });
    assert.equal(late.json(), 'signed-late', 'forwarded within the grace');
    assert.deepEqual(
      late.setCookie.filter((line) => line.startsWith('sess=')),
      [],
      'without a cookie of its own',
    );
  });
});
