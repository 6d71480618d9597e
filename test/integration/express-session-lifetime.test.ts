// mongosess/express-session keeps the core's lifetimes: with connect's rolling, touchAfter and
// absoluteTimeout, req.session is extended on use (database and cookie), not extended within
// touchAfter, and gone at its absolute deadline, whatever the use. The clock is connect's `now`.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import connect from 'connect';
import MongoSess from '../../src/index.js';
import { session, type SessionRequest } from '../../src/express-session.js';
import { digestOfCookie, monitoredClient, uniqueDbName } from '../helpers/db.js';
import { Browser, parseSetCookie, serve, type TestServer } from '../helpers/http.js';

const HOUR = 3_600_000;
const { client } = monitoredClient();
const db = uniqueDbName('exslife');
const sessions = client.db(db).collection<{ _id: string; expiresAt?: Date }>('sessions');
let skew = 0;
let server: TestServer;

describe('mongosess/express-session with rolling, touchAfter and absoluteTimeout', () => {
  before(async () => {
    await client.connect();
    await MongoSess.connect({
      client,
      db,
      autoRemove: 'interval',
      warn: () => undefined,
      expires: HOUR,
      rolling: true,
      touchAfter: 10 * 60_000,
      absoluteTimeout: 3 * HOUR,
      now: () => Date.now() + skew,
    });
    const handler = connect()
      .use(session({ name: 'sid', secret: 'lifetime test' }))
      .use((req: SessionRequest, res: ServerResponse) => {
        const s = req.session!;
        if (req.url === '/inc') s['views'] = ((s['views'] as number | undefined) ?? 0) + 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ views: s['views'] ?? 0, maxAge: s.cookie.maxAge }));
      });
    server = await serve((req, res) => handler(req, res));
  });
  after(async () => {
    await server.close();
    await new Promise((resolve) => MongoSess.close(resolve));
    await client.db(db).dropDatabase();
    await client.close();
  });

  it('extends on use past touchAfter, not within it, and ends at the absolute deadline', async () => {
    const browser = new Browser();
    await browser.get(`${server.url}/inc`);
    const sid = (await browser.cookie(server.url, 'sid'))!;
    const expiry = async () => (await sessions.findOne({ _id: digestOfCookie(sid) }))?.expiresAt?.getTime() ?? 0;
    const created = await expiry();

    const cookieExpiry = (reply: { setCookie: string[] }) => {
      const cookie = reply.setCookie.map(parseSetCookie).find((c) => c.name === 'sid');
      return cookie ? new Date(String(cookie.attrs['expires'])).getTime() : undefined;
    };
    const second = (ms: number) => Math.floor(ms / 1000) * 1000;

    skew += 5 * 60_000; // within touchAfter: a read extends nothing (the cookie keeps the stored expiry)
    const within = await browser.get(`${server.url}/`);
    assert.equal(within.json().views, 1);
    assert.equal(await expiry(), created);
    assert.equal(cookieExpiry(within) ?? second(created), second(created));

    skew += 30 * 60_000; // past touchAfter: the read extends the session, and the cookie follows
    const later = await browser.get(`${server.url}/`);
    assert.ok((await expiry()) > created, 'extended in the database');
    assert.equal(cookieExpiry(later), second(await expiry()), 'the cookie follows');

    for (let i = 0; i < 3; i++) {
      skew += 40 * 60_000; // used every 40 minutes, past its hour from creation: rolling keeps it alive…
      await browser.get(`${server.url}/inc`);
    }
    assert.equal((await browser.get(`${server.url}/`)).json().views, 4);
    // …until 3 hours after its creation: then it is gone, and a new empty session begins.
    skew += 30 * 60_000;
    assert.equal((await browser.get(`${server.url}/`)).json().views, 0);
  });
});
