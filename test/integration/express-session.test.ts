// mongosess/express-session over HTTP with a cookie-keeping client, against the real database:
// express-session's req.session (synchronous keys, regenerate/destroy/reload/save, sessionID,
// cookie.maxAge), one read before the route and none without a cookie, and at the end of the
// response one atomic write of only the changed keys, done before the response arrives.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import connect from 'connect';
import MongoSess, { MongoSessConfigError, MongoSessStore } from '../../src/index.js';
import { session, type ExpressSessionOptions, type SessionRequest } from '../../src/express-session.js';
import { digestOfCookie, monitoredClient, uniqueDbName } from '../helpers/db.js';
import { Gates } from '../helpers/gates.js';
import { Browser, serve, type TestServer } from '../helpers/http.js';

const { client, commands, reset } = monitoredClient();
const db = uniqueDbName('exsess');
const sessions = client.db(db).collection<{ _id: string; ended?: true; d?: Record<string, unknown>; lifetime?: number }>('sessions');
const gates = new Gates();
const COOKIE = 'sid';
/** What connect's `warn` was given. */
const warnings: { message: string; error: Error | undefined }[] = [];

type Route = (req: SessionRequest & { session: NonNullable<SessionRequest['session']> }, res: ServerResponse) => void;

const json = (res: ServerResponse, body: unknown, status = 200) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};

const routes: Record<string, Route> = {
  '/views': (req, res) => json(res, { views: req.session['views'] ?? 0 }),
  '/inc': (req, res) => {
    req.session['views'] = ((req.session['views'] as number | undefined) ?? 0) + 1;
    json(res, { views: req.session['views'], id: req.sessionID });
  },
  '/set-a-del-b': (req, res) => {
    req.session['a'] = 1;
    delete req.session['b'];
    json(res, true);
  },
  '/set-b': (req, res) => {
    req.session['b'] = { deep: [1] };
    json(res, true);
  },
  '/push-b': (req, res) => {
    (req.session['b'] as { deep: number[] }).deep.push(2);
    json(res, true);
  },
  '/dump': (req, res) => json(res, { ...req.session, id: req.session.id, sessionID: req.sessionID }),
  '/regenerate': (req, res) => {
    const before = req.session.id;
    req.session.regenerate((err) => {
      if (err) return json(res, String(err), 500);
      req.session['user'] = 'ann';
      json(res, { before, after: req.session.id, sessionID: req.sessionID });
    });
  },
  '/destroy': (req, res) => req.session.destroy((err) => json(res, { err: err ? String(err) : null, gone: req.session === undefined })),
  '/save-then': (req, res) => {
    req.session['saved'] = true;
    req.session.save((err) => {
      if (err) return json(res, String(err), 500);
      reset();
      json(res, true);
    });
  },
  '/reload': (req, res) => {
    req.session['unsaved'] = true;
    void gates
      .pass('reload')
      .then(() =>
        req.session.reload((err) =>
          json(res, { err: err ? String(err) : null, views: req.session['views'], unsaved: req.session['unsaved'] }),
        ),
      );
  },
  '/remember': (req, res) => {
    req.session.cookie.maxAge = 30 * 24 * 3_600_000;
    req.session['remember'] = true;
    json(res, { maxAge: req.session.cookie.maxAge });
  },
  // Through the core API of the same request's session: keys named like req.session's own members.
  '/core-set': (req, res) => {
    void MongoSess(req, res)
      .set({ id: 'stored id', cookie: 'stored cookie', commit: 1 })
      .then(() => json(res, true));
  },
  // Device sessions take express-session's req.session as the caller's own.
  '/current': (req, res) => {
    void MongoSess.listSessions({}, { current: req.session }).then((list) => json(res, list.filter((entry) => entry.current).length));
  },
  '/end-others': (req, res) => {
    void MongoSess.endAll({}, { except: req.session }).then((ended) => json(res, ended));
  },
  // save() without a callback (connect-flash calls it so) of a value mongosess does not store.
  '/save-unstorable': (req, res) => {
    req.session['unstorable'] = () => 'a function';
    req.session.save();
    delete req.session['unstorable'];
    json(res, true);
  },
  '/cookie': (req, res) => json(res, { maxAge: req.session.cookie.maxAge, expires: req.session.cookie.expires }),
  '/slow': (req, res) => {
    req.session['late'] = true;
    void gates.pass('slow').then(() => json(res, 'written'));
  },
};

async function app(options: ExpressSessionOptions): Promise<TestServer> {
  const handler = connect()
    .use(session(options))
    .use((req: SessionRequest, res: ServerResponse, next: (err?: unknown) => void) => {
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (route && req.session) route(req as Parameters<Route>[0], res);
      else next();
    })
    .use((err: Error, _req: SessionRequest, res: ServerResponse, _next: unknown) => json(res, { error: err.name }, 500));
  return serve((req, res) => handler(req, res));
}

let server: TestServer;
const url = (path: string) => `${server.url}${path}`;
const writes = () => commands.filter((c) => c.commandName === 'findAndModify' || c.commandName === 'update');
const reads = () => commands.filter((c) => c.commandName === 'find');

