// The mongosess 0.4 API on the current driver, through real http servers and a cookie-keeping client.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import MongoSess, {
  CompatPromise,
  MongoSessConfigError,
  MongoSessDatabaseError,
  MongoSessNotConnectedError,
  type SessionOptions,
} from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { Browser, parseSetCookie, rawRequest, send, serve, type TestServer } from '../helpers/http.js';

const DAY = 24 * 60 * 60 * 1000;
const db = uniqueDbName('core');

/** An http server whose routes drive one session each, in the style of an app using mongosess. */
async function appServer(options: SessionOptions = {}): Promise<TestServer> {
  return serve(async (req: IncomingMessage, res: ServerResponse) => {
    const session = new MongoSess(req, res, options);
    const url = new URL(req.url ?? '/', 'http://x');
    const q = Object.fromEntries(url.searchParams);
    switch (url.pathname) {
      case '/sid':
        return send(res, session.sid);
      case '/get':
        return send(res, await session.get());
      case '/get-key':
        return send(res, (await session.get(q['key'] ?? '')) ?? null);
      case '/set':
        await session.set(JSON.parse(q['data'] ?? '{}'));
        return send(res, await session.get());
      case '/del':
        await session.del(...(q['keys'] ?? '').split(','));
        return send(res, await session.get());
      case '/end':
        return send(res, await session.end());
      case '/expire':
        session.expire();
        return send(res, true);
      default:
        return send(res, 'not found', 404);
    }
  });
}

function q(data: unknown): string {
  return encodeURIComponent(JSON.stringify(data));
}

