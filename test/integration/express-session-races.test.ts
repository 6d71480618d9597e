// Lost updates under express-session's API: 100 parallel requests on one session, each setting
// its own key with `req.session[k] = 1`. The same Express app runs twice, in child processes
// (the benchmark's apps, bench/servers/): with mongosess/express-session, which writes only the
// changed key, and, as the control in the same test, with express-session + connect-mongo, which
// writes the whole session back and so loses the keys of concurrent requests. Both talk to the
// database through the serializing proxy, so that the server orders concurrent updates of one
// document as MongoDB does (FerretDB 1.x alone would lose updates itself); what is left is each
// library's design.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { root } from '../helpers/example-process.js';
import { serialProxy, type SerialProxy } from '../helpers/serial-proxy.js';

const PARALLEL = 100;
const db = uniqueDbName('exsrace');
const secret = randomBytes(24).toString('base64url');

interface App {
  child: ChildProcess;
  port: number;
}

async function startApp(script: string, collection: string, uri: string): Promise<App> {
  const child = spawn(process.execPath, [join(root, 'bench', 'servers', script)], {
    cwd: root,
    env: { ...process.env, MONGODB_URI: uri, BENCH_DB: db, BENCH_COLLECTION: collection, BENCH_SECRET: secret },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 60 s`)), 60_000);
    child.on('message', (message: { ready?: boolean; port?: number }) => {
      if (message.ready && message.port) {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with code ${code}`)));
  });
  return { child, port };
}

function get(
  port: number,
  path: string,
  cookie?: string,
  agent?: http.Agent,
): Promise<{ status: number; body: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
  });
}

/** 100 parallel requests on one fresh session, each setting its own key: how many keys are missing after. */
async function lostKeys(app: App): Promise<number> {
  const login = await get(app.port, '/login');
  const cookie = login.setCookie.map((line) => line.split(';')[0]).join('; ');
  assert.ok(cookie, 'the login response sets the session cookie');
  const agent = new http.Agent({ keepAlive: true, maxSockets: PARALLEL });
  const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => get(app.port, `/setkey?k=${i}`, cookie, agent)));
  agent.destroy();
  assert.deepEqual(
    replies.filter((r) => r.status !== 200),
    [],
  );
  const keys = new Set(JSON.parse((await get(app.port, '/dump', cookie)).body) as string[]);
  return Array.from({ length: PARALLEL }, (_, i) => `k${i}`).filter((key) => !keys.has(key)).length;
}

async function stopApp(app: App | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null) return;
  const exited = new Promise((resolve) => app.child.once('exit', resolve));
  app.child.send('stop');
  await exited;
}

describe('lost updates through express-session’s API, via the serializing proxy', () => {
  let proxy: SerialProxy;
  let mongosess: App | undefined;
  let control: App | undefined;

  before(async () => {
    proxy = await serialProxy(MONGODB_URI);
    mongosess = await startApp('mongosess-express-session.mjs', 'mongosess', proxy.uri);
    control = await startApp('express-session.mjs', 'connect_mongo', proxy.uri);
  });
  after(async () => {
    await stopApp(mongosess);
    await stopApp(control);
    await proxy.close();
    const client = await MongoClient.connect(MONGODB_URI);
    await client.db(db).dropDatabase();
    await client.close();
  });

  it(`mongosess/express-session loses none of ${PARALLEL} concurrent keys; express-session + connect-mongo, the control, loses some`, async (t) => {
    const lostByControl = await lostKeys(control!);
    const lostByMongosess = await lostKeys(mongosess!);
    t.diagnostic(`lost of ${PARALLEL}: mongosess/express-session ${lostByMongosess}, express-session + connect-mongo ${lostByControl}`);
    assert.ok(proxy.serialized > 0, 'the commands went through the proxy');
    assert.ok(lostByControl > 0, `the control must lose keys for the test to mean anything (lost ${lostByControl})`);
    assert.equal(lostByMongosess, 0, `mongosess lost ${lostByMongosess} of ${PARALLEL} (the control lost ${lostByControl})`);
  });
});
