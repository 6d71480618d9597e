// Per-request session options in the framework integrations (a tenant's cookie domain, from the
// Host header), and the `store` option of each: real Express, Koa and Fastify apps over HTTP,
// against the real database.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import Koa from 'koa';
import { session as expressSession } from '../../src/express.js';
import { session as fastifySession } from '../../src/fastify.js';
import MongoSess, { MongoSessStore } from '../../src/index.js';
import { session as koaSession } from '../../src/koa.js';
import { Browser, parseSetCookie, rawRequest, serve, type TestServer } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const keys = ['per-request test key'];
/** MongoSess connected to the file's database, with the fixture's own client. */
const fixture = sessionFixture('per_request');

/** The tenant's domain: the Host header without its port. */
function tenantDomain(req: IncomingMessage): string {
  return String(req.headers.host).replace(/:\d+$/, '');
}

/** The Domain attribute of the named cookie in the reply to a request for `host`. */
async function cookieDomain(url: string, host: string, name = 'sess'): Promise<{ status: number; domain: unknown }> {
  const reply = await rawRequest(url, { host });
  const cookie = reply.setCookie.map(parseSetCookie).find((c) => c.name === name);
  return { status: reply.status, domain: cookie?.attrs['domain'] };
}

describe('per-request options and stores in the integrations', () => {
  const tenant = new MongoSessStore({ client: fixture.client, db: fixture.db, collection: 'tenant_sessions', autoRemove: 'disabled' });

  before(async () => {
    await fixture.start();
    await tenant.connect();
  });

  after(async () => {
    await tenant.close();
    await fixture.stop();
  });

  describe('Express', () => {
    let server: TestServer;
    const calls: string[] = [];
    before(async () => {
      const app = express();
      app.use(
        expressSession({
          keys,
          perRequest: (req) => {
            calls.push(tenantDomain(req));
            return { domain: tenantDomain(req) };
          },
        }),
      );
      app.get('/', (_req, res) => res.send('ok'));
      server = await serve(app);
    });
    after(() => server.close());

    it("each request's cookie gets its tenant's domain", async () => {
      assert.deepEqual(await cookieDomain(server.url, 'a.example.test'), { status: 200, domain: 'a.example.test' });
      assert.deepEqual(await cookieDomain(server.url, 'b.example.test'), { status: 200, domain: 'b.example.test' });
      assert.deepEqual(await cookieDomain(server.url, 'a.example.test:8443'), { status: 200, domain: 'a.example.test' });
      assert.deepEqual(calls, ['a.example.test', 'b.example.test', 'a.example.test'], 'called once per request');
    });

    it('options a request makes invalid go to next(err), with the usual message', async () => {
      const reply = await rawRequest(server.url, { host: 'bad_domain.example.test' });
      assert.equal(reply.status, 500);
      assert.match(reply.body, /domain must be a host name/);
    });
  });

  describe('Koa, with a function in place of the options', () => {
    let server: TestServer;
    before(async () => {
      const app = new Koa();
      app.silent = true;
      app.use(koaSession((ctx) => ({ keys, domain: ctx.hostname })));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      server = await serve(app.callback());
    });
    after(() => server.close());

    it("each request's cookie gets its tenant's domain", async () => {
      assert.deepEqual(await cookieDomain(server.url, 'a.example.test'), { status: 200, domain: 'a.example.test' });
      assert.deepEqual(await cookieDomain(server.url, 'c.example.test'), { status: 200, domain: 'c.example.test' });
    });
  });

  describe('Fastify, with a store and perRequest', () => {
    let app: FastifyInstance;
    let url: string;
    before(async () => {
      app = Fastify();
      await app.register(fastifySession, {
        store: tenant,
        cookieName: 'tenant',
        keys,
        // No Domain for requests to the IP (a cookie jar refuses Domain=127.0.0.1): the options as they are.
        perRequest: (request) => (request.hostname === '127.0.0.1' ? {} : { domain: request.hostname }),
      });
      app.get('/', async () => 'ok');
      app.get<{ Querystring: { name?: string } }>('/set', async (request) => {
        await request.session.set({ name: request.query.name });
        return 'ok';
      });
      url = await app.listen({ port: 0, host: '127.0.0.1' });
    });
    after(() => app.close());

    it("each request's cookie gets its tenant's domain", async () => {
      assert.deepEqual(await cookieDomain(url, 'a.example.test', 'tenant'), { status: 200, domain: 'a.example.test' });
      assert.deepEqual(await cookieDomain(url, 'd.example.test', 'tenant'), { status: 200, domain: 'd.example.test' });
    });

    it("the sessions are the store's, in its collection, under its cookie name", async () => {
      const browser = new Browser();
      await browser.get(`${url}/set?name=Yan`);
      assert.ok(await browser.cookie(url, 'tenant'));
      await rawRequest(`${url}/set?name=Zed`, { host: 'e.example.test' });
      assert.equal(await tenant.countSessions({ name: { $in: ['Yan', 'Zed'] } }), 2);
      assert.equal(await MongoSess.countSessions({ name: { $in: ['Yan', 'Zed'] } }), 0);
    });

    it('a bad store is refused when the plugin is registered', async () => {
      const other = Fastify();
      await assert.rejects(async () => {
        await other.register(fastifySession, { store: {} as never });
        await other.ready();
      }, /store must be a MongoSessStore/);
      await other.close();
    });
  });
});
