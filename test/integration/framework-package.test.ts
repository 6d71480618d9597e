// The built subpaths (mongosess/express, /express-session, /koa, /fastify, /fetch) share the main entry's one MongoSess:
// from CommonJS, a connection opened through require('mongosess') serves the middleware
// required from require('mongosess/express'). Runs the build with plain node, as users do.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { root } from '../helpers/example-process.js';

const script = `
const http = require('node:http');
const MongoSess = require('mongosess');
const { session } = require('mongosess/express');
const koa = require('mongosess/koa');
const fastify = require('mongosess/fastify');
MongoSess.connect({ uri: ${JSON.stringify(MONGODB_URI)}, db: ${JSON.stringify(uniqueDbName('subpaths'))}, autoRemove: 'interval' }, (err) => {
  if (err) throw err;
  const middleware = session();
  const server = http.createServer((req, res) => middleware(req, res, (err) => {
    if (err) return res.end('error: ' + err.message);
    req.session.set({ hello: 'world' }).then(() => req.session.get('hello')).then((v) => res.end(String(v)));
  })).listen(0, '127.0.0.1', () => {
    http.get('http://127.0.0.1:' + server.address().port + '/', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        console.log(JSON.stringify({
          body,
          koa: typeof koa.session,
          fastify: fastify.session[Symbol.for('plugin-meta')],
        }));
        server.close();
        MongoSess.close();
      });
    });
  });
});
`;

const storeScript = `
const http = require('node:http');
const { MongoSessStore } = require('mongosess');
const { session } = require('mongosess/express');
const store = new MongoSessStore({ uri: ${JSON.stringify(MONGODB_URI)}, db: ${JSON.stringify(uniqueDbName('subpaths'))}, collection: 'admin', autoRemove: 'interval' });
store.connect().then(() => {
  const middleware = session({ store, cookieName: 'admin' });
  const server = http.createServer((req, res) => middleware(req, res, (err) => {
    if (err) return res.end('error: ' + err.message);
    req.session.set({ hello: 'store' }).then(() => store.countSessions({ hello: 'store' })).then((n) => res.end(String(n)));
  })).listen(0, '127.0.0.1', () => {
    http.get('http://127.0.0.1:' + server.address().port + '/', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        console.log(JSON.stringify({ body, cookie: String(res.headers['set-cookie']).split('=')[0] }));
        server.close();
        store.close();
      });
    });
  });
});
`;

const fetchScript = `
const { MongoSessStore } = require('mongosess');
const { fetchSession, withSession } = require('mongosess/fetch');
const store = new MongoSessStore({ uri: ${JSON.stringify(MONGODB_URI)}, db: ${JSON.stringify(uniqueDbName('subpaths'))}, collection: 'fetch', autoRemove: 'interval' });
const options = { store, cookieName: 'fetched', cookieOnFirstWrite: true };
store.connect().then(async () => {
  const session = fetchSession(new Request('http://127.0.0.1/'), options);
  await session.set({ hello: 'fetch' });
  const response = withSession(session, new Response('ok'));
  const again = fetchSession(new Request('http://127.0.0.1/', { headers: { cookie: response.headers.getSetCookie()[0].split(';')[0] } }), options);
  console.log(JSON.stringify({ cookie: response.headers.getSetCookie()[0].split('=')[0], hello: await again.get('hello') }));
  await store.close();
});
`;

describe('the built subpath exports', () => {
  it("require('mongosess/fetch') gives a Request its session in a store made from require('mongosess')", () => {
    const out = execFileSync(process.execPath, ['-e', fetchScript], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    assert.deepEqual(JSON.parse(out), { cookie: 'fetched', hello: 'fetch' });
  });

  it("require('mongosess/express') takes a store made from require('mongosess')", () => {
    const out = execFileSync(process.execPath, ['-e', storeScript], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    assert.deepEqual(JSON.parse(out), { body: '1', cookie: 'admin' });
  });

  it("require('mongosess/express') uses the connection of require('mongosess')", () => {
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    assert.deepEqual(JSON.parse(out), { body: 'world', koa: 'function', fastify: { name: 'mongosess', fastify: '5.x' } });
  });

  it('a subpath imports from ESM beside the main entry, and requires from CommonJS', async () => {
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { createRequire } from 'node:module'; import MongoSess from 'mongosess'; import { session } from 'mongosess/express'; import { fetchSession } from 'mongosess/fetch';" +
          "const require = createRequire(import.meta.url); console.log(JSON.stringify([require('mongosess') === MongoSess, typeof session, typeof require('mongosess/express').session, typeof require('mongosess/express-session').session, typeof fetchSession, typeof require('mongosess/fetch').withSession]));",
      ],
      { cwd: root, encoding: 'utf8' },
    );
    assert.deepEqual(JSON.parse(esm), [true, 'function', 'function', 'function', 'function', 'function']);
  });
});
