// The real client is a browser: headless Chromium against the examples (run as a user runs them,
// the Fetch ones, Hono and a Next.js-style route handler, included)
// and against a server of this file's own for what the examples have no route for. The cookie
// survives reloads, page scripts cannot read it (HttpOnly), a cross-site form POST goes without it
// (SameSite=Lax: 127.0.0.1 and localhost are different sites), regenerate() changes its value
// and end() removes it. One browser for the file, a fresh profile (context) for each test.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import MongoSess from '../../src/index.js';
import { findChromium, launchChromium } from '../helpers/chromium.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { startExample, stopExample, type RunningExample } from '../helpers/example-process.js';
import { serve, type TestServer } from '../helpers/http.js';

const chromium = findChromium();
let browser: Browser;
/** Serves a page that submits a form POST to `?to=<url>` as soon as it loads. */
let formPages: TestServer;

/** Runs `fn` in a fresh browser profile (no cookies), closed afterwards. */
async function inFreshProfile(fn: (page: Page, context: BrowserContext) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  try {
    await fn(await context.newPage(), context);
  } finally {
    await context.close();
  }
}

/** Navigates to `url` and returns the text the page shows. */
async function visit(page: Page, url: string): Promise<string> {
  const response = await page.goto(url);
  assert.equal(response?.status(), 200, `GET ${url}`);
  return shown(page);
}

async function shown(page: Page): Promise<string> {
  return (await page.textContent('body')) ?? '';
}

/** The browser's cookies for `url`, by name. */
async function cookieJar(context: BrowserContext, url: string): Promise<Map<string, Cookie>> {
  return new Map((await context.cookies(url)).map((cookie) => [cookie.name, cookie]));
}

/**
 * Opens the form page at `from` (an origin: the page's site is what SameSite looks at), lets it
 * POST to `to`, and returns the text of the answer.
 */
async function formPostFrom(page: Page, from: string, to: string): Promise<string> {
  await page.goto(`${from}/?to=${encodeURIComponent(to)}`);
  await page.waitForURL(to);
  return shown(page);
}

function formPage(req: IncomingMessage, res: ServerResponse): void {
  const to = new URL(req.url ?? '/', 'http://localhost').searchParams.get('to') ?? '';
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(
    '<!doctype html><title>elsewhere</title><body><script>' +
      `const form = document.createElement('form'); form.method = 'post'; form.action = ${JSON.stringify(to)};` +
      'document.body.append(form); form.submit();</script></body>',
  );
}

/** The same form page under two names: one same-site with the servers under test, one not. */
function formOrigins(): { sameSite: string; crossSite: string } {
  return { sameSite: formPages.url, crossSite: formPages.url.replace('127.0.0.1', 'localhost') };
}

const EXAMPLES = [
  // Answers `/` on any method, so a form POST to `/` reads the name back.
  { file: 'http-server.js', answersPost: true },
  { file: 'koa.js', answersPost: true },
  // A Fetch handler (Request in, Response out) answers any method too.
  { file: 'next-route.js', answersPost: true },
  // Routes GET only.
  { file: 'express.js', answersPost: false },
  { file: 'fastify.js', answersPost: false },
  { file: 'hono.js', answersPost: false },
];

