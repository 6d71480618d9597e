// What every framework integration must do, asked over HTTP of an app that serves these routes
// with the framework's `session` middleware or plugin:
//   GET /set?name=N  session.set({ name: N }), answers "ok"
//   GET /name        answers the stored name, or "none"
//   GET /del         session.del('name'), answers "ok"
//   GET /end         session.end(), answers "ok"
//   GET /late?name=N lateWrite(): a write racing an end, with the error left to the framework's own handling
import assert from 'node:assert/strict';
import MongoSess, { type Session } from '../../src/index.js';
import { Browser, parseSetCookie, rawRequest, type Reply } from './http.js';

/** Stores, reads, deletes and ends a session through the app, keeping cookies like a browser. */
export async function roundTrip(url: string, cookieName = 'sess'): Promise<void> {
  const browser = new Browser();
  assert.equal((await browser.get(`${url}/name`)).body, 'none');
  assert.equal((await browser.get(`${url}/set?name=Ann`)).body, 'ok');
  const sid = await browser.cookie(url, cookieName);
  assert.ok(sid, 'the session cookie is set');
  assert.equal((await browser.get(`${url}/name`)).body, 'Ann');
  assert.equal((await browser.get(`${url}/del`)).body, 'ok');
  assert.equal((await browser.get(`${url}/name`)).body, 'none');
  await browser.get(`${url}/set?name=Bob`);
  assert.equal((await browser.get(`${url}/name`)).body, 'Bob');
  assert.equal((await browser.get(`${url}/end`)).body, 'ok');
  assert.equal((await browser.get(`${url}/name`)).body, 'none');
  await browser.get(`${url}/set?name=Cy`);
  assert.notEqual(await browser.cookie(url, cookieName), sid, 'a new session after end()');
}

/**
 * A write through a cookie whose session another request ended before this one began is a new
 * visitor's: it succeeds under a fresh id, whose cookie the response carries.
 */
export async function staleCookieIsNewVisitor(url: string, cookieName = 'sess'): Promise<void> {
  const browser = new Browser();
  await browser.get(`${url}/set?name=Ann`);
  const old = await browser.cookie(url, cookieName);
  assert.ok(old);
  // Another request with the same cookies (and signature) ends the session; this browser keeps the old ones.
  assert.equal((await rawRequest(`${url}/end`, { cookie: await browser.jar.getCookieString(url) })).body, 'ok');

  const write = await browser.get(`${url}/set?name=Bob`);
  assert.equal(write.body, 'ok', `no error: ${write.status} ${write.body}`);
  const fresh = await browser.cookie(url, cookieName);
  assert.ok(fresh && fresh !== old, 'the response sets a fresh session cookie');
  assert.equal((await browser.get(`${url}/name`)).body, 'Bob', 'the write went to the new session');
}

/** The /late route: reads the session, which is then ended elsewhere while the request runs, then writes. */
export async function lateWrite(session: Pick<Session, 'get' | 'set'>, name: string): Promise<void> {
  await session.get();
  await MongoSess.endAll({ name });
  await session.set({ late: true });
}

/**
 * A write that races an end (the session was live when this request read it, and ended before
 * it wrote) is refused, through the framework's own error handling. Returns that response.
 */
export async function racedWriteIsRefused(url: string, cookieName = 'sess'): Promise<Reply> {
  const browser = new Browser();
  await browser.get(`${url}/set?name=Ann`);
  const old = await browser.cookie(url, cookieName);
  assert.ok(old);

  const late = await browser.get(`${url}/late?name=Ann`);
  assert.ok(late.status >= 400, `the refused write is an error response, got ${late.status}`);
  const sent = late.setCookie.map(parseSetCookie).find((c) => c.name === cookieName);
  assert.equal(sent, undefined, 'the refused write sends no session cookie');
  assert.equal((await browser.get(`${url}/name`)).body, 'none', 'nothing was written, and the session stays ended');
  assert.equal(await rawRequest(`${url}/name`, { cookie: `${cookieName}=${old}` }).then((r) => r.body), 'none');
  assert.equal((await browser.get(`${url}/set?name=Cy`)).body, 'ok', "the next write is a new visitor's");
  assert.equal((await browser.get(`${url}/name`)).body, 'Cy');
  return late;
}
