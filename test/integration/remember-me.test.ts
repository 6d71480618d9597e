// A session's own cookie choice is stored with it and respected by touch and rolling: expire()
// (a browser-session cookie) is not undone by the next rolling request, and setLifetime()
// ("remember me") is not overridden by a per-request `expires: 0`. The later choice wins.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { SessionOptions } from '../../src/index.js';
import { digestOfCookie } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { cookiesOf, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
let clock = Date.now();
const fixture = sessionFixture('remember_me', { connect: { now: () => clock, rolling: true, expires: HOUR } });
let app: SessionApp;

/** The session cookie a reply sets: its value and its Expires (undefined: a browser-session cookie), or undefined if none. */
function sessionCookie(reply: Parameters<typeof cookiesOf>[0]): { value: string; expires: number | undefined } | undefined {
  const cookie = cookiesOf(reply).get('sess');
  if (!cookie) return undefined;
  const expires = cookie.attrs['expires'];
  return { value: cookie.value, expires: typeof expires === 'string' ? Date.parse(expires) : undefined };
}

describe('remember me: the session keeps its cookie choice', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
  });
  afterEach(() => {
    clock = Date.now();
  });
  after(() => fixture.stop());

  it('expire() survives rolling: later rolling requests send a browser-session cookie too', async () => {
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'ann' }), { browser });
    const expired = await app.run(
      (s) => {
        s.expire();
        return s.get('user');
      },
      { browser },
    );
    assert.equal(sessionCookie(expired)?.expires, undefined, 'a browser-session cookie at once');
    const sid = sessionCookie(expired)?.value ?? '';
    assert.equal(
      (await fixture.collection.findOne({ _id: digestOfCookie(sid) as never }))?.['browserSession'],
      true,
      'the choice is stored',
    );

    for (const step of [10, 20]) {
      clock += 10 * MINUTE;
      const rolled = await app.run((s) => s.get('user'), { browser });
      assert.equal(rolled.json(), 'ann');
      const cookie = sessionCookie(rolled);
      assert.ok(cookie, `the rolling read at +${step} min re-sends the cookie`);
      assert.equal(cookie.expires, undefined, `still a browser-session cookie at +${step} min`);
    }
    const written = await app.run((s) => s.set({ n: 1 }), { browser });
    assert.equal(sessionCookie(written)?.expires, undefined, 'and after a write');
  });

  it('expire() on a new visitor is stored with the first write', async () => {
    const browser = new Browser();
    await app.run(
      async (s) => {
        s.expire();
        await s.set({ user: 'bob' });
      },
      { browser },
    );
    clock += 10 * MINUTE;
    const rolled = await app.run((s) => s.get('user'), { browser });
    assert.equal(sessionCookie(rolled)?.expires, undefined);
  });

  it('setLifetime() is not overridden by the per-request expires: 0, now or on rolling requests', async () => {
    const options: SessionOptions = { expires: 0 };
    const browser = new Browser();
    const plain = await app.run((s) => s.set({ user: 'cy' }), { browser, options });
    assert.equal(sessionCookie(plain)?.expires, undefined, 'expires: 0 gives browser-session cookies by default');
    const remembered = await app.run((s) => s.setLifetime(30 * DAY), { browser, options });
    const cookie = sessionCookie(remembered);
    assert.ok(cookie?.expires, 'remember me: a persistent cookie');
    assert.ok(Math.abs(cookie.expires - (clock + 30 * DAY)) < 2000, 'expiring with the session, in 30 days');

    clock += DAY;
    const rolled = await app.run((s) => s.get('user'), { browser, options });
    const next = sessionCookie(rolled);
    assert.ok(next?.expires, 'still persistent on the next rolling request');
    assert.ok(Math.abs(next.expires - (clock + 30 * DAY)) < 2000, 'and extended by the lifetime');
  });

  it('the later choice wins: setLifetime() after expire() makes the cookie persistent again, also in the same request', async () => {
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'dee' }), { browser });
    const both = await app.run(
      async (s) => {
        s.expire();
        await s.setLifetime(7 * DAY);
      },
      { browser },
    );
    assert.ok(sessionCookie(both)?.expires, 'persistent in the same response');
    const sid = sessionCookie(both)?.value ?? '';
    assert.equal(
      (await fixture.collection.findOne({ _id: digestOfCookie(sid) as never }))?.['browserSession'],
      undefined,
      'expire() is undone',
    );
    clock += HOUR;
    assert.ok(sessionCookie(await app.run((s) => s.get('user'), { browser }))?.expires, 'and on the next rolling request');
  });
});
