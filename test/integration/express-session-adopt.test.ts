// The adopt option of mongosess/express-session: sessions made by the real express-session +
// connect-mongo (the benchmark's express-session app, bench/servers/express-session.mjs, in a
// child process), with their s:-signed cookies, then served by mongosess with their data, nobody
// logged out. Parallel requests carrying one old cookie converge on one new session; a forged or
// unsigned old cookie is never adopted. Everything talks to the database through the serializing
// proxy, so concurrent writes to one document are ordered as MongoDB orders them.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import connect from 'connect';
import { MongoClient } from 'mongodb';
import MongoSess from '../../src/index.js';
import { session, type SessionRequest } from '../../src/express-session.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { root } from '../helpers/example-process.js';
import { serve, type TestServer } from '../helpers/http.js';
import { serialProxy, type SerialProxy } from '../helpers/serial-proxy.js';

const db = uniqueDbName('exsadopt');
const oldSecret = randomBytes(24).toString('base64url');
const PARALLEL = 20;
/** Added to mongosess's clock, to step past the grace in which an adopted old cookie still converges. */
let skew = 0;

interface Reply {
  status: number;
  body: string;
  setCookie: string[];
}

function get(port: number | string, path: string, cookie?: string, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: agent ?? false, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
  });
}

/** `name=value` of each cookie set (cleared ones included, with an empty value). */
const cookiesOf = (reply: Reply) =>
  new Map(reply.setCookie.map((line) => line.split(';')[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]));
const header = (cookies: Map<string, string>, ...names: string[]) => names.map((name) => `${name}=${cookies.get(name)}`).join('; ');

