// What every framework integration must do, asked over HTTP of an app that serves these routes
// with the framework's `session` middleware or plugin:
//   GET /set?name=N  session.set({ name: N }), answers "ok"
//   GET /name        answers the stored name, or "none"
//   GET /del         session.del('name'), answers "ok"
//   GET /end         session.end(), answers "ok"
//   GET /late?name=N session.set({ name: N }) with the error left to the framework's own handling
import assert from 'node:assert/strict';
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
 * A write through a cookie whose session was ended meanwhile (by another request) is refused,
 * and the error response the framework sends still carries the fresh session cookie.
 * Returns that error response.
 */
export async function lateWriteGetsFreshCookie(url: string, cookieName = 'sess'): Promise<Reply> {
  const browser = new Browser();
  await browser.get(`${url}/set?name=Ann`);
  const old = await browser.cookie(url, cookieName);
  assert.ok(old);
  // Another request with the same cookies (and signature) ends the session; this browser keeps the old ones.
  assert.equal((await rawRequest(`${url}/end`, { cookie: await browser.jar.getCookieString(url) })).body, 'ok');

  const late = await browser.get(`${url}/late?name=Bob`);
  assert.ok(late.status >= 400, `the refused write is an error response, got ${late.status}`);
  const fresh = late.setCookie.map(parseSetCookie).find((c) => c.name === cookieName);
  assert.ok(fresh, `the error response sets a fresh ${cookieName} cookie: ${JSON.stringify(late.setCookie)}`);
  assert.notEqual(fresh.value, old);
  assert.equal(await browser.cookie(url, cookieName), fresh.value);
  assert.equal((await browser.get(`${url}/name`)).body, 'none', 'nothing was written');
  assert.equal((await browser.get(`${url}/set?name=Cy`)).body, 'ok', 'the fresh session takes writes');
  assert.equal((await browser.get(`${url}/name`)).body, 'Cy');
  return late;
}
