// MongoSessStore: a second store in one process, next to MongoSess's default store, even on the
// same request: an admin app's sessions (another collection, a 15-minute lifetime, another cookie)
// and the public ones, through real Express and Koa apps, a cookie-keeping client and the real
// database. Also: each store's close(), bulk operations and warnings are its own, and a second
// MongoSess.connect() for another collection is refused with the way out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Koa from 'koa';
import { session as expressSession } from '../../src/express.js';
import MongoSess, { MongoSessConfigError, MongoSessNotConnectedError, MongoSessStore } from '../../src/index.js';
import { session as koaSession } from '../../src/koa.js';
import { uniqueDbName } from '../helpers/db.js';
import { Browser, parseSetCookie, serve, type Reply, type TestServer } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const keys = ['stores test key'];
/** MongoSess connected to the file's database, with the fixture's own client. */
const fixture = sessionFixture('stores');
const { client, db } = fixture;
const quiet = { client, db, autoRemove: 'interval', autoRemoveInterval: HOUR, warn: () => undefined } as const;
const closeDefault = () => new Promise((resolve) => MongoSess.close(resolve));

/** The admin app's store: its own collection, a 15-minute lifetime. */
const admin = new MongoSessStore({ ...quiet, collection: 'admin_sessions', expires: 15 * MINUTE });

/** The expiry of the named cookie in a reply, in ms from now. */
function cookieLifetime(reply: Reply, name: string): number {
  const line = reply.setCookie.map(parseSetCookie).find((cookie) => cookie.name === name);
  assert.ok(line, `a ${name} cookie in ${JSON.stringify(reply.setCookie)}`);
  return Date.parse(String(line.attrs['expires'])) - Date.now();
}

/** Public sessions from MongoSess's default store on every route; admin sessions under /admin. */
function expressApp(): express.Express {
  const app = express();
  app.use(expressSession({ keys }));
  app.use('/admin', expressSession({ store: admin, cookieName: 'admin', keys }));
  app.get('/login', async (req, res) => {
    await req.session.set({ user: 'ann' });
    res.send('ok');
  });
  app.get('/admin/login', async (req, res) => {
    await req.session.set({ role: 'root' });
    res.send('ok');
  });
  app.get('/admin/both', async (req, res) => {
    // The public middleware's session of this request, and the admin one again.
    const publicSession = MongoSess(req, res);
    res.json({
      role: (await req.session.get('role')) ?? null,
      user: (await publicSession.get('user')) ?? null,
      adminHasUser: (await req.session.get('user')) !== undefined,
      publicHasRole: (await publicSession.get('role')) !== undefined,
      samePublic: publicSession === MongoSess(req, res),
      sameAdmin: admin.session(req, res) === req.session,
      distinct: publicSession !== req.session,
    });
  });
  app.get('/clash', (req, res) => {
    try {
      admin.session(req, res); // under the default cookie name, which the public session has
      res.send('no error');
    } catch (err) {
      res.status(409).send(`${(err as Error).name}: ${(err as Error).message}`);
    }
  });
  return app;
}

before(async () => {
  await fixture.start();
  await admin.connect();
});

after(async () => {
  await admin.close();
  await fixture.stop();
});

