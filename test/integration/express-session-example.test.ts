// examples/express-session.js, run as written (through the built package's
// mongosess/express-session export): Passport 0.7 with passport-local, connect-flash and
// csrf-sync's session-kept token, unchanged, on mongosess.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser, rawRequest, type Reply } from '../helpers/http.js';
import { root, startExample, stopExample, type RunningExample } from '../helpers/example-process.js';

const COOKIE = 'sess';

/** A form POST from the browser (its cookies sent, the ones it is given kept). */
async function post(browser: Browser, url: string, fields: Record<string, string>): Promise<Reply> {
  const cookie = await browser.jar.getCookieString(url);
  const body = new URLSearchParams(fields).toString();
  const reply = await new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...(cookie ? { cookie } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            json: () => JSON.parse(text),
            setCookie: res.headers['set-cookie'] ?? [],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  for (const line of reply.setCookie) await browser.jar.setCookie(line, url, { ignoreError: true });
  return reply;
}

/** The CSRF token of the page's form. */
function tokenOf(page: Reply): string {
  const match = /name="_csrf" value="([0-9a-f]+)"/.exec(page.body);
  assert.ok(match, `no CSRF token in: ${page.body}`);
  return match[1]!;
}

describe('examples/express-session.js', () => {
  let running: RunningExample;
  const url = (path: string) => `${running.url}${path}`;
  before(async () => {
    running = await startExample('express-session.js');
  });
  after(() => stopExample(running.child));

  it('is in the README word for word', () => {
    const example = readFileSync(join(root, 'examples', 'express-session.js'), 'utf8');
    assert.ok(
      readFileSync(join(root, 'README.md'), 'utf8').includes(example.trim()),
      'README.md must contain examples/express-session.js verbatim',
    );
  });

  it('csrf-sync: a POST without the token kept in the session is refused', async () => {
    const browser = new Browser();
    await browser.get(url('/'));
    const refused = await post(browser, url('/login'), { username: 'ann', password: 'secret' });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /invalid csrf token/);
    const forged = await post(browser, url('/login'), { username: 'ann', password: 'secret', _csrf: 'f'.repeat(256) });
    assert.equal(forged.status, 403);
  });

  it('connect-flash: a failed login shows its message once', async () => {
    const browser = new Browser();
    const form = await browser.get(url('/'));
    const failed = await post(browser, url('/login'), { username: 'ann', password: 'wrong', _csrf: tokenOf(form) });
    assert.equal(failed.status, 302);
    const shown = await browser.get(url('/'));
    assert.match(shown.body, /<p class="flash">Wrong username or password\.<\/p>/);
    const next = await browser.get(url('/'));
    assert.doesNotMatch(next.body, /Wrong username/, 'the flash message was consumed, and that was saved');
  });

  it('Passport: login moves to a new session id, req.user is restored on later requests, logout ends it', async () => {
    const browser = new Browser();
    const form = await browser.get(url('/'));
    const before = await browser.cookie(running.url, COOKIE);
    assert.ok(before, 'the CSRF token stored in the session gave it a cookie');
    const cookiesBefore = await browser.jar.getCookieString(running.url);
    const login = await post(browser, url('/login'), { username: 'ann', password: 'secret', _csrf: tokenOf(form) });
    assert.equal(login.status, 302);
    const after = await browser.cookie(running.url, COOKIE);
    assert.ok(after && after !== before, 'login regenerated the session id (session fixation)');
    const home = await browser.get(url('/'));
    assert.match(home.body, /Logged in as ann\./);
    assert.match((await browser.get(url('/'))).body, /Logged in as ann\./);
    const cookiesAfter = await browser.jar.getCookieString(running.url);

    // The pre-login cookie (signed) is dead: replaying it does not log in.
    assert.match((await rawRequest(url('/'), { cookie: cookiesBefore })).body, /Not logged in\./);

    const logout = await post(browser, url('/logout'), { _csrf: tokenOf(home) });
    assert.equal(logout.status, 302);
    assert.match((await browser.get(url('/'))).body, /Not logged in\./);
    // The logged-in cookie is dead too.
    assert.match((await rawRequest(url('/'), { cookie: cookiesAfter })).body, /Not logged in\./);
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await stopExample(running.child), 0);
  });
});
