// A write that needs a new session cookie once the response headers are sent is refused with a
// clear error, as a 0.4 session's move already was: before, it resolved true and stored the data
// under an id no client holds.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import MongoSess, { type Session } from '../../src/index.js';
import { Browser, rawRequest } from '../helpers/http.js';
import { cookiesOf, outcome, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const HOUR = 3_600_000;
let clock = Date.now();
const fixture = sessionFixture('after_headers', { connect: { now: () => clock, expires: HOUR } });
let app: SessionApp;

/** A step that sends the headers, then writes; the body is the write's outcome, as JSON. */
async function writeAfterHeaders(s: Session, _req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('');
  res.end(JSON.stringify(await outcome(s.set({ marker: 'after-headers' }))));
}

const NEEDS_COOKIE = /^mongosess: this write needs a new session cookie .* the response headers were already sent, so nothing was written/;

describe('a write that needs a new cookie after the headers are sent', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
  });
  afterEach(async () => {
    clock = Date.now();
    await fixture.collection.deleteMany({});
  });
  after(() => fixture.stop());

  async function assertRefused(reply: { json: () => { name: string; message: string } }): Promise<void> {
    const result = reply.json();
    assert.equal(result.name, 'MongoSessError');
    assert.match(result.message, NEEDS_COOKIE);
    assert.equal(await fixture.collection.countDocuments({ 'd.marker': 'after-headers' }), 0, 'nothing stored under an id no client holds');
  }

  it('cookieOnFirstWrite: a new visitor writing after the headers is refused', async () => {
    await assertRefused(await app.run(writeAfterHeaders, { options: { cookieOnFirstWrite: true } }));
  });

  it('a session that expired before the request: its replacement cannot get a cookie, so the write is refused', async () => {
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'ann' }), { browser });
    clock += HOUR + 1;
    await assertRefused(await app.run(writeAfterHeaders, { browser }));
  });

  it('a session ended before the request: the same', async () => {
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'bob' }), { browser });
    await app.run((s) => s.end(), { headers: { cookie: await browser.jar.getCookieString(app.url) } });
    await assertRefused(await app.run(writeAfterHeaders, { browser }));
  });

  it('a new visitor whose session is made after the headers were sent: refused', async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('');
      const session = new MongoSess(req, res);
      void outcome(session.set({ marker: 'after-headers' })).then((result) => res.end(JSON.stringify(result)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const reply = await rawRequest(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {});
      await assertRefused(reply);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('writes whose cookie went out earlier are fine after the headers: a new visitor (cookie sent on first contact), a known session', async () => {
    const fresh = await app.run(writeAfterHeaders);
    assert.equal(fresh.json(), 'resolved');
    const id = cookiesOf(fresh).get('sess')?.value;
    assert.ok(id, 'the cookie went out with the headers');
    const browser = new Browser();
    await app.run((s) => s.set({ user: 'cy' }), { browser });
    assert.equal((await app.run(writeAfterHeaders, { browser })).json(), 'resolved');
    assert.equal(await fixture.collection.countDocuments({ 'd.marker': 'after-headers' }), 2);
  });
});
