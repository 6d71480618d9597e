// mongosess/koa with the real Koa, over HTTP with a cookie-keeping client, against the real database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { session } from '../../src/koa.js';
import { closeConnection, connectForTest } from '../helpers/framework-server.js';
import { lateWrite, racedWriteIsRefused, roundTrip, staleCookieIsNewVisitor } from '../helpers/framework-scenarios.js';
import { Browser, serve, type TestServer } from '../helpers/http.js';

/** A Koa app with the scenario routes, typed through the DefaultContext augmentation; `inner` runs between the session and the routes. */
function koaApp(inner?: Koa.Middleware): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(session({ keys: ['framework test key'] }));
  if (inner) app.use(inner);
  app.use(async (ctx) => {
    const name = ctx.query['name'];
    switch (ctx.path) {
      case '/set':
        await ctx.session.set({ name });
        ctx.body = 'ok';
        break;
      case '/late':
        await lateWrite(ctx.session, String(name));
        ctx.body = 'ok';
        break;
      case '/name': {
        const stored: unknown = await ctx.session.get('name');
        ctx.body = typeof stored === 'string' ? stored : 'none';
        break;
      }
      case '/del':
        await ctx.session.del('name');
        ctx.body = 'ok';
        break;
      case '/end':
        await ctx.session.end();
        ctx.body = 'ok';
        break;
      case '/login-then-forbidden':
        await ctx.session.set({ name });
        await ctx.session.regenerate();
        ctx.throw(403, 'forbidden after login');
        break;
      case '/login-then-throw-string':
        await ctx.session.set({ name });
        await ctx.session.regenerate();
        throw 'not an Error';
    }
  });
  return app;
}

describe('mongosess/koa', () => {
  let server: TestServer;
  before(async () => {
    await connectForTest('koa');
    server = await serve(koaApp().callback());
  });
  after(async () => {
    await server.close();
    await closeConnection();
  });

  it('gives ctx.session: set, get, del and end over real requests', () => roundTrip(server.url));

  it("a write with a stale cookie is a new visitor's", () => staleCookieIsNewVisitor(server.url));

  it("Koa's default error handling answers a write refused by a racing end with its status, 409", async () => {
    assert.equal((await racedWriteIsRefused(server.url)).status, 409, "the error's status");
  });

  it('keeps Set-Cookie lines the error already carried in err.headers', async () => {
    const flash = 'flash=refused; path=/';
    const own = await serve(
      koaApp(async (_ctx, next) => {
        try {
          await next();
        } catch (err) {
          Object.assign(err as Error, { headers: { 'Set-Cookie': flash } });
          throw err;
        }
      }).callback(),
    );
    try {
      const late = await racedWriteIsRefused(own.url);
      assert.equal(late.status, 409);
      assert.ok(late.setCookie.includes(flash), JSON.stringify(late.setCookie));
    } finally {
      await own.close();
    }
  });

  it('keeps the session cookie through any error Koa handles: a regenerate() then ctx.throw(403) still sends the new id', async () => {
    const browser = new Browser();
    await browser.get(`${server.url}/set?name=ann`);
    const before = await browser.cookie(server.url, 'sess');
    const reply = await browser.get(`${server.url}/login-then-forbidden?name=bob`);
    assert.equal(reply.status, 403);
    const after = await browser.cookie(server.url, 'sess');
    assert.ok(after && after !== before, `the new id reached the browser: ${JSON.stringify(reply.setCookie)}`);
    assert.equal((await browser.get(`${server.url}/name`)).body, 'bob');
  });

  // Audit of d3b32e5, finding 9: a non-Error thrown after regenerate() dropped the new cookie
  // (Koa replaces the value with a new Error and removes every header), so the user was logged out.
  it('finding 9: a non-Error thrown after regenerate() still sends the new id', async () => {
    const browser = new Browser();
    await browser.get(`${server.url}/set?name=ann`);
    const before = await browser.cookie(server.url, 'sess');
    const reply = await browser.get(`${server.url}/login-then-throw-string?name=carl`);
    assert.equal(reply.status, 500);
    const after = await browser.cookie(server.url, 'sess');
    assert.ok(after && after !== before, `the new id reached the browser: ${JSON.stringify(reply.setCookie)}`);
    assert.equal((await browser.get(`${server.url}/name`)).body, 'carl');
  });
});