describe('adopt: express-session + connect-mongo sessions move into mongosess', () => {
  let proxy: SerialProxy;
  let client: MongoClient;
  let oldApp: ChildProcess;
  let oldPort: number;
  let app: TestServer;
  const port = () => new URL(app.url).port;

  /** A session made by express-session + connect-mongo: its Cookie header, after /login (user ann) and /setkey?k=7. */
  async function oldSession(): Promise<string> {
    const login = await get(oldPort, '/login');
    const cookie = header(cookiesOf(login), 'connect.sid');
    assert.match(cookie, /^connect\.sid=s%3A/);
    assert.equal((await get(oldPort, '/setkey?k=7', cookie)).status, 200);
    return cookie;
  }
  const oldIdOf = (cookie: string) => decodeURIComponent(cookie.slice('connect.sid='.length)).slice(2).split('.')[0]!;
  const oldDocs = () => client.db(db).collection<{ _id: string }>('connect_mongo');

  before(async () => {
    proxy = await serialProxy(MONGODB_URI);
    client = await MongoClient.connect(proxy.uri);
    oldApp = spawn(process.execPath, [join(root, 'bench', 'servers', 'express-session.mjs')], {
      cwd: root,
      env: { ...process.env, MONGODB_URI: proxy.uri, BENCH_DB: db, BENCH_COLLECTION: 'connect_mongo', BENCH_SECRET: oldSecret },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    oldPort = await new Promise<number>((resolve, reject) => {
      oldApp.on('message', (message: { ready?: boolean; port?: number }) => message.ready && resolve(message.port!));
      oldApp.once('exit', (code) => reject(new Error(`the express-session app exited with code ${code}`)));
    });
    await MongoSess.connect({ client, db, autoRemove: 'interval', warn: () => undefined, now: () => Date.now() + skew });
    const handler = connect()
      .use(session({ name: 'sid', secret: 'the new secret', adopt: { secret: ['another', oldSecret], collection: oldDocs() } }))
      .use((req: SessionRequest, res: ServerResponse) => {
        const s = req.session!;
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/setkey') s[`k${url.searchParams.get('k')}`] = 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(url.pathname === '/dump' ? { ...s } : 'ok'));
      });
    app = await serve((req, res) => handler(req, res));
  });
  after(async () => {
    await app.close();
    const exited = new Promise((resolve) => oldApp.once('exit', resolve));
    oldApp.send('stop');
    await exited;
    await new Promise((resolve) => MongoSess.close(resolve));
    await client.db(db).dropDatabase();
    await client.close();
    await proxy.close();
  });

  it('serves an express-session session with its data under a new mongosess cookie, and ends the old one', async () => {
    const old = await oldSession();
    const created: unknown[] = [];
    const onCreated = (event: unknown) => void created.push(event);
    MongoSess.on('created', onCreated);
    const first = await get(port(), '/dump', old).finally(() => MongoSess.off('created', onCreated));
    assert.deepEqual(JSON.parse(first.body), { user: 'ann', k7: 1 });
    // Adopted as a first write stores a session: the created event, and a device's last-seen date.
    assert.equal(created.length, 1, 'one created event');
    const [listed] = await MongoSess.listSessions({ user: 'ann', k7: 1 });
    assert.ok(listed?.handle, 'listed with a handle');
    const stored = await client.db(db).collection<{ seenAt?: Date }>('sessions').findOne({ h: listed.handle });
    assert.ok(stored?.seenAt instanceof Date, 'seenAt stored');
    const cookies = cookiesOf(first);
    assert.ok(cookies.get('sid'), 'a mongosess cookie');
    assert.equal(cookies.get('connect.sid'), '', 'the old cookie is cleared');
    assert.equal(await oldDocs().countDocuments({ _id: oldIdOf(old) }), 0, 'the old document is gone');

    const own = header(cookies, 'sid', 'sid.sig');
    assert.deepEqual(JSON.parse((await get(port(), '/dump', own)).body), { user: 'ann', k7: 1 });
    // A request sent in parallel, arriving with the old cookie just after, reaches the same session
    // (as a 0.4 move forwards); once that grace is over, the old cookie opens nothing.
    assert.deepEqual(JSON.parse((await get(port(), '/dump', old)).body), { user: 'ann', k7: 1 });
    skew += 11_000;
    const late = await get(port(), '/dump', old);
    assert.deepEqual(JSON.parse(late.body), {});
    assert.equal(cookiesOf(late).get('sid'), undefined);
  });

  it(`${PARALLEL} parallel requests with one old cookie converge on one new session, keeping every key`, async () => {
    const old = await oldSession();
    const agent = new http.Agent({ keepAlive: true, maxSockets: PARALLEL });
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => get(port(), `/setkey?k=${i + 100}`, old, agent)));
    agent.destroy();
    assert.deepEqual(
      replies.map((r) => r.status),
      replies.map(() => 200),
    );
    const ids = new Set(replies.map((r) => cookiesOf(r).get('sid')));
    assert.equal(ids.size, 1, 'every response carries the same new session cookie');
    const own = header(cookiesOf(replies[0]!), 'sid', 'sid.sig');
    const data = JSON.parse((await get(port(), '/dump', own)).body);
    for (let i = 0; i < PARALLEL; i++) assert.equal(data[`k${i + 100}`], 1, `key k${i + 100}`);
    assert.equal(data.user, 'ann');
    assert.equal(data.k7, 1);
  });

  it('never adopts a forged, unsigned or otherwise-signed old cookie', async () => {
    const old = await oldSession();
    const id = oldIdOf(old);
    const sign = (secret: string) => createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
    for (const forged of [
      `connect.sid=${id}`,
      `connect.sid=${encodeURIComponent(`s:${id}`)}`,
      `connect.sid=${encodeURIComponent(`s:${id}.${sign('a guessed secret')}`)}`,
      `connect.sid=${encodeURIComponent(`s:${id}.${sign(oldSecret).slice(0, -1)}x`)}`,
    ]) {
      const reply = await get(port(), '/dump', forged);
      assert.deepEqual(JSON.parse(reply.body), {}, forged);
      assert.equal(cookiesOf(reply).get('sid'), undefined, 'no session made for it');
    }
    assert.equal(await oldDocs().countDocuments({ _id: id }), 1, 'the old session is untouched');
  });
});
