// Proofs against the bugs users of other session stores report, each test citing its report.
// The session app talks to the server through a TCP relay, so a test can hold one command on its
// way (the rolling touch) while the database changes underneath.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { describeMessage } from '../../scripts/wire-messages.mjs';
import MongoSess, { type ConnectOptions } from '../../src/index.js';
import { digestOfCookie } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { relayedApp } from '../helpers/relayed-app.js';
import { outcome, type SessionApp } from '../helpers/session-app.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const fixture = relayedApp('other_stores');
const sessions = fixture.direct.db(fixture.db).collection('sessions');
let clock = Date.now();

describe('bugs reported against other session stores', () => {
  let relay: TcpProxy;
  let appClient: MongoClient;
  let app: SessionApp;

  async function connect(options: Partial<ConnectOptions> = {}): Promise<void> {
    await new Promise((resolve) => MongoSess.close(resolve));
    await MongoSess.connect({
      client: appClient,
      db: fixture.db,
      now: () => clock,
      autoRemove: 'disabled',
      warn: () => undefined,
      ...options,
    });
  }

  before(async () => {
    await fixture.start(async (uri) => {
      appClient = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
      await appClient.connect();
      await connect();
    });
    ({ relay, app } = fixture);
  });

  after(async () => {
    await fixture.stop();
    await appClient.close();
  });

  // connect-mongo: "Error: Unable to find the session to touch" (jdesboeufs/connect-mongo#459,
  // also #407 and #469): the TTL monitor deleted the session between express-session's read and
  // its touch, and the request failed. Here the document is deleted while the touch is held.
  it('TTL delete between the read and the rolling touch: no error, this read served, later writes refused, no cookie clobbered', async () => {
    await connect({ expires: HOUR, rolling: true });
    const browser = new Browser();
    assert.equal((await app.run((s) => s.set({ user: 'ann' }), { browser })).status, 200);
    const cookie = await browser.cookie(app.url, 'sess');
    clock += 30 * MINUTE; // the read extends the session: a touch follows it
    const touch = relay.hold((message) => describeMessage(message).command === 'update');
    const reading = app.run(
      async (s) => {
        const user = await s.get('user');
        return { user, write: await outcome(s.set({ late: true })) };
      },
      { browser },
    );
    await touch.atGate;
    await sessions.deleteOne({ _id: digestOfCookie(cookie ?? '') as never }); // as the TTL monitor does
    touch.release();
    const reply = await reading;
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.json().user, 'ann', 'the read that found the session is served');
    assert.equal(reply.json().write.name, 'MongoSessEndedError', 'a write after it is refused');
    assert.deepEqual(
      reply.setCookie.filter((line) => line.startsWith('sess')),
      [],
      'no cookie',
    );
    assert.equal(await browser.cookie(app.url, 'sess'), cookie, 'the browser keeps its cookie');
    assert.equal(await sessions.countDocuments({ 'd.late': true }), 0, 'nothing written back');
  });

  // expressjs/session#161 (and #988): two session middlewares with different cookie options in
  // one app, sharing one store, sent the last-made instance's cookie options. Each response here
  // carries only the attributes of the options its session was made with.
  it('two session configurations in one app: each response carries only its own cookie attributes', async () => {
    await connect();
    const admin = { cookieName: 'admin_sess', path: '/admin', sameSite: 'strict', expires: 5 * MINUTE } as const;
    const site = { cookieName: 'sess', domain: 'localhost' } as const;
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        app.run((s) => s.set({ role: 'admin' }), { options: admin }),
        app.run((s) => s.set({ role: 'visitor' }), { options: site }),
      ]);
      const adminLines = a.setCookie.filter((line) => /^admin_sess(\.sig)?=/.test(line));
      const siteLines = b.setCookie.filter((line) => /^sess(\.sig)?=/.test(line));
      assert.ok(adminLines.length > 0 && siteLines.length > 0);
      assert.equal(a.setCookie.length, adminLines.length, 'the admin response sends only its own cookie');
      assert.equal(b.setCookie.length, siteLines.length, 'the site response sends only its own cookie');
      for (const line of adminLines) {
        assert.match(line, /; path=\/admin/i);
        assert.match(line, /; samesite=strict/i);
        assert.doesNotMatch(line, /; domain=/i);
      }
      for (const line of siteLines) {
        assert.match(line, /; path=\/(;|$)/i);
        assert.match(line, /; domain=localhost/i);
        assert.match(line, /; samesite=lax/i);
      }
      const adminExpires = Date.parse(/; expires=([^;]+)/i.exec(adminLines[0] ?? '')?.[1] ?? '');
      const siteExpires = Date.parse(/; expires=([^;]+)/i.exec(siteLines[0] ?? '')?.[1] ?? '');
      assert.ok(adminExpires <= clock + 5 * MINUTE, 'the admin cookie has its own 5-minute lifetime');
      assert.ok(siteExpires > clock + HOUR, "the site cookie has connect's lifetime");
    }
  });
});
