// The HTTP exchange port beyond node:http: mongosess/fetch in a real Hono app on @hono/node-server
// and in plain `(request: Request) => Response` handlers as Next.js route handlers are written;
// read-only sessions of WebSocket upgrade requests (ws); and session ids carried in a header, for
// clients that keep no cookies. A cookie-keeping client, the real driver and the real database.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve as serveFetch } from '@hono/node-server';
import { Hono } from 'hono';
import { WebSocket, WebSocketServer } from 'ws';
import { fetchSession, honoSession, withSession, type FetchSessionOptions } from '../../src/fetch.js';
import { type MongoSessReadOnlyError, MongoSessStore, type Session, type SessionOptions } from '../../src/index.js';
import { staleCookieIsNewVisitor, roundTrip } from '../helpers/framework-scenarios.js';
import { Browser, parseSetCookie, rawRequest } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const HOUR = 3_600_000;
const keys = ['fetch test key'];
const fixture = sessionFixture('fetch');
const { client, db } = fixture;
const store = new MongoSessStore({
  client,
  db,
  collection: 'fetch_sessions',
  autoRemove: 'interval',
  autoRemoveInterval: HOUR,
  warn: () => undefined,
});
/** A store that records where sessions came from. */
const devices = new MongoSessStore({
  client,
  db,
  collection: 'device_sessions',
  recordClient: true,
  autoRemove: 'interval',
  autoRemoveInterval: HOUR,
  warn: () => undefined,
});

interface Served {
  url: string;
  close(): Promise<void>;
}

