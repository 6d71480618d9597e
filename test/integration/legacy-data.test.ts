// In a mongosess 0.4 document only 0.4's own fields (`_id`, `createdAt`) are metadata: every
// other key is the user's data, whatever its name, and filters on data match data only.
// Audit of d3b32e5, finding 3: 0.4 data keys named like 1.x metadata (`expiresAt`, `ended`,
// `endedAt`, `lifetime`, `deadline`, `movedTo`) broke the session, dropped it, kept it alive to
// their date, or were silently removed; `{ createdAt: { $exists: true } }` counted every 0.4 session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ObjectId } from 'mongodb';
import MongoSess from '../../src/index.js';
import { Browser } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const DAY = 24 * 3_600_000;
const fixture = sessionFixture('legacy_data', { connect: { expires: 14 * DAY } });
const { collection } = fixture;

/** A 0.4 session as 0.4 stored it, and a browser holding its cookie. */
async function legacySession(data: Record<string, unknown>, createdAt = new Date()): Promise<{ _id: ObjectId; browser: Browser }> {
  const _id = new ObjectId();
  await collection.insertOne({ _id, createdAt, ...data });
  const browser = new Browser();
  await browser.jar.setCookie(`sess=${_id.toHexString()}`, fixture.app.url);
  return { _id, browser };
}

describe('0.4 data keys are data (audit finding 3)', () => {
  before(() => fixture.start());
  after(() => fixture.stop());

  const cases: [string, Record<string, unknown>][] = [
    ['expiresAt as a string', { expiresAt: 'next week' }],
    ['expiresAt as a number', { expiresAt: 1_700_000_000_000 }],
    ['expiresAt in the past', { expiresAt: new Date('2001-01-01T00:00:00Z') }],
    ['ended: true', { ended: true }],
    ['endedAt, lifetime, deadline and movedTo', { endedAt: 'x', lifetime: 30, deadline: 'friday', movedTo: 'home' }],
  ];
  for (const [what, data] of cases) {
    it(`finding 3: a 0.4 session whose data has ${what} is served, moved and keeps those keys`, async () => {
      const { browser } = await legacySession({ user: 'ann', ...data });
      const reply = await fixture.app.run((s) => s.get(), { browser });
      assert.equal(reply.status, 200, reply.body);
      const view = reply.json();
      assert.equal(view.user, 'ann', 'the session was not dropped');
      for (const [key, value] of Object.entries(data)) {
        assert.deepEqual(view[key], value instanceof Date ? value.toISOString() : value, `${key} is kept`);
      }
      assert.match((await browser.cookie(fixture.app.url, 'sess')) ?? '', /^[A-Za-z0-9_-]{43}$/, 'moved to a new id');
      const again = (await fixture.app.run((s) => s.get(), { browser })).json();
      assert.equal(again.user, 'ann', 'and it lives on under the new id');
      for (const key of Object.keys(data)) assert.ok(key in again, `${key} is kept after the move`);
    });
  }

  it('finding 3: expiresAt in 2099 in the data does not keep an expired 0.4 session alive', async () => {
    const { browser } = await legacySession({ user: 'old', expiresAt: new Date('2099-01-01T00:00:00Z') }, new Date(Date.now() - 15 * DAY));
    const view = (await fixture.app.run((s) => s.get(), { browser })).json();
    assert.equal(view.user, undefined, 'created more than expires ago: gone');
  });

  it('finding 3: filters match 0.4 data only, never its metadata', async () => {
    await collection.deleteMany({});
    await legacySession({ role: 'x', ended: true });
    await legacySession({ role: 'x', expiresAt: 'soon' });
    const browser = new Browser();
    await fixture.app.run((s) => s.set({ role: 'x' }), { browser });
    assert.equal(await MongoSess.countSessions({ createdAt: { $exists: true } }), 0, 'no session has a data key createdAt');
    assert.equal(await MongoSess.countSessions({ role: 'x', createdAt: { $exists: false } }), 3);
    assert.equal(await MongoSess.countSessions({ ended: true }), 1, 'the 0.4 session whose data says ended');
    assert.equal(await MongoSess.countSessions({ expiresAt: 'soon' }), 1);
    assert.equal((await MongoSess.listSessions({ ended: true })).length, 1);
    assert.equal(await MongoSess.endAll({ expiresAt: { $exists: true } }), 1, 'only the session with expiresAt in its data');
    assert.equal(await MongoSess.countSessions({ role: 'x' }), 2);
  });

  it('finding 3: the sweep leaves a 0.4 session whose data holds a past expiresAt date', async () => {
    await fixture.reconnect({ autoRemove: 'interval', autoRemoveInterval: 50 });
    const { browser } = await legacySession({ user: 'swept?', expiresAt: new Date('2001-01-01T00:00:00Z') });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await fixture.reconnect();
    assert.equal((await fixture.app.run((s) => s.get('user'), { browser })).json(), 'swept?');
  });
});