describe('before connect', () => {
  it('the constructor throws synchronously, with the old message', async () => {
    const server = await serve((req, res) => {
      assert.throws(
        () => new MongoSess(req, res),
        (err: unknown) =>
          err instanceof MongoSessNotConnectedError && /You must be connected to MongoDB to use MongoSess/.test(err.message),
      );
      send(res, 'ok');
    });
    try {
      assert.equal((await rawRequest(server.url)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('close() without a connection returns false', () => {
    assert.equal(MongoSess.close(), false);
    assert.equal(MongoSess.disconnect, MongoSess.close);
  });

  it('a connect failure (closed port) reaches the callback within the timeout, no crash', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const err = await new Promise<Error | null>((resolve) => {
      const returned = MongoSess.connect({ uri: `mongodb://127.0.0.1:${port}/`, db, operationTimeout: 500 }, resolve);
      assert.equal(returned, undefined, 'with a callback, connect returns nothing');
    });
    assert.ok(err instanceof MongoSessDatabaseError, `got ${String(err)}`);
    assert.match(err.message, /^mongosess: connecting to MongoDB failed/);
    assert.ok(err.cause instanceof Error, 'the driver error is the cause');
    assert.ok(Date.now() - started < 5000, 'bounded by operationTimeout, not the driver default of 30 s');
    assert.equal(MongoSess.isConnected(), false);

    await assert.rejects(MongoSess.connect({ uri: `mongodb://127.0.0.1:${port}/`, operationTimeout: 300 }), MongoSessDatabaseError);
  });

  it('bad connect options are rejected with a message that says how to fix them', async () => {
    await assert.rejects(MongoSess.connect({ uri: MONGODB_URI, expires: -5 }), {
      name: 'MongoSessConfigError',
      message: 'mongosess: expires must be a positive number of ms, got: -5',
    });
    await assert.rejects(MongoSess.connect({ uri: MONGODB_URI, expire: 5 } as never), /unknown connect option "expire"/);
    await assert.rejects(MongoSess.connect({ uri: MONGODB_URI, client: {} as never }), MongoSessConfigError);
    await assert.rejects(MongoSess.connect({ uri: MONGODB_URI, servers: [{ host: 'h' }] }), /only one of uri, servers and client/);
    await assert.rejects(MongoSess.connect({ uri: 'mongodb://127.0.0.1:notaport/' }), {
      name: 'MongoSessConfigError',
      message: /^mongosess: the driver refused uri or clientOptions/,
    });
  });

  it('a lone callback is the callback: endAll(cb) and countSessions(cb) report there, never as a stray rejection', async () => {
    for (const call of [MongoSess.endAll, MongoSess.countSessions] as unknown as ((cb: (err: Error | null) => void) => unknown)[]) {
      const err = await new Promise<Error | null>((resolve) => assert.equal(call(resolve), undefined));
      assert.ok(err instanceof MongoSessNotConnectedError);
    }
  });
});

describe('connected', () => {
  let app: TestServer;

  before(async () => {
    await new Promise<void>((resolve, reject) =>
      MongoSess.connect({ uri: MONGODB_URI, db, autoRemove: 'interval' }, (err) => (err ? reject(err) : resolve())),
    );
    app = await appServer();
  });

  after(async () => {
    await app.close();
    await new Promise((resolve) => MongoSess.close(resolve));
  });

  it('connect while connected just calls back (also as connect(callback))', async () => {
    await new Promise<void>((resolve, reject) => MongoSess.connect({ uri: MONGODB_URI, db }, (err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => MongoSess.connect((err) => (err ? reject(err) : resolve())));
    assert.equal(MongoSess.isConnected(), true);
  });

  it('works with and without `new`', async () => {
    const server = await serve((req, res) => {
      const a = new MongoSess(req, res);
      const b = MongoSess(req, res);
      send(res, [a instanceof MongoSess, b instanceof MongoSess, typeof a.set, typeof b.get]);
    });
    try {
      assert.deepEqual((await rawRequest(server.url)).json(), [true, true, 'function', 'function']);
    } finally {
      await server.close();
    }
  });

  it('a new visitor gets a random id cookie in the first response, with safe attributes and a 14-day expiry', async () => {
    const before = Date.now();
    const reply = await rawRequest(`${app.url}/sid`);
    const cookies = reply.setCookie.map(parseSetCookie);
    assert.equal(cookies.length, 1);
    const [cookie] = cookies;
    assert.ok(cookie);
    assert.equal(cookie.name, 'sess');
    assert.equal(cookie.value, reply.json());
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    assert.equal(cookie.attrs['path'], '/');
    assert.equal(cookie.attrs['httponly'], true);
    assert.equal(cookie.attrs['samesite'], 'lax');
    assert.equal(cookie.attrs['secure'], undefined, 'plain http: no Secure');
    const expires = Date.parse(String(cookie.attrs['expires']));
    assert.ok(Math.abs(expires - (before + 14 * DAY)) < 5000, `expires ${String(cookie.attrs['expires'])}`);
  });

  it('get() of a session with nothing stored yields { _id: sid }, and get("_id") the id in the cookie', async () => {
    const browser = new Browser();
    const sid = (await browser.get(`${app.url}/sid`)).json();
    assert.equal(await browser.cookie(app.url, 'sess'), sid);
    assert.deepEqual((await browser.get(`${app.url}/get`)).json(), { _id: sid });
    assert.equal((await browser.get(`${app.url}/get-key?key=_id`)).json(), sid);
  });

  it('set, get and del across requests, keeping the same session', async () => {
    const browser = new Browser();
    const sid = (await browser.get(`${app.url}/sid`)).json();
    const afterSet = (await browser.get(`${app.url}/set?data=${q({ name: 'Ann', n: 1, nested: { a: [1, 2] } })}`)).json();
    assert.equal(afterSet._id, sid);
    assert.equal(afterSet.name, 'Ann');
    assert.ok(typeof afterSet.createdAt === 'string', 'createdAt is set on insert');
    await browser.get(`${app.url}/set?data=${q({ n: 2 })}`);
    const all = (await browser.get(`${app.url}/get`)).json();
    assert.deepEqual({ ...all, createdAt: undefined }, { _id: sid, name: 'Ann', n: 2, nested: { a: [1, 2] }, createdAt: undefined });
    assert.equal((await browser.get(`${app.url}/get-key?key=name`)).json(), 'Ann');
    assert.equal((await browser.get(`${app.url}/get-key?key=missing`)).json(), null);
    const afterDel = (await browser.get(`${app.url}/del?keys=name,n`)).json();
    assert.deepEqual(Object.keys(afterDel).sort(), ['_id', 'createdAt', 'nested']);
  });

  it('dotted keys are paths into nested data, updated atomically', async () => {
    const browser = new Browser();
    await browser.get(`${app.url}/set?data=${q({ user: { name: 'Ann', role: 'user' } })}`);
    await browser.get(`${app.url}/set?data=${q({ 'user.role': 'admin' })}`);
    assert.deepEqual((await browser.get(`${app.url}/get-key?key=user`)).json(), { name: 'Ann', role: 'admin' });
    assert.equal((await browser.get(`${app.url}/get-key?key=user.role`)).json(), 'admin');
    await browser.get(`${app.url}/del?keys=user.role`);
    assert.deepEqual((await browser.get(`${app.url}/get-key?key=user`)).json(), { name: 'Ann' });
  });

  it('every method works with callbacks, called once on a fresh tick', async () => {
    const server = await serve((req, res) => {
      const session = new MongoSess(req, res);
      const log: unknown[] = [];
      let sync = true;
      session.set({ a: 1, b: 2 }, (err, ok) => {
        log.push(['set', err, ok, sync]);
        session.get((err, all) => {
          log.push(['get', err, (all as Record<string, unknown>)['a']]);
          session.get('b', (err, b) => {
            log.push(['get b', err, b]);
            session.del('a', 'b', (err, ok) => {
              log.push(['del', err, ok]);
              session.get((err, all) => {
                log.push(['after del', err, Object.keys(all ?? {}).sort()]);
                session.end((err, ok) => {
                  log.push(['end', err, ok]);
                  send(res, log);
                });
              });
            });
          });
        });
      });
      sync = false;
    });
    try {
      assert.deepEqual((await rawRequest(server.url)).json(), [
        ['set', null, true, false],
        ['get', null, 1],
        ['get b', null, 2],
        ['del', null, true],
        ['after del', null, ['_id', 'createdAt']],
        ['end', null, true],
      ]);
    } finally {
      await server.close();
    }
  });

  it('without a callback, methods return native promises with .done() and .nodeify(), kept by .then()', async () => {
    const server = await serve(async (req, res) => {
      const session = new MongoSess(req, res);
      const p = session.set({ x: 1 });
      assert.ok(p instanceof Promise && p instanceof CompatPromise);
      const derived = p!.then(() => 'derived');
      assert.equal(typeof derived.done, 'function');
      assert.equal(typeof derived.nodeify, 'function');
      const doneValue = await new Promise((resolve) => session.get('x')!.done(resolve));
      const nodeified = await new Promise((resolve) => session.get('x')!.nodeify((err, v) => resolve([err, v])));
      const failure = await new Promise((resolve) => session.set(null as never)!.nodeify((err) => resolve(err?.name)));
      send(res, [await derived, doneValue, nodeified, failure]);
    });
    try {
      assert.deepEqual((await rawRequest(server.url)).json(), ['derived', 1, [null, 1], 'MongoSessValidationError']);
    } finally {
      await server.close();
    }
  });

  it('.done() rethrows an unhandled failure on a later tick', async () => {
    const server = await serve(async (req, res) => {
      const session = new MongoSess(req, res);
      const seen = new Promise<unknown>((resolve) => {
        const listeners = process.listeners('uncaughtException');
        process.removeAllListeners('uncaughtException');
        process.once('uncaughtException', (err) => {
          for (const l of listeners) process.on('uncaughtException', l);
          resolve(err);
        });
      });
      session.set({ _id: 'x' })!.done();
      const err = (await seen) as Error;
      send(res, [err.name, err.message]);
    });
    try {
      assert.deepEqual((await rawRequest(server.url)).json(), ['MongoSessValidationError', 'mongosess: Cannot modify _id field.']);
    } finally {
      await server.close();
    }
  });

  it('bad arguments are errors through the callback or promise, never a throw', async () => {
    const server = await serve(async (req, res) => {
      const session = new MongoSess(req, res);
      const results: unknown[] = [];
      for (const bad of [null, 'str', 42, [1], { _id: 'x' }]) {
        results.push(
          await session.set(bad as never)!.then(
            () => 'ok',
            (e: Error) => [e.name, e.message],
          ),
        );
      }
      results.push(
        await session.del('_id')!.then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      );
      results.push(
        await session.get(42 as unknown as string).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      );
      results.push(await new Promise((resolve) => session.set(null as never, (err) => resolve(err?.name))));
      send(res, results);
    });
    try {
      const results = (await rawRequest(server.url)).json();
      assert.deepEqual(
        results.slice(0, 4).map((r: string[]) => r[0]),
        Array(4).fill('MongoSessValidationError'),
      );
      assert.deepEqual(results[4], ['MongoSessValidationError', 'mongosess: Cannot modify _id field.']);
      assert.equal(results[5], 'mongosess: Cannot modify _id field.');
      assert.equal(results[6], 'MongoSessValidationError');
      assert.equal(results[7], 'MongoSessValidationError');
    } finally {
      await server.close();
    }
  });

  it('end() deletes the session and clears the cookie; the next request is a fresh session', async () => {
    const browser = new Browser();
    const sid = (await browser.get(`${app.url}/set?data=${q({ name: 'Ann' })}`)).json()._id;
    const reply = await browser.get(`${app.url}/end`);
    assert.equal(reply.json(), true);
    const cleared = reply.setCookie.map(parseSetCookie).find((c) => c.name === 'sess');
    assert.ok(cleared);
    assert.equal(cleared.value, '');
    assert.equal(Date.parse(String(cleared.attrs['expires'])), 0, 'expires at the epoch');
    const next = (await browser.get(`${app.url}/get`)).json();
    assert.notEqual(next._id, sid);
    assert.deepEqual(next, { _id: next._id });
  });

  it('expire() turns the cookie into a browser-session cookie', async () => {
    const reply = await rawRequest(`${app.url}/expire`);
    const cookie = reply.setCookie.map(parseSetCookie).find((c) => c.name === 'sess');
    assert.ok(cookie);
    assert.equal(cookie.attrs['expires'], undefined);
    assert.equal(cookie.attrs['max-age'], undefined);
  });

  it('expires: 0 gives a browser-session cookie; another expires gives that lifetime', async () => {
    for (const [expires, expected] of [
      [0, undefined],
      [60_000, 60_000],
    ] as const) {
      const server = await appServer({ expires });
      try {
        const cookie = (await rawRequest(`${server.url}/sid`)).setCookie.map(parseSetCookie)[0];
        assert.ok(cookie);
        if (expected === undefined) assert.equal(cookie.attrs['expires'], undefined);
        else assert.ok(Math.abs(Date.parse(String(cookie.attrs['expires'])) - Date.now() - expected) < 5000);
      } finally {
        await server.close();
      }
    }
  });

  it('with keys the cookie is signed in <name>.sig; a bad signature means a new session', async () => {
    const signed = await appServer({ keys: ['k1'], cookieName: 'app' });
    try {
      const browser = new Browser();
      const first = await browser.get(`${signed.url}/set?data=${q({ v: 1 })}`);
      const names = first.setCookie.map(parseSetCookie).map((c) => c.name);
      assert.deepEqual(names.sort(), ['app', 'app.sig']);
      const sid = first.json()._id;
      assert.equal((await browser.get(`${signed.url}/get`)).json().v, 1, 'a good signature keeps the session');

      const sig = await browser.cookie(signed.url, 'app.sig');
      const tampered = await rawRequest(`${signed.url}/get`, { cookie: `app=${sid}; app.sig=${sig}x` });
      assert.notEqual(tampered.json()._id, sid);
      assert.equal(tampered.json().v, undefined);
      const unsigned = await rawRequest(`${signed.url}/get`, { cookie: `app=${sid}` });
      assert.notEqual(unsigned.json()._id, sid);
      const end = await browser.get(`${signed.url}/end`);
      const cleared = end.setCookie.map(parseSetCookie);
      assert.deepEqual(cleared.map((c) => c.name).sort(), ['app', 'app.sig'], 'the cleared cookie is signed the same way');
    } finally {
      await signed.close();
    }
  });

  it('bad session options throw a MongoSessConfigError that names the option', async () => {
    const server = await serve((req, res) => {
      const messages = [{ cookieName: 'a b' }, { keys: [] }, { path: '/;x' }, { expires: -1 }, { sameSite: 'loose' }].map((options) => {
        try {
          new MongoSess(req, res, options as never);
          return 'no error';
        } catch (err) {
          return err instanceof MongoSessConfigError ? err.message : String(err);
        }
      });
      send(res, messages);
    });
    try {
      const messages: string[] = (await rawRequest(server.url)).json();
      assert.match(messages[0]!, /^mongosess: cookieName/);
      assert.match(messages[1]!, /^mongosess: keys/);
      assert.match(messages[2]!, /^mongosess: path/);
      assert.equal(messages[3], 'mongosess: expires must be a non-negative number of ms, got: -1');
      assert.match(messages[4]!, /^mongosess: sameSite must be one of/);
    } finally {
      await server.close();
    }
  });

  it('close() returns true once, and connect() works again afterwards', async () => {
    assert.equal(MongoSess.close(), true);
    assert.equal(MongoSess.close(), false);
    assert.equal(MongoSess.isConnected(), false);
    await MongoSess.connect({ uri: MONGODB_URI, db, autoRemove: 'interval' });
    const browser = new Browser();
    assert.equal((await browser.get(`${app.url}/set?data=${q({ back: true })}`)).json().back, true);
  });
});