describe('in Chromium', { skip: 'missing' in chromium ? chromium.missing : false }, () => {
  before(async () => {
    if ('path' in chromium) browser = await launchChromium(chromium.path);
    formPages = await serve(formPage);
  });

  after(async () => {
    await formPages?.close();
    await browser?.close();
  });

  for (const { file, answersPost } of EXAMPLES) {
    describe(`examples/${file}`, () => {
      let example: RunningExample;
      before(async () => {
        example = await startExample(file);
      });
      after(() => stopExample(example.child));

      it('remembers the name across reloads', () =>
        inFreshProfile(async (page) => {
          assert.match(await visit(page, `${example.url}/`), /Who are you\?/);
          assert.match(await visit(page, `${example.url}/set?name=Ann`), /Hello Ann, I will remember you\./);
          assert.match(await visit(page, `${example.url}/`), /Welcome back, Ann\./);
          await page.reload();
          assert.match(await shown(page), /Welcome back, Ann\./);
        }));

      it('holds the session cookie where page scripts cannot read it (HttpOnly)', () =>
        inFreshProfile(async (page, context) => {
          await visit(page, `${example.url}/set?name=Ann`);
          const sess = (await cookieJar(context, example.url)).get('sess');
          assert.ok(sess?.value, 'the browser holds the session cookie');
          assert.equal(sess.httpOnly, true);
          assert.equal(sess.sameSite, 'Lax');
          // A cookie a script sets is visible to scripts on this page: document.cookie works here.
          await page.evaluate("document.cookie = 'visible=1'");
          assert.equal(await page.evaluate('document.cookie'), 'visible=1');
          assert.match(await visit(page, `${example.url}/`), /Welcome back, Ann\./, 'and the browser still sends it');
        }));

      it('end(): the browser no longer holds the ended id, and that id does not come back', () =>
        inFreshProfile(async (page, context) => {
          await visit(page, `${example.url}/set?name=Ann`);
          const ended = await cookieJar(context, example.url);
          assert.ok(ended.get('sess')?.value);
          assert.match(await visit(page, `${example.url}/end`), /Session ended/);
          // The example answers every path, so Chromium's /favicon.ico request right after
          // /end (without a cookie now) may already have brought a fresh, empty session's cookie.
          assert.ok((await cookieJar(context, example.url)).get('sess')?.value !== ended.get('sess')?.value, 'the ended id is gone');
          assert.match(await visit(page, `${example.url}/`), /Who are you\?/);
          // The ended cookie, put back as it was, does not bring the name back.
          await context.clearCookies();
          await context.addCookies([...ended.values()]);
          assert.ok((await cookieJar(context, example.url)).get('sess')?.value === ended.get('sess')?.value, 'the browser holds it again');
          assert.match(await visit(page, `${example.url}/`), /Who are you\?/);
        }));

      it(
        'a form POST from another site goes without the session cookie (SameSite=Lax)',
        { skip: answersPost ? false : 'the example routes GET only, so a POST cannot show whether the cookie came' },
        () =>
          inFreshProfile(async (page) => {
            await visit(page, `${example.url}/set?name=Ann`);
            const { sameSite, crossSite } = formOrigins();
            assert.match(await formPostFrom(page, sameSite, `${example.url}/`), /Welcome back, Ann\./, 'same site: the cookie came');
            assert.match(await formPostFrom(page, crossSite, `${example.url}/`), /Who are you\?/, 'cross site: no cookie came');
          }),
      );
    });
  }

  describe('examples/devices.js: two browser profiles as two devices', () => {
    let example: RunningExample;
    before(async () => {
      example = await startExample('devices.js');
    });
    after(() => stopExample(example.child));

    /** A device: a profile of its own with its own user agent, signed in as `user` through the login form. */
    async function signIn(agent: string, user: string): Promise<{ context: BrowserContext; page: Page }> {
      const context = await browser.newContext({ userAgent: agent });
      const page = await context.newPage();
      assert.match(await visit(page, `${example.url}/`), /Not signed in/);
      await page.fill('input[name="name"]', user);
      await Promise.all([page.waitForURL(`${example.url}/devices`), page.click('text=Sign in')]);
      return { context, page };
    }

    it('one device signs the other out; the other is logged out on its next request', async () => {
      const user = `chromium-${Date.now()}`;
      const laptop = await signIn('LaptopBrowser/1.0', user);
      const phone = await signIn('PhoneBrowser/1.0', user);
      try {
        assert.match(await shown(phone.page), /on 2 device\(s\)/);
        await laptop.page.reload();
        assert.match(await shown(laptop.page), /on 2 device\(s\)/);
        assert.match((await laptop.page.locator('li', { hasText: 'LaptopBrowser/1.0' }).textContent()) ?? '', /\(this device\)/);
        const phoneRow = laptop.page.locator('li', { hasText: 'PhoneBrowser/1.0' });
        await Promise.all([laptop.page.waitForURL(`${example.url}/devices`), phoneRow.getByRole('button', { name: 'Sign out' }).click()]);
        assert.match(await shown(laptop.page), /on 1 device\(s\)/);
        // The phone's next request: its cookie names an ended session.
        await phone.page.reload();
        assert.equal(phone.page.url(), `${example.url}/`, 'sent to the login form');
        assert.match(await shown(phone.page), /Not signed in/);
        assert.match(await visit(laptop.page, `${example.url}/`), new RegExp(`Signed in as ${user}\\.`), 'the laptop is still signed in');
        // Signing out everywhere else, then here.
        await signIn('TabletBrowser/1.0', user).then(({ context }) => context.close());
        await visit(laptop.page, `${example.url}/devices`);
        assert.match(await shown(laptop.page), /on 2 device\(s\)/);
        await Promise.all([laptop.page.waitForURL(`${example.url}/devices`), laptop.page.click('text=Sign out all other devices')]);
        assert.match(await shown(laptop.page), /on 1 device\(s\)/);
        await Promise.all([
          laptop.page.waitForURL(`${example.url}/`),
          laptop.page.getByRole('button', { name: 'Sign out', exact: true }).last().click(),
        ]);
        assert.match(await shown(laptop.page), /Not signed in/);
      } finally {
        await Promise.all([laptop.context.close(), phone.context.close()]);
      }
    });
  });

  describe('a server of its own (routes the examples lack)', () => {
    const db = uniqueDbName('browser');
    let app: TestServer;

    before(async () => {
      await MongoSess.connect({ uri: MONGODB_URI, db, autoRemove: 'interval' });
      // Any method. /set?name= stores a name, /regenerate moves the session to a new id, /end
      // ends it; these and / answer which name the session holds and whether a session cookie
      // came. Other paths (Chromium's /favicon.ico) get a 404 without a session, so no cookie.
      const eager = { keys: ['browser-test-key-5d0c81'] };
      const lazy = { ...eager, cookieOnFirstWrite: true };
      app = await serve(async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (!['/', '/set', '/regenerate', '/end'].includes(url.pathname)) {
          res.writeHead(404).end();
          return;
        }
        // ?lazy: the cookie goes out only with the session's first write.
        const session = new MongoSess(req, res, url.searchParams.has('lazy') ? lazy : eager);
        if (url.pathname === '/set') await session.set({ name: url.searchParams.get('name') });
        if (url.pathname === '/regenerate') await session.regenerate();
        const name = url.pathname === '/end' ? await session.end().then(() => 'ended') : await session.get('name');
        const came = /(?:^|;\s*)sess=/.test(req.headers.cookie ?? '');
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`name: ${String(name ?? 'none')}; session cookie: ${came ? 'came' : 'none'}\n`);
      });
    });

    after(async () => {
      await app?.close();
      await new Promise((resolve) => MongoSess.close(resolve));
    });

    it('regenerate(): the browser holds a new cookie value, and the name with it', () =>
      inFreshProfile(async (page, context) => {
        assert.match(await visit(page, `${app.url}/set?name=Ann`), /name: Ann/);
        const first = (await cookieJar(context, app.url)).get('sess')?.value;
        assert.ok(first);
        assert.match(await visit(page, `${app.url}/regenerate`), /name: Ann; session cookie: came/);
        const second = (await cookieJar(context, app.url)).get('sess')?.value;
        assert.ok(second);
        assert.ok(second !== first, 'regenerate() sent a new session id');
        assert.match(await visit(page, `${app.url}/`), /name: Ann; session cookie: came/);
      }));

    it('end(): the browser holds no session cookie afterwards', () =>
      inFreshProfile(async (page, context) => {
        await visit(page, `${app.url}/set?name=Ann`);
        assert.deepEqual([...(await cookieJar(context, app.url)).keys()].sort(), ['sess', 'sess.sig']);
        assert.match(await visit(page, `${app.url}/end`), /name: ended; session cookie: came/);
        assert.deepEqual([...(await cookieJar(context, app.url)).keys()], [], 'the session cookie and its signature are gone');
      }));

    it('a form POST from another site replaces the cookie by default (a forced logout), and cannot with cookieOnFirstWrite', () =>
      inFreshProfile(async (page, context) => {
        const { crossSite } = formOrigins();
        await visit(page, `${app.url}/set?name=Ann`);
        const held = (await cookieJar(context, app.url)).get('sess')?.value;
        await formPostFrom(page, crossSite, `${app.url}/`);
        assert.notEqual((await cookieJar(context, app.url)).get('sess')?.value, held, 'the default: a fresh cookie replaced it');
        assert.match(await visit(page, `${app.url}/`), /name: none/);

        await visit(page, `${app.url}/set?name=Bob&lazy`);
        const kept = (await cookieJar(context, app.url)).get('sess')?.value;
        assert.match(await formPostFrom(page, crossSite, `${app.url}/?lazy`), /name: none; session cookie: none/);
        assert.equal((await cookieJar(context, app.url)).get('sess')?.value, kept, 'cookieOnFirstWrite: the cookie stays');
        assert.match(await visit(page, `${app.url}/?lazy`), /name: Bob; session cookie: came/);
      }));

    it('a form POST from another site carries no session cookie at all', () =>
      inFreshProfile(async (page) => {
        await visit(page, `${app.url}/set?name=Ann`);
        const { sameSite, crossSite } = formOrigins();
        assert.match(await formPostFrom(page, sameSite, `${app.url}/`), /name: Ann; session cookie: came/);
        assert.match(await formPostFrom(page, crossSite, `${app.url}/`), /name: none; session cookie: none/);
      }));
  });

  // expressjs/session#923 ("handle regenerate race condition": 2-3 requests fired at once while
  // one regenerates) and PHP's manual for session_regenerate_id() (its warning that concurrent
  // access, or an unstable network, can lose the session when the old id dies at once): a
  // page's parallel requests, still carrying the old cookie while /login regenerates the session,
  // answer after it and must not hand the browser back the old id.
  describe('parallel requests during a login regenerate()', () => {
    const db = uniqueDbName('browser_login');
    const MINUTE = 60_000;
    let app: TestServer;
    let inside = 0;
    let arrived: () => void = () => undefined;
    let release: () => void = () => undefined;
    let held = Promise.resolve();

    before(async () => {
      await MongoSess.connect({ uri: MONGODB_URI, db, autoRemove: 'interval', rolling: true, touchAfter: 10 * MINUTE });
      app = await serve(async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (!['/', '/set', '/login', '/slow'].includes(url.pathname)) {
          res.writeHead(404).end();
          return;
        }
        const session = new MongoSess(req, res);
        if (url.pathname === '/set') await session.set({ name: url.searchParams.get('name') });
        if (url.pathname === '/login') await session.regenerate();
        const name = await session.get('name');
        if (url.pathname === '/slow') {
          inside++;
          arrived();
          await held; // answers only once the login has answered
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`name: ${String(name ?? 'none')}\n`);
      });
    });

    after(async () => {
      await app?.close();
      await new Promise((resolve) => MongoSess.close(resolve));
    });

    it('three fetches with the old cookie run while /login regenerates: the browser ends holding the new id', () =>
      inFreshProfile(async (page, context) => {
        assert.match(await visit(page, `${app.url}/set?name=Ann`), /name: Ann/);
        const old = (await cookieJar(context, app.url)).get('sess')?.value;
        assert.ok(old);
        inside = 0;
        held = new Promise((resolve) => (release = resolve));
        const allInside = new Promise<void>((resolve) => {
          arrived = () => {
            if (inside === 3) resolve();
          };
        });
        const reads = page.evaluate(() => Promise.all([1, 2, 3].map(() => fetch('/slow').then((r) => r.text()))));
        await allInside;
        const login = await page.evaluate(() => fetch('/login').then((r) => r.text()));
        assert.match(login, /name: Ann/);
        const fresh = (await cookieJar(context, app.url)).get('sess')?.value;
        assert.ok(fresh && fresh !== old, 'the login sent a new id');
        release();
        for (const text of await reads) assert.match(text, /name: Ann/);
        assert.equal((await cookieJar(context, app.url)).get('sess')?.value, fresh, 'the browser still holds the new id');
        assert.match(await visit(page, `${app.url}/`), /name: Ann/, 'and is logged in');
      }));
  });
});