describe('two stores in one process', () => {
  let server: TestServer;

  before(async () => (server = await serve(expressApp())));
  after(() => server.close());

  it('on one Express app and one request: each cookie has its store lifetime, each session its collection', async () => {
    const browser = new Browser();
    const login = await browser.get(`${server.url}/login`);
    assert.equal(login.status, 200);
    const publicLife = cookieLifetime(login, 'sess');
    assert.ok(Math.abs(publicLife - 14 * DAY) < MINUTE, `the public cookie lives 14 days, got ${publicLife} ms`);

    const adminLogin = await browser.get(`${server.url}/admin/login`);
    assert.equal(adminLogin.status, 200);
    const adminLife = cookieLifetime(adminLogin, 'admin');
    assert.ok(Math.abs(adminLife - 15 * MINUTE) < MINUTE, `the admin cookie lives 15 minutes, got ${adminLife} ms`);
    assert.ok(!adminLogin.setCookie.some((line) => line.startsWith('sess=')), 'the public cookie is left alone');

    const both = (await browser.get(`${server.url}/admin/both`)).json();
    assert.deepEqual(both, {
      role: 'root',
      user: 'ann',
      adminHasUser: false,
      publicHasRole: false,
      samePublic: true,
      sameAdmin: true,
      distinct: true,
    });

    const publicDocs = await client
      .db(db)
      .collection('sessions')
      .find({ ended: { $exists: false } })
      .toArray();
    const adminDocs = await client
      .db(db)
      .collection('admin_sessions')
      .find({ ended: { $exists: false } })
      .toArray();
    assert.deepEqual(
      publicDocs.map((doc) => doc['d']),
      [{ user: 'ann' }],
    );
    assert.deepEqual(
      adminDocs.map((doc) => doc['d']),
      [{ role: 'root' }],
    );
    const expiryIn = (doc: (typeof adminDocs)[number]) => (doc['expiresAt'] as Date).getTime() - Date.now();
    assert.ok(Math.abs(expiryIn(adminDocs[0]!) - 15 * MINUTE) < MINUTE, 'the admin session expires in 15 minutes in the database');
    assert.ok(Math.abs(expiryIn(publicDocs[0]!) - 14 * DAY) < MINUTE, 'the public one in 14 days');
  });

  it("a store's bulk operations see its own sessions only, with promises and callbacks", async () => {
    const browser = new Browser();
    await browser.get(`${server.url}/login`);
    await browser.get(`${server.url}/admin/login`);
    assert.equal(await admin.countSessions({ role: 'root' }), 2);
    assert.equal(await MongoSess.countSessions({ role: 'root' }), 0);
    assert.equal(await MongoSess.countSessions({ user: 'ann' }), 2);
    const listed = await new Promise((resolve, reject) =>
      admin.listSessions({ role: 'root' }, { limit: 1 }, (err, list) => (err ? reject(err) : resolve(list))),
    );
    assert.equal((listed as unknown[]).length, 1);
    await assert.rejects(admin.listSessions({}, { limit: 0 }), /listSessions limit must be a positive integer/);

    assert.equal(await admin.endAll({ role: 'root' }), 2);
    const after = (await browser.get(`${server.url}/admin/both`)).json();
    assert.equal(after.role, null, 'the admin session is ended');
    assert.equal(after.user, 'ann', 'the public session is not');
  });

  it('two stores under one cookie name on one request are refused, saying to give each its own', async () => {
    const reply = await new Browser().get(`${server.url}/clash`);
    assert.equal(reply.status, 409, reply.body);
    assert.match(reply.body, /^MongoSessConfigError: mongosess: two stores give this request a session under the cookie name "sess"/);
    assert.match(reply.body, /cookieName of their own/);
  });

  it("a store's close() leaves the other stores connected; connect() works again", async () => {
    const browser = new Browser();
    assert.equal(await admin.close(), true);
    assert.equal(admin.isConnected(), false);
    assert.equal(MongoSess.isConnected(), true);
    assert.equal(await admin.close(), false, 'nothing left to close');
    assert.equal((await browser.get(`${server.url}/login`)).status, 200, 'public sessions still work');
    assert.equal(
      (await browser.get(`${server.url}/admin/login`)).status,
      503,
      'admin sessions need their store (MongoSessNotConnectedError: 503)',
    );
    await assert.rejects(admin.countSessions({}), (err: Error) => {
      assert.ok(err instanceof MongoSessNotConnectedError);
      assert.match(err.message, /Call connect\(\) on this MongoSessStore/);
      return true;
    });

    await new Promise<void>((resolve, reject) => admin.connect((err) => (err ? reject(err) : resolve())));
    assert.equal(admin.isConnected(), true);
    assert.equal((await browser.get(`${server.url}/admin/login`)).status, 200);

    // And the other way round: closing MongoSess leaves the store connected.
    await closeDefault();
    assert.equal(admin.isConnected(), true);
    assert.equal(await admin.countSessions({ role: 'root' }), 1);
    await fixture.reconnect();
  });

  it('a store checks its options when made, and takes none in connect()', async () => {
    assert.throws(() => new MongoSessStore({ expires: -5 }), {
      name: 'MongoSessConfigError',
      message: 'mongosess: expires must be a positive number of ms, got: -5',
    });
    assert.throws(() => new MongoSessStore({ uri: 'mongodb://127.0.0.1/', client }), /only one of uri, servers and client/);
    const store = new MongoSessStore(quiet);
    // As plain JavaScript would call it: the types have no such overload.
    await assert.rejects(Reflect.apply(store.connect, store, [{ db: 'x' }]), /takes its options in its constructor/);
    assert.throws(() => store.session({} as never, {} as never), MongoSessNotConnectedError);
    assert.equal(store.isConnected(), false);
  });

  it('the options a store was made with are the ones it connects with', async () => {
    const options: { collection: string } & typeof quiet = { ...quiet, collection: 'copied' };
    const store = new MongoSessStore(options);
    options.collection = 'changed_later';
    await store.connect();
    try {
      const names = (await client.db(db).listCollections().toArray()).map((c) => c.name);
      assert.ok(names.includes('copied'), names.join());
      assert.ok(!names.includes('changed_later'), names.join());
    } finally {
      await store.close();
    }
  });
});

