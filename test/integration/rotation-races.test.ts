// Races with a rotation (regenerate(), end()) on one session, found by the adversarial audit of
// d3b32e5 (issue 16). Per-document atomicity is the server's, so on a server without it
// (FerretDB 1.x) the app talks to it through the serializing proxy; gates stage each race.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gates } from '../helpers/gates.js';
import { Browser } from '../helpers/http.js';
import { proxiedApp } from '../helpers/proxied-app.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const fixture = await proxiedApp('rotation');
const { connect } = fixture;
const gates = new Gates();

/** The session cookie lines of a reply that set a value (not the clearing ones). */
function sessionCookies(setCookie: string[]): string[] {
  return setCookie.filter((line) => line.startsWith('sess=') && !line.startsWith('sess=;'));
}

describe(`races with a rotation (${fixture.route})`, () => {
  before(() => fixture.start());
  after(() => fixture.stop());

  // Audit of d3b32e5, finding 1: a rolling read that finished after a login's regenerate()
  // resent the old cookie, so the browser kept a dead id and was logged out right after login.
  // The read found nothing to extend (within touchAfter), so no write proved its id live.
  it('finding 1: a rolling read racing regenerate() never resends the old cookie', async () => {
    await connect({ expires: HOUR, rolling: true, touchAfter: 10 * MINUTE });
    const browser = new Browser();
    assert.equal((await fixture.app.run((s) => s.set({ user: 'ann' }), { browser })).status, 200);
    const old = await browser.cookie(fixture.app.url, 'sess');
    // The read: its look-up (and touch) happen, then it waits while the login regenerates.
    const gate = gates.open('read');
    const reading = fixture.app.run(
      async (s) => {
        const user = await s.get('user');
        await gates.pass('read');
        return user;
      },
      { browser },
    );
    await gate.atGate;
    const login = await fixture.app.run((s) => s.regenerate(), { browser });
    assert.equal(login.status, 200, login.body);
    const fresh = await browser.cookie(fixture.app.url, 'sess');
    assert.notEqual(fresh, old, 'the login sent a new id');
    gate.release();
    const read = await reading;
    assert.equal(read.status, 200, read.body);
    assert.deepEqual(
      sessionCookies(read.setCookie).filter((line) => line.startsWith(`sess=${old};`)),
      [],
      'the late read did not send the old id',
    );
    assert.equal(await browser.cookie(fixture.app.url, 'sess'), fresh, 'the browser holds the new id');
    assert.equal((await fixture.app.run((s) => s.get('user'), { browser })).json(), 'ann', 'and is logged in');
  });
});
