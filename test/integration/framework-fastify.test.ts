// mongosess/fastify with the real Fastify 5 (alone and beside @fastify/cookie), over HTTP with a
// cookie-keeping client, against the real database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { session } from '../../src/fastify.js';
import { closeConnection, connectForTest } from '../helpers/framework-server.js';
import { lateWrite, racedWriteIsRefused, roundTrip, staleCookieIsNewVisitor } from '../helpers/framework-scenarios.js';
import { Browser, parseSetCookie } from '../helpers/http.js';

type Query = { Querystring: { name?: string } };

/**
 * The scenario routes, in a plugin of their own: Fastify encapsulates it, so `request.session`
 * there proves the decoration is visible outside the mongosess plugin's registration.
 */
async function routes(app: FastifyInstance): Promise<void> {
  const write = async (request: { session: { set(data: Record<string, unknown>): Promise<boolean> }; query: { name?: string } }) => {
    await request.session.set({ name: request.query.name });
    return 'ok';
  };
  app.get<Query>('/set', write);
  app.get<Query>('/late', async (request) => {
    await lateWrite(request.session, request.query.name ?? '');
    return 'ok';
  });
  app.get('/name', async (request) => {
    const name: unknown = await request.session.get('name');
    return typeof name === 'string' ? name : 'none';
  });
  app.get('/del', async (request) => {
    await request.session.del('name');
    return 'ok';
  });
  app.get('/end', async (request) => {
    await request.session.end();
    return 'ok';
  });
}

/** Where @fastify/cookie is registered relative to mongosess, if at all. */
type CookiePlugin = 'none' | 'registered first' | 'registered after mongosess';

async function start(cookiePlugin: CookiePlugin): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  if (cookiePlugin === 'registered first') await app.register(fastifyCookie);
  await app.register(session, { keys: ['framework test key'] });
  if (cookiePlugin === 'registered after mongosess') await app.register(fastifyCookie);
  await app.register(routes);
  // Every Set-Cookie line reaches the client: the session's own (written on reply.raw), one
  // through @fastify/cookie, one with reply.header (see the README for @fastify/cookie's order).
  app.get('/both', async (request, reply) => {
    await request.session.set({ seen: true });
    if (cookiePlugin !== 'none') reply.setCookie('flash', 'hi', { path: '/' });
    if (cookiePlugin !== 'registered first') reply.header('set-cookie', 'direct=1; Path=/');
    return { cookies: cookiePlugin === 'none' ? null : Object.keys(request.cookies).sort() };
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: address };
}

describe('mongosess/fastify', () => {
  before(() => connectForTest('fastify'));
  after(closeConnection);

  for (const cookiePlugin of ['none', 'registered first', 'registered after mongosess'] as const) {
    describe(`@fastify/cookie: ${cookiePlugin}`, () => {
      let server: { app: FastifyInstance; url: string };
      before(async () => (server = await start(cookiePlugin)));
      after(() => server.app.close());

      it('gives request.session in encapsulated routes: set, get, del and end over real requests', () => roundTrip(server.url));

      it("a write with a stale cookie is a new visitor's", () => staleCookieIsNewVisitor(server.url));

      it("Fastify's default error handler answers a write refused by a racing end with its status, 409", async () => {
        assert.equal((await racedWriteIsRefused(server.url)).status, 409, "the error's status");
      });

      it('every Set-Cookie line arrives, and @fastify/cookie reads the session cookie too', async () => {
        const browser = new Browser();
        const expected = { none: ['direct'], 'registered first': ['flash'], 'registered after mongosess': ['direct', 'flash'] }[
          cookiePlugin
        ];
        const first = await browser.get(`${server.url}/both`);
        assert.deepEqual(first.setCookie.map((line) => parseSetCookie(line).name).sort(), [...expected, 'sess', 'sess.sig'].sort());
        const second = await browser.get(`${server.url}/both`);
        if (cookiePlugin !== 'none') assert.deepEqual(second.json().cookies, [...expected, 'sess', 'sess.sig'].sort());
        assert.equal((await browser.get(`${server.url}/set?name=Ann`)).body, 'ok');
        assert.equal((await browser.get(`${server.url}/name`)).body, 'Ann');
      });
    });
  }

  it('a request before connect() gets the MongoSessNotConnectedError through Fastify', async () => {
    await closeConnection();
    const { app, url } = await start('none');
    try {
      const reply = await new Browser().get(`${url}/name`);
      assert.equal(reply.status, 503, "the error's status: the database is not there yet");
      assert.match(reply.json().message, /^You must be connected to MongoDB|^mongosess:/);
    } finally {
      await app.close();
      await connectForTest('fastify');
    }
  });
});
