// mongosess/express with the real Express 5, Express 4 and Connect, over HTTP with a
// cookie-keeping client, against the real database.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import connect from 'connect';
import express from 'express';
import { session, type Session } from '../../src/express.js';
import { closeConnection, connectForTest } from '../helpers/framework-server.js';
import { lateWrite, racedWriteIsRefused, roundTrip, staleCookieIsNewVisitor } from '../helpers/framework-scenarios.js';
import { rawRequest, serve, type TestServer } from '../helpers/http.js';

const express4 = createRequire(import.meta.url)('express4') as typeof express;
const keys = ['framework test key'];

/** The scenario routes as one plain Connect handler (no framework helpers), for any Connect-style app. */
function plainRoutes(req: IncomingMessage & { session?: Session }, res: ServerResponse, next: (err?: unknown) => void): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const ok = () => res.end('ok');
  const session = req.session!;
  const work: Record<string, () => Promise<unknown>> = {
    '/set': () => session.set({ name: url.searchParams.get('name') }).then(ok),
    '/late': () => lateWrite(session, url.searchParams.get('name') ?? '').then(ok),
    '/name': () => session.get('name').then((name) => res.end(typeof name === 'string' ? name : 'none')),
    '/del': () => session.del('name').then(ok),
    '/end': () => session.end().then(ok),
  };
  const route = work[url.pathname];
  if (route) route().catch(next);
  else next();
}

/** The scenario routes in Express's own style, typed through the Express.Request augmentation. */
function expressApp(): express.Express {
  const app = express();
  app.use(session({ keys }));
  app.get('/set', async (req, res) => {
    await req.session.set({ name: String(req.query['name']) });
    res.send('ok');
  });
  app.get('/late', async (req, res) => {
    await lateWrite(req.session, String(req.query['name']));
    res.send('ok');
  });
  app.get('/name', async (req, res) => {
    const name: unknown = await req.session.get('name');
    res.send(typeof name === 'string' ? name : 'none');
  });
  app.get('/del', async (req, res) => {
    await req.session.del('name');
    res.send('ok');
  });
  app.get('/end', async (req, res) => {
    await req.session.end();
    res.send('ok');
  });
  return app;
}

describe('mongosess/express', () => {
  before(() => connectForTest('express'));
  after(closeConnection);

  for (const [name, build] of [
    ['Express 5', expressApp],
    ['Express 4', () => express4().use(session({ keys })).use(plainRoutes)],
    ['Connect', () => connect().use(session({ keys })).use(plainRoutes)],
  ] as const) {
    describe(name, () => {
      let server: TestServer;
      before(async () => (server = await serve(build())));
      after(() => server.close());

      it('gives req.session: set, get, del and end over real requests', () => roundTrip(server.url));

      it("a write with a stale cookie is a new visitor's", () => staleCookieIsNewVisitor(server.url));

      it('the default error handler answers a write refused by a racing end with its status, 409', async () => {
        assert.equal((await racedWriteIsRefused(server.url)).status, 409, "the error's status");
      });
    });
  }

  it('passes a session that cannot be made to next(err): here, before connect()', async () => {
    await closeConnection();
    const errors: unknown[] = [];
    const server = await serve(
      express()
        .use(session())
        .use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
          errors.push(err);
          res.status(503).send('not connected');
        }),
    );
    try {
      assert.equal((await rawRequest(`${server.url}/`)).status, 503);
      assert.equal((errors[0] as Error).name, 'MongoSessNotConnectedError');
    } finally {
      await server.close();
      await connectForTest('express');
    }
  });
});
