// A stale cookie: its session was ended, regenerated, expired or ended by endAll before this
// request began. Every operation then treats the client as a new visitor, with no error: before,
// a request whose first call was set() was refused, while get() then set() started over.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import MongoSess, { type Session } from '../../src/index.js';
import { digestOfCookie } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { cookiesOf, outcome, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const HOUR = 3_600_000;
let clock = Date.now();
const fixture = sessionFixture('stale_cookie', { connect: { now: () => clock, expires: HOUR } });
let app: SessionApp;

/** How the cookie's session went away before the request. */
const causes: Record<string, (browser: Browser, user: string) => Promise<void>> = {
  'ended by another request': async (browser) => void (await app.run((s) => s.end(), await sameCookies(browser))),
  regenerated: async (browser) => void (await app.run((s) => s.regenerate(), await sameCookies(browser))),
  expired: async () => {
    clock += HOUR + 1;
  },
  'ended by endAll': async (_browser, user) => void (await MongoSess.endAll({ user })),
};

/** The first thing the request does with its session; `writes` says whether it stores something. */
const operations: Record<string, { run: (s: Session) => Promise<unknown>; writes: boolean }> = {
  'get()': { run: (s) => s.get(), writes: false },
  'get(key)': { run: (s) => s.get('user'), writes: false },
  'set()': { run: (s) => s.set({ v: 1 }), writes: true },
  'del()': { run: (s) => s.del('user'), writes: false },
  'expire() then set()': {
    run: (s) => {
      s.expire();
      return s.set({ v: 1 });
    },
    writes: true,
  },
  'regenerate()': { run: (s) => s.regenerate(), writes: false },
  'setLifetime()': { run: (s) => s.setLifetime(2 * HOUR), writes: true },
};

/** Another request with `browser`'s cookies (it ends the session; `browser` keeps the old cookie). */
async function sameCookies(browser: Browser): Promise<{ headers: { cookie: string } }> {
  return { headers: { cookie: await browser.jar.getCookieString(app.url) } };
}

describe('a stale cookie is a new visitor on every path', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
  });
  afterEach(() => {
    clock = Date.now();
  });
  after(() => fixture.stop());

  for (const [cause, makeStale] of Object.entries(causes)) {
    for (const [name, { run, writes }] of Object.entries(operations)) {
      it(`${cause}, then ${name}: no error, a fresh session`, async () => {
        const browser = new Browser();
        const user = `${cause}/${name}`;
        await app.run((s) => s.set({ user }), { browser });
        const old = (await browser.cookie(app.url, 'sess')) ?? '';
        assert.ok(old);
        const before = await fixture.collection.findOne({ _id: digestOfCookie(old) as never });
        await makeStale(browser, user);
        clock += 1000;

        const reply = await app.run(
          async (s) => {
            const result = await outcome(run(s));
            return { result, view: await s.get(), sid: s.sid };
          },
          { browser },
        );
        assert.equal(reply.status, 200, reply.body);
        const { result, view, sid } = reply.json();
        assert.equal(result, 'resolved', `${name} raised ${JSON.stringify(result)}`);
        assert.notEqual(sid, old, 'a new id');
        assert.equal(view._id, sid);
        assert.equal(view.user, undefined, 'none of the old data');
        const after = await fixture.collection.findOne({ _id: digestOfCookie(old) as never });
        assert.deepEqual(
          after?.['d'],
          cause === 'expired' ? before?.['d'] : undefined,
          'the old session was not written to, nor brought back',
        );
        if (writes) {
          assert.equal(view.v ?? 1, 1);
          assert.ok(await fixture.collection.findOne({ _id: digestOfCookie(sid) as never }), 'stored under the new id');
          assert.equal(cookiesOf(reply).get('sess')?.value, sid, "the response carries the new session's cookie");
        }
        if (name === 'expire() then set()')
          assert.equal(cookiesOf(reply).get('sess')?.attrs['expires'], undefined, 'a browser-session cookie');
        if (name === 'setLifetime()') {
          const stored = await fixture.collection.findOne({ _id: digestOfCookie(sid) as never });
          assert.equal(stored?.['lifetime'], 2 * HOUR, 'the new session has the lifetime');
        }
      });
    }
  }

  it('only a write racing an end during the request is refused (the no-resurrection guarantee)', async () => {
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'racer' }), { browser });
    const reply = await app.run(
      async (s) => {
        await s.get();
        await MongoSess.endAll({ user: 'racer' });
        return outcome(s.set({ late: true }));
      },
      { browser },
    );
    assert.equal(reply.json().name, 'MongoSessEndedError');
    assert.equal(cookiesOf(reply).get('sess'), undefined, 'no cookie: the session is the ending request’s to decide');
    assert.equal(await fixture.collection.countDocuments({ 'd.late': true }), 0);
  });
});