/** A Fetch handler on @hono/node-server, on a free loopback port. */
function serveHandler(fetch: (request: Request) => Response | Promise<Response>): Promise<Served> {
  return new Promise((resolve) => {
    const server = serveFetch({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** The framework scenarios' routes (/set, /name, /del, /end) and /regenerate, as a Hono app. */
function honoApp(options: FetchSessionOptions): Hono<{ Variables: { session: Session } }> {
  const app = new Hono<{ Variables: { session: Session } }>();
  app.use(honoSession(options));
  app.get('/set', async (c) => {
    await c.get('session').set({ name: c.req.query('name') });
    return c.text('ok');
  });
  app.get('/name', async (c) => c.text(String((await c.get('session').get('name')) ?? 'none')));
  app.get('/del', async (c) => {
    await c.get('session').del('name');
    return c.text('ok');
  });
  app.get('/end', async (c) => {
    await c.get('session').end();
    return c.text('ok');
  });
  app.get('/regenerate', async (c) => {
    await c.get('session').regenerate();
    return c.text('ok');
  });
  return app;
}

/** The same routes as one Next.js-style route handler: Request in, Response out. */
function routeHandler(options: FetchSessionOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const session = fetchSession(request, options);
    const url = new URL(request.url);
    let body = 'ok';
    switch (url.pathname) {
      case '/set':
        await session.set({ name: url.searchParams.get('name') });
        break;
      case '/name':
        body = String((await session.get('name')) ?? 'none');
        break;
      case '/del':
        await session.del('name');
        break;
      case '/end':
        await session.end();
        break;
      case '/regenerate':
        await session.regenerate();
        break;
      case '/redirect':
        await session.set({ name: 'redirected' });
        return withSession(session, Response.redirect(`${url.origin}/name`, 303));
      case '/twice': {
        // withSession() on a Response that already went through it (a helper and a wrapper each call it).
        await session.set({ name: 'twice' });
        return withSession(session, withSession(session, new Response('twice')));
      }
      case '/late': {
        // A new visitor's first write after the Response was built: refused, and said why.
        const response = withSession(session, new Response('built'));
        const refused = await session.set({ name: 'late' }).then(
          () => 'written',
          (err: Error) => `${err.name}: ${err.message}`,
        );
        return new Response(refused, { headers: response.headers });
      }
      default:
        return new Response('not found', { status: 404 });
    }
    return withSession(session, new Response(body));
  };
}

/** Regenerate moves the session to a new id: the data stays, the old cookie is dead. */
async function regenerates(url: string): Promise<void> {
  const browser = new Browser();
  await browser.get(`${url}/set?name=Ann`);
  const old = await browser.jar.getCookieString(url);
  const oldSid = await browser.cookie(url, 'sess');
  assert.equal((await browser.get(`${url}/regenerate`)).body, 'ok');
  const sid = await browser.cookie(url, 'sess');
  assert.ok(sid && sid !== oldSid, 'a new session cookie');
  assert.equal((await browser.get(`${url}/name`)).body, 'Ann', 'the data moved with it');
  assert.equal((await rawRequest(`${url}/name`, { cookie: old })).body, 'none', 'the old cookie finds nothing');
}

/** With keys, the cookie is signed; a forged signature is a new visitor. */
async function signs(url: string): Promise<void> {
  const browser = new Browser();
  const first = await browser.get(`${url}/set?name=Ann`);
  const names = first.setCookie.map((line) => parseSetCookie(line).name);
  assert.deepEqual(names.sort(), ['sess', 'sess.sig']);
  const sid = await browser.cookie(url, 'sess');
  assert.equal((await rawRequest(`${url}/name`, { cookie: `sess=${sid}; sess.sig=forged` })).body, 'none');
  assert.equal((await rawRequest(`${url}/name`, { cookie: `sess=${sid}` })).body, 'none', 'no signature, no session');
  assert.equal((await browser.get(`${url}/name`)).body, 'Ann');
}

/** A new visitor gets its cookie on first contact (as mongosess 0.4 did), with the usual attributes. */
async function newVisitor(url: string): Promise<void> {
  const reply = await rawRequest(`${url}/name`);
  assert.equal(reply.body, 'none');
  const cookie = reply.setCookie.map(parseSetCookie).find((line) => line.name === 'sess');
  assert.ok(cookie, `a session cookie in ${JSON.stringify(reply.setCookie)}`);
  assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(cookie.attrs['httponly'], true);
  assert.equal(cookie.attrs['samesite'], 'lax');
  assert.equal(cookie.attrs['path'], '/');
}

before(async () => {
  await fixture.start();
  await store.connect();
  await devices.connect();
});
after(async () => {
  await store.close();
  await devices.close();
  await fixture.stop();
});

for (const [name, build] of [
  ['a Hono app (honoSession)', (options: FetchSessionOptions) => honoApp(options).fetch],
  ['a Next.js-style route handler (fetchSession, withSession)', routeHandler],
] as const) {
  describe(name, () => {
    let served: Served;
    before(async () => {
      served = await serveHandler(build({ store, keys }));
    });
    after(() => served.close());

    it('sends a new visitor its cookie', () => newVisitor(served.url));
    it('stores, reads, deletes and ends a session, keeping cookies like a browser', () => roundTrip(served.url));
    it('signs the cookie with keys, and a forged signature is a new visitor', () => signs(served.url));
    it('regenerate() moves the session to a new id', () => regenerates(served.url));
    it('a cookie whose session ended elsewhere is a new visitor', () => staleCookieIsNewVisitor(served.url));
  });
}

describe('withSession', () => {
  let served: Served;
  before(async () => {
    served = await serveHandler(routeHandler({ store, keys, cookieOnFirstWrite: true }));
  });
  after(() => served.close());

  it('copies a Response whose headers cannot change (Response.redirect) to add the cookie', async () => {
    const browser = new Browser();
    const reply = await browser.get(`${served.url}/redirect`);
    assert.equal(reply.status, 303);
    assert.equal((await browser.get(`${served.url}/name`)).body, 'redirected');
  });

  it('adds each cookie line once, however often withSession() is applied to the Response', async () => {
    const reply = await rawRequest(`${served.url}/twice`);
    assert.equal(reply.status, 200);
    const names = reply.setCookie.map((line) => line.split('=', 1)[0]);
    assert.ok(names.length > 0, 'a cookie was set');
    assert.deepEqual(names, [...new Set(names)], `each cookie once: ${names.join(', ')}`);
  });

  it('refuses a write that needs a new cookie once the Response is built, and says why', async () => {
    const reply = await rawRequest(`${served.url}/late`);
    assert.match(reply.body, /^MongoSessError: mongosess: this write needs a new session cookie/);
    assert.match(reply.body, /Response was already built/);
    assert.deepEqual(reply.setCookie, [], 'no cookie for a session never stored');
  });

  it('responseHeaders() of a node session is an error that names the Fetch API', async () => {
    const server = createServer((req, res) => {
      try {
        store.session(req, res).responseHeaders();
        res.end('no error');
      } catch (err) {
        res.end((err as Error).message);
      }
    });
    const url = await listen(server);
    try {
      assert.match((await rawRequest(url)).body, /responseHeaders\(\) is for sessions of store\.fetchSession\(request\)/);
    } finally {
      server.close();
    }
  });

  it('records the user agent from the headers, and the address only as the caller gives it', async () => {
    const options = { store: devices };
    const withIp = fetchSession(new Request('http://127.0.0.1/', { headers: { 'user-agent': 'UA 1' } }), options, { ip: '203.0.113.9' });
    await withIp.set({ userId: 1 });
    const without = fetchSession(new Request('http://127.0.0.1/', { headers: { 'user-agent': 'UA 2' } }), options);
    await without.set({ userId: 2 });
    const [first] = await devices.listSessions({ userId: 1 });
    const [second] = await devices.listSessions({ userId: 2 });
    assert.deepEqual(first?.client, { userAgent: 'UA 1', ip: '203.0.113.9' });
    assert.deepEqual(second?.client, { userAgent: 'UA 2' });
  });
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

describe('WebSockets: the read-only session of an upgrade request (ws)', () => {
  let server: Server;
  let sockets: WebSocketServer;
  let url: string;
  before(async () => {
    server = createServer(async (req, res) => {
      const session = store.session(req, res, { keys });
      await session.set({ name: 'Ann' });
      res.end('ok');
    });
    sockets = new WebSocketServer({ server });
    sockets.on('connection', async (socket, req) => {
      const session = store.upgradeSession(req, { keys });
      const reply: Record<string, unknown> = {
        name: (await session.get('name')) ?? null,
        same: session === store.upgradeSession(req, { keys }),
      };
      for (const [operation, write] of [
        ['set', () => session.set({ name: 'Bob' })],
        ['del', () => session.del('name')],
        ['end', () => session.end()],
        ['regenerate', () => session.regenerate()],
      ] as const) {
        reply[operation] = await write().then(
          () => 'written',
          (err: Error) => ({ name: err.name, status: (err as MongoSessReadOnlyError).status, message: err.message }),
        );
      }
      reply['headers'] = session.responseHeaders();
      socket.send(JSON.stringify(reply));
      socket.close();
    });
    url = await listen(server);
  });
  after(async () => {
    for (const socket of sockets.clients) socket.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  function socketReply(cookie: string): Promise<Record<string, any>> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url.replace('http', 'ws'), { headers: cookie ? { cookie } : {} });
      socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())));
      socket.once('error', reject);
    });
  }

  it('get() reads the session an HTTP request stored; every write is refused with a MongoSessReadOnlyError', async () => {
    const browser = new Browser();
    await browser.get(`${url}/`);
    const reply = await socketReply(await browser.jar.getCookieString(url));
    assert.equal(reply['name'], 'Ann');
    assert.equal(reply['same'], true, 'one session per upgrade request');
    for (const operation of ['set', 'del', 'end', 'regenerate']) {
      assert.equal(reply[operation].name, 'MongoSessReadOnlyError', operation);
      assert.match(reply[operation].message, /HTTP upgrade request .* read-only .* write to the session in an ordinary HTTP request/);
    }
    assert.deepEqual(reply['headers'], []);
    assert.equal((await browser.get(`${url}/`)).body, 'ok');
  });

  it('an upgrade without a cookie reads an empty session', async () => {
    const reply = await socketReply('');
    assert.equal(reply['name'], null);
    assert.equal(reply['set'].name, 'MongoSessReadOnlyError');
  });
});

describe('session ids in a header (header option), for clients that keep no cookies', () => {
  const headerOptions: SessionOptions = { keys, header: 'x-session-id' };
  let node: Server;
  let nodeUrl: string;
  let fetchServed: Served;

  /** /set?name=N, /name, /end, /regenerate on one session, answering JSON. */
  async function act(session: Session, path: string, query: URLSearchParams): Promise<unknown> {
    if (path === '/set') await session.set({ name: query.get('name') });
    if (path === '/end') await session.end();
    if (path === '/regenerate') await session.regenerate();
    return { name: (await session.get('name').catch(() => null)) ?? null };
  }

  before(async () => {
    node = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const session = store.session(req, res, headerOptions);
      const body = JSON.stringify(await act(session, url.pathname, url.searchParams));
      res.end(body);
    });
    nodeUrl = await listen(node);
    const options = { store, ...headerOptions };
    fetchServed = await serveHandler(async (request) => {
      const url = new URL(request.url);
      const session = fetchSession(request, options);
      return withSession(session, Response.json(await act(session, url.pathname, url.searchParams)));
    });
  });
  after(async () => {
    await new Promise((resolve) => node.close(resolve));
    await fetchServed.close();
  });

  for (const runtime of ['node', 'fetch'] as const) {
    it(`${runtime}: the id goes out in the response header, signed, and comes back in the request header`, async () => {
      const url = runtime === 'node' ? nodeUrl : fetchServed.url;
      // fetch() keeps no cookies: only the header carries the session.
      const first = await fetch(`${url}/set?name=Ann`);
      assert.equal(first.headers.get('set-cookie'), null, 'no cookie is set');
      const id = first.headers.get('x-session-id');
      assert.match(id ?? '', /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+$/, 'id.signature');
      const read = (headers: Record<string, string>) => fetch(`${url}/name`, { headers }).then((r) => r.json());
      assert.deepEqual(await read({ 'x-session-id': id! }), { name: 'Ann' });
      assert.deepEqual(await read({}), { name: null }, 'without the header: a new visitor');
      assert.deepEqual(await read({ 'x-session-id': `${id!.split('.')[0]}.forged` }), { name: null }, 'a forged signature');
      assert.deepEqual(await read({ 'x-session-id': id!.split('.')[0]! }), { name: null }, 'an unsigned id');
      assert.deepEqual(await read({ cookie: `sess=${id!.split('.')[0]}` }), { name: null }, 'the cookie is not read');

      const moved = await fetch(`${url}/regenerate`, { headers: { 'x-session-id': id! } });
      const next = moved.headers.get('x-session-id');
      assert.ok(next && next !== id, 'regenerate() sends the new id');
      assert.deepEqual(await read({ 'x-session-id': next }), { name: 'Ann' });
      assert.deepEqual(await read({ 'x-session-id': id! }), { name: null }, 'the old id is dead');

      const ended = await fetch(`${url}/end`, { headers: { 'x-session-id': next } });
      assert.equal(ended.headers.get('x-session-id'), '', 'end() sends the header empty');
      assert.deepEqual(await read({ 'x-session-id': next }), { name: null });
    });
  }
});