describe('Koa with two stores', () => {
  let server: TestServer;

  before(async () => {
    const app = new Koa();
    app.silent = true;
    app.use(koaSession({ keys }));
    app.use(koaSession({ keys })); // the same store's middleware again, as a router of its own would add it
    app.use(koaSession({ store: admin, cookieName: 'admin', keys }));
    app.use(async (ctx) => {
      const publicSession = MongoSess(ctx.req, ctx.res);
      if (ctx.path === '/login-both-then-forbidden') {
        await publicSession.set({ user: 'ann' });
        await publicSession.regenerate();
        await ctx.session.set({ role: 'root' });
        await ctx.session.regenerate();
        ctx.cookies.set('theme', 'dark');
        ctx.throw(403, 'forbidden after login');
      }
      ctx.body = { role: (await ctx.session.get('role')) ?? null, user: (await publicSession.get('user')) ?? null };
    });
    server = await serve(app.callback());
  });

  after(() => server.close());

  it("an error keeps each store's new cookies, once each, and no other Set-Cookie", async () => {
    const browser = new Browser();
    const reply = await browser.get(`${server.url}/login-both-then-forbidden`);
    assert.equal(reply.status, 403);
    const names = reply.setCookie.map((line) => parseSetCookie(line).name).sort();
    assert.deepEqual(names, ['admin', 'admin.sig', 'sess', 'sess.sig'], JSON.stringify(reply.setCookie));
    assert.deepEqual((await browser.get(`${server.url}/`)).json(), { role: 'root', user: 'ann' });
  });
});

describe('MongoSess.connect() again for another database or collection', () => {
  before(closeDefault);
  after(() => fixture.reconnect());

  it('is an error that says to use a MongoSessStore; other changes still only warn', async () => {
    const heard: string[] = [];
    const options = { ...quiet, warn: (message: string) => void heard.push(message) };
    const first = MongoSess.connect(options);
    const whileConnecting = assert.rejects(MongoSess.connect({ ...options, collection: 'admin_sessions' }), (err: Error) => {
      assert.ok(err instanceof MongoSessConfigError);
      assert.match(
        err.message,
        /connect\(\) was called again while connected \(or connecting\) to \S+\.sessions, now for \S+\.admin_sessions/,
      );
      assert.match(err.message, /new MongoSessStore\(/);
      return true;
    });
    await first;
    await whileConnecting;
    await assert.rejects(MongoSess.connect({ ...options, db: uniqueDbName('other') }), /MongoSess keeps one store/);
    const viaCallback = await new Promise<Error | null>((resolve) =>
      MongoSess.connect({ ...options, collection: 'other' }, (err) => resolve(err)),
    );
    assert.ok(viaCallback instanceof MongoSessConfigError, 'through the callback too');
    assert.equal(MongoSess.isConnected(), true, 'the connection stays');

    // `collection: 'sessions'` names the same collection as leaving it out: only a warning.
    await MongoSess.connect({ ...options, collection: 'sessions', expires: HOUR });
    const again = heard.filter((m) => m.includes('called again'));
    assert.deepEqual(again, [
      'mongosess: connect() was called again while connected (or connecting) with different collection, expires; ' +
        'the new options are ignored. Call MongoSess.close() first to connect with other options.',
    ]);
  });
});

describe('the warning about a server without atomic updates, with stores', () => {
  it("reaches each store's own warn once, and the default warn once for all the stores that use it", async () => {
    const info = await client.db('admin').command({ buildInfo: 1 });
    const expected = typeof info['ferretdbVersion'] === 'string' && /^v?1\./.test(info['ferretdbVersion']) ? 1 : 0;
    const atomically = (messages: string[]) => messages.filter((m) => m.includes('atomically')).length;
    const base = { client, db, autoRemove: 'disabled' } as const;

    const heardA: string[] = [];
    const heardB: string[] = [];
    const a = new MongoSessStore({ ...base, collection: 'warn_a', warn: (m) => void heardA.push(m) });
    const b = new MongoSessStore({ ...base, collection: 'warn_b', warn: (m) => void heardB.push(m) });
    for (let i = 0; i < 2; i++) {
      await a.connect();
      await b.connect();
      await a.close();
      await b.close();
    }
    assert.equal(atomically(heardA), expected, 'store a hears it once, over two connects');
    assert.equal(atomically(heardB), expected, 'store b hears it too, once');

    const processWarnings: string[] = [];
    const listener = (warning: Error) => void processWarnings.push(warning.message);
    process.on('warning', listener);
    try {
      for (const collection of ['warn_c', 'warn_d']) {
        const store = new MongoSessStore({ ...base, collection });
        await store.connect();
        await store.close();
      }
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    assert.equal(atomically(processWarnings), expected, 'one process warning for two stores with the default warn');
  });
});
