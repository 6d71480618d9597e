// Concurrent requests on one session: per-key atomic updates never lose each other's keys.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MongoClient } from 'mongodb';
import MongoSess from '../../src/index.js';
import { monitoredClient, uniqueDbName } from '../helpers/db.js';
import { Browser, send, serve, type TestServer } from '../helpers/http.js';

const PARALLEL = 100;
const { client, commands, reset } = monitoredClient();
let app: TestServer;
let atomic = true;

/**
 * Whether the server applies concurrent updates of one document atomically, as MongoDB does.
 * FerretDB 1.x (SQLite backend) does not: it reads, modifies and writes back without a lock.
 */
async function serverUpdatesAtomically(mongo: MongoClient): Promise<boolean> {
  const probe = mongo.db(uniqueDbName('atomic')).collection<{ _id: string; n: number }>('probe');
  await probe.insertOne({ _id: 'x', n: 0 });
  await Promise.all(Array.from({ length: 50 }, () => probe.updateOne({ _id: 'x' }, { $inc: { n: 1 } })));
  const n = (await probe.findOne({ _id: 'x' }))?.n;
  await probe.drop();
  return n === 50;
}

const NOT_ATOMIC =
  'the server does not apply concurrent updates of one document atomically (FerretDB 1.x); run with MONGODB_URI pointing at mongod';

describe('concurrency on one session', () => {
  before(async () => {
    await client.connect();
    atomic = await serverUpdatesAtomically(client);
    await MongoSess.connect({ client, db: uniqueDbName('conc'), autoRemove: 'interval', warn: () => undefined });
    app = await serve(async (req, res) => {
      const session = new MongoSess(req, res);
      const url = new URL(req.url ?? '/', 'http://x');
      const key = url.searchParams.get('k') ?? '';
      const value = Number(url.searchParams.get('v'));
      switch (url.pathname) {
        case '/set':
          return send(res, await session.set({ [key]: value }));
        case '/set-pair':
          return send(res, await session.set({ a: value, b: value }));
        case '/del-pair':
          return send(res, await session.del('a', 'b'));
        case '/get':
          return send(res, await session.get());
        default:
          return send(res, null, 404);
      }
    });
  });

  after(async () => {
    await app.close();
    await new Promise((resolve) => MongoSess.close(resolve));
    await client.close();
  });

  it('each request writes only the keys it sets (never the whole session)', async () => {
    const browser = new Browser();
    await browser.get(`${app.url}/set?k=first&v=0`);
    reset();
    await Promise.all(Array.from({ length: 20 }, (_, i) => browser.get(`${app.url}/set?k=k${i}&v=${i}`)));
    const updates = commands.filter((c) => c.commandName === 'findAndModify');
    assert.equal(updates.length, 20);
    const setKeys = updates.map((c) => Object.keys(c.command['update'].$set)).sort();
    assert.deepEqual(
      setKeys,
      Array.from({ length: 20 }, (_, i) => [`d.k${i}`]).sort(),
      'every update is a $set of exactly one key',
    );
  });

  it(`${PARALLEL} parallel requests on one session, each setting a different key: all ${PARALLEL} keys are there`, async (t) => {
    if (!atomic) return t.skip(NOT_ATOMIC);
    const browser = new Browser();
    await browser.get(`${app.url}/get`); // the cookie exists, no document yet: the requests race to create it
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => browser.get(`${app.url}/set?k=k${i}&v=${i}`)));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    const data = (await browser.get(`${app.url}/get`)).json();
    const missing = Array.from({ length: PARALLEL }, (_, i) => `k${i}`).filter((k) => data[k] === undefined);
    assert.deepEqual(missing, [], 'no lost updates');
  });

  it('parallel set/del on the same keys end in a state some serial order gives', async (t) => {
    if (!atomic) return t.skip(NOT_ATOMIC);
    for (let round = 0; round < 5; round++) {
      const browser = new Browser();
      await browser.get(`${app.url}/set-pair?v=-1`);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => browser.get(i % 5 === 0 ? `${app.url}/del-pair` : `${app.url}/set-pair?v=${i}`)),
      );
      const { a, b } = (await browser.get(`${app.url}/get`)).json();
      // every operation writes a and b together, so any serial order leaves them equal (or both gone)
      assert.equal(a, b, `round ${round}: a=${a} b=${b}`);
    }
  });
});
