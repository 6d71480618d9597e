// Edges of cookies and tombstones found by a review: a guessed 0.4 id after its move, re-signing
// a dead id, and a second logout with a stale cookie.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ObjectId } from 'mongodb';
import { MOVE_GRACE_MS } from '../../src/legacy/legacy.js';
import { digestOfCookie } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { cookiesOf } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const DAY = 24 * 3_600_000;
const fixture = sessionFixture('edges');
const { collection } = fixture;

describe('session edges', () => {
  before(() => fixture.start());
  after(() => fixture.stop());

  it('after the move grace, a 0.4 id (guessed, say) cannot end the session it became', async () => {
    const _id = new ObjectId();
    await collection.insertOne({ _id, createdAt: new Date(), user: 'ann' });
    const oldCookie = `sess=${_id.toHexString()}`;
    const moved = await fixture.app.run((s) => s.get('user'), { headers: { cookie: oldCookie } });
    assert.equal(moved.json(), 'ann');
    const newId = cookiesOf(moved).get('sess')?.value;
    assert.ok(newId);
    await collection.updateOne({ _id }, { $set: { endedAt: new Date(Date.now() - MOVE_GRACE_MS - 1000) } });

    const logout = await fixture.app.run((s) => s.end(), { headers: { cookie: oldCookie } });
    assert.equal(logout.status, 200, logout.body);
    const still = await fixture.app.run((s) => s.get('user'), { headers: { cookie: `sess=${newId}` } });
    assert.equal(still.json(), 'ann', 'the migrated session is untouched');
  });

  it('a cookie signed with an older key is re-signed only for a live session, never for a dead id', async () => {
    const keys = ['newest-key-8c1d', 'older-key-2f9a'];
    const browser = new Browser();
    const sid: string = (await fixture.app.run((s) => s.set({ a: 1 }).then(() => s.sid), { browser, options: { keys } })).json();
    const oldSig = createHmac('sha256', 'older-key-2f9a').update(`sess=${sid}`).digest('base64url');
    const signedWithOlder = { cookie: `sess=${sid}; sess.sig=${oldSig}` };

    const live = await fixture.app.run((s) => s.get('a'), { headers: signedWithOlder, options: { keys } });
    assert.equal(live.json(), 1);
    assert.equal(cookiesOf(live).get('sess')?.value, sid, 'a live session is re-signed with the newest key');

    await fixture.app.run((s) => s.end(), { headers: signedWithOlder, options: { keys } });
    const dead = await fixture.app.run((s) => s.get('a'), { headers: signedWithOlder, options: { keys } });
    assert.equal(dead.status, 200, dead.body);
    assert.notEqual(cookiesOf(dead).get('sess')?.value, sid, 'the dead id is not sent back (it could overwrite a login)');
  });

  it('a second end() with a stale cookie keeps the tombstone one lifetime long', async () => {
    const browser = new Browser();
    const sid: string = (await fixture.app.run((s) => s.set({ a: 1 }).then(() => s.sid), { browser })).json();
    await fixture.app.run((s) => s.end(), { headers: { cookie: `sess=${sid}` } });
    await fixture.app.run((s) => s.end(), { headers: { cookie: `sess=${sid}` } });
    const tombstone = await collection.findOne({ _id: digestOfCookie(sid) as never });
    assert.ok(tombstone?.['expiresAt'] instanceof Date, 'a tombstone is there');
    const keptFor = tombstone['expiresAt'].getTime() - Date.now();
    assert.ok(keptFor > 13 * DAY, `the tombstone still lives about 14 days, not ${Math.round(keptFor / 60_000)} minutes`);
  });
});