/** A write's `$set` without `seenAt`, which every write also stamps (a device's last use, see devices/devices.ts). */
function dataSet(update: { $set: Record<string, unknown> }): Record<string, unknown> {
  const { seenAt, ...data } = update.$set;
  assert.ok(seenAt instanceof Date, 'the write stamps seenAt');
  return data;
}

describe('mongosess/express-session', () => {
  before(async () => {
    await client.connect();
    await MongoSess.connect({ client, db, autoRemove: 'interval', warn: (message, error) => warnings.push({ message, error }) });
    server = await app({ name: COOKIE, secret: 'express-session test secret', resave: false, saveUninitialized: false });
  });
  after(async () => {
    await server.close();
    await new Promise((resolve) => MongoSess.close(resolve));
    await client.db(db).dropDatabase();
    await client.close();
  });

  it('serves a visitor without a cookie with no database command and sets no cookie until something is stored', async () => {
    const browser = new Browser();
    reset();
    const reply = await browser.get(url('/views'));
    assert.deepEqual(reply.json(), { views: 0 });
    assert.deepEqual(reply.setCookie, []);
    assert.equal(commands.length, 0);
  });

  it('keeps synchronous changes: one read before the route, one write of the changed key at the end', async () => {
    const browser = new Browser();
    const first = await browser.get(url('/inc'));
    assert.equal(first.json().views, 1);
    assert.ok(first.setCookie.some((line) => line.startsWith(`${COOKIE}=`)));
    reset();
    const second = await browser.get(url('/inc'));
    assert.equal(second.json().views, 2);
    assert.equal(second.json().id, await browser.cookie(server.url, COOKIE));
    assert.equal(reads().length, 1);
    assert.equal(writes().length, 1);
    assert.deepEqual(dataSet(writes()[0]!.command['update']), { 'd.views': 2 });
    reset();
    assert.deepEqual((await browser.get(url('/views'))).json(), { views: 2 });
    assert.equal(reads().length, 1);
    assert.equal(writes().length, 0, 'nothing written when nothing changed');
  });

  it('writes set and removed keys in one atomic update, and sees changes inside nested values', async () => {
    const browser = new Browser();
    await browser.get(url('/set-b'));
    reset();
    await browser.get(url('/set-a-del-b'));
    assert.equal(writes().length, 1);
    const update = writes()[0]!.command['update'];
    assert.deepEqual(Object.keys(dataSet(update)), ['d.a']);
    assert.deepEqual(update.$unset, { 'd.b': '' });
    await browser.get(url('/set-b'));
    reset();
    await browser.get(url('/push-b'));
    assert.deepEqual(dataSet(writes()[0]!.command['update']), { 'd.b': { deep: [1, 2] } });
  });

  it("reports a failed save() without a callback through connect's warn, not as a process warning", async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    const processWarnings: string[] = [];
    const onWarning = (warning: Error) => processWarnings.push(warning.message);
    process.on('warning', onWarning);
    warnings.length = 0;
    try {
      const reply = await browser.get(url('/save-unstorable'));
      assert.equal(reply.status, 200, reply.body);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    const reported = warnings.filter(({ message }) => message.includes('req.session.save()'));
    assert.equal(reported.length, 1, JSON.stringify(warnings.map(({ message }) => message)));
    assert.match(reported[0]!.message, /nothing handled/);
    assert.equal(reported[0]!.error?.name, 'MongoSessValidationError');
    assert.deepEqual(
      processWarnings.filter((message) => message.includes('express-session')),
      [],
    );
  });

  it('has written the session before the response arrives', async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    const sid = await browser.cookie(server.url, COOKIE);
    const doc = await sessions.findOne({ _id: digestOfCookie(sid!) });
    assert.equal(doc?.d?.['views'], 1);
  });

  it('regenerate() ends the old session and gives an empty one under a new id and cookie', async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    const old = await browser.cookie(server.url, COOKIE);
    const reply = (await browser.get(url('/regenerate'))).json();
    assert.equal(reply.before, old);
    assert.notEqual(reply.after, old);
    assert.equal(reply.sessionID, reply.after);
    assert.equal(await browser.cookie(server.url, COOKIE), reply.after);
    const dump = (await browser.get(url('/dump'))).json();
    assert.equal(dump.user, 'ann');
    assert.equal(dump.views, undefined, 'regenerate() starts empty, as express-session does');
    const oldDoc = await sessions.findOne({ _id: digestOfCookie(old!) });
    assert.equal(oldDoc?.ended, true);
  });

  it('destroy() ends the session, removes req.session and clears the cookie', async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    const sid = await browser.cookie(server.url, COOKIE);
    assert.deepEqual((await browser.get(url('/destroy'))).json(), { err: null, gone: true });
    assert.equal(await browser.cookie(server.url, COOKIE), undefined);
    assert.equal((await sessions.findOne({ _id: digestOfCookie(sid!) }))?.ended, true);
  });

  it('save() writes at once, and the end of the response then writes nothing', async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    await browser.get(url('/save-then'));
    assert.equal(writes().length, 0);
    assert.equal((await browser.get(url('/dump'))).json().saved, true);
  });

  it("reload() reads the session again: another request's change appears, unsaved changes go", async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    const gate = gates.open('reload');
    const reloading = browser.get(url('/reload'));
    await gate.atGate;
    await browser.get(url('/inc'));
    gate.release();
    assert.deepEqual((await reloading).json(), { err: null, views: 2 });
  });

  it('cookie.maxAge gives the session its own lifetime; the cookie follows', async () => {
    const browser = new Browser();
    const month = 30 * 24 * 3_600_000;
    await browser.get(url('/remember'));
    const sid = await browser.cookie(server.url, COOKIE);
    const doc = await sessions.findOne({ _id: digestOfCookie(sid!) });
    assert.equal(doc?.lifetime, month);
    const cookie = (await browser.get(url('/cookie'))).json();
    assert.ok(cookie.maxAge > month - 60_000 && cookie.maxAge <= month, `maxAge ${cookie.maxAge}`);
  });

  it("keeps req.session's id and cookie when the stored data has keys of those names", async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    await browser.get(url('/core-set'));
    const dump = (await browser.get(url('/dump'))).json();
    assert.equal(dump.id, await browser.cookie(server.url, COOKIE));
    assert.equal(dump.cookie, undefined);
    assert.equal(dump.commit, 1, 'a data key named like an internal method is plain data');
    assert.equal((await browser.get(url('/inc'))).json().views, 2, 'and saving still works');
    assert.equal(typeof (await browser.get(url('/cookie'))).json().maxAge, 'number');
  });

  it('refuses a save racing a logout: the ended session is not written back', async () => {
    const browser = new Browser();
    await browser.get(url('/inc'));
    const sid = await browser.cookie(server.url, COOKIE);
    const gate = gates.open('slow');
    const slow = browser.get(url('/slow'));
    await gate.atGate;
    await browser.get(url('/destroy'));
    gate.release();
    const reply = await slow;
    assert.equal(reply.status, 500);
    assert.deepEqual(reply.json(), { error: 'MongoSessEndedError' });
    const doc = await sessions.findOne({ _id: digestOfCookie(sid!) });
    assert.equal(doc?.ended, true);
    assert.equal(doc?.d, undefined);
  });

  it('refuses the options whose job mongosess does elsewhere, saying where', () => {
    assert.throws(
      () => session({ store: {} } as ExpressSessionOptions),
      (err: Error) => {
        assert.ok(err instanceof MongoSessConfigError);
        assert.match(err.message, /mongosess is the store/);
        return true;
      },
    );
    assert.throws(() => session({ store: {} } as ExpressSessionOptions), /or pass a MongoSessStore/);
    assert.throws(() => session({ rolling: true } as ExpressSessionOptions), /connect\(\{ rolling: true/);
    assert.throws(() => session({ cookie: { maxAge: 1000 } } as ExpressSessionOptions), /MongoSess\.connect\(\{ expires \}\)/);
    assert.throws(() => session({ secret: [] }), /secret must be/);
  });

  it("keeps the sessions in that store's collection, with its lifetime", async () => {
    const admin = new MongoSessStore({ client, db, collection: 'admin_sessions', expires: 15 * 60_000, autoRemove: 'interval' });
    await admin.connect();
    const adminServer = await app({ name: 'admin', secret: 'admin secret', store: admin });
    try {
      const browser = new Browser();
      assert.equal((await browser.get(`${adminServer.url}/inc`)).json().views, 1);
      assert.equal((await browser.get(`${adminServer.url}/inc`)).json().views, 2);
      const sid = await browser.cookie(adminServer.url, 'admin');
      const stored = await client
        .db(db)
        .collection<{ _id: string; d?: Record<string, unknown>; expiresAt?: Date }>('admin_sessions')
        .findOne({ _id: digestOfCookie(sid!) });
      assert.deepEqual(stored?.d, { views: 2 }, "in the store's own collection");
      const lifetime = (stored?.expiresAt?.getTime() ?? 0) - Date.now();
      assert.ok(lifetime > 14 * 60_000 && lifetime <= 15 * 60_000, `the store's 15-minute lifetime, got ${lifetime} ms`);
    } finally {
      await adminServer.close();
      await admin.close();
    }
  });

  it('listSessions({ current }) and endAll({ except }) take req.session', async () => {
    const [here, there] = [new Browser(), new Browser()];
    await here.get(url('/inc'));
    await there.get(url('/inc'));
    assert.equal((await here.get(url('/current'))).json(), 1, 'its own session is listed as current');
    assert.ok((await here.get(url('/end-others'))).json() >= 1);
    assert.deepEqual((await there.get(url('/views'))).json(), { views: 0 }, 'the other device is logged out');
    assert.deepEqual((await here.get(url('/views'))).json(), { views: 1 }, 'this one is kept');
  });
});
