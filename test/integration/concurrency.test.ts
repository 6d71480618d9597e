// Concurrent requests on one session: per-key atomic updates never lose each other's keys, and a
// slow write never revives a session another request ended or regenerated meanwhile.
//
// MongoDB applies each update of one document atomically. FerretDB 1.x does not (it reads,
// modifies and writes back without a lock), so on such a server the app here talks to it through
// the serializing proxy (test/helpers/serial-proxy.ts), which lets one data command at a time
// through: the server then orders concurrent updates as MongoDB would, and what is measured is
// the library. test/integration/serial-proxy.test.ts shows these tests can fail behind the proxy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import MongoSess from '../../src/index.js';
import { updatesAreAtomic } from '../helpers/atomic-probe.js';
import { digestOfCookie, MONGODB_URI, monitoredClient, uniqueDbName } from '../helpers/db.js';
import { Gates, writeOutcome } from '../helpers/gates.js';
import { Browser, send, serve, type TestServer } from '../helpers/http.js';
import { serialProxy } from '../helpers/serial-proxy.js';

const PARALLEL = 100;
const RACE_RUNS = 30;
const direct = await updatesAreAtomic(MONGODB_URI);
/** MONGOSESS_TEST_DIRECT=1 skips the proxy even on such a server, to see the failures it prevents. */
const proxy = direct || process.env['MONGOSESS_TEST_DIRECT'] === '1' ? undefined : await serialProxy(MONGODB_URI);
const route = proxy ? 'via the serializing proxy (the server is not atomic per document)' : 'direct to the server';
const { client, commands, reset } = monitoredClient(proxy?.uri);
const db = uniqueDbName('conc');
const sessions = client.db(db).collection<{ _id: string; ended?: true; d?: Record<string, unknown> }>('sessions');
let app: TestServer;

/** Hold a /slow request between its read and its write. */
const gates = new Gates();

describe(`concurrency on one session, ${route}`, () => {
  before(async () => {
    await client.connect();
    await MongoSess.connect({ client, db, autoRemove: 'interval', warn: () => undefined });
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
        case '/end':
          return send(res, await session.end());
        case '/regenerate':
          return send(res, await session.regenerate());
        case '/slow': {
          // read, wait for the test's signal, then write: the late writer of a race
          await session.get();
          await gates.pass(key);
          return send(res, await writeOutcome(session.set({ late: true }), 'written'));
        }
        default:
          return send(res, null, 404);
      }
    });
  });

  after(async () => {
    await app.close();
    await new Promise((resolve) => MongoSess.close(resolve));
    await client.close();
    await proxy?.close();
  });

  it('each request writes only the keys it sets (never the whole session)', async () => {
    const browser = new Browser();
    await browser.get(`${app.url}/set?k=first&v=0`);
    reset();
    await Promise.all(Array.from({ length: 20 }, (_, i) => browser.get(`${app.url}/set?k=k${i}&v=${i}`)));
    const updates = commands.filter((c) => c.commandName === 'findAndModify');
    assert.equal(updates.length, 20);
    // Besides its key, a write records when the session was last seen (lastSeenAt), in the same $set.
    const setKeys = updates.map((c) => Object.keys(c.command['update'].$set).filter((key) => key !== 'seenAt')).sort();
    assert.deepEqual(setKeys, Array.from({ length: 20 }, (_, i) => [`d.k${i}`]).sort(), 'every update is a $set of exactly one key');
  });

  it(`${PARALLEL} parallel requests on one session, each setting a different key: all ${PARALLEL} keys are there`, async () => {
    const browser = new Browser();
    await browser.get(`${app.url}/get`); // the cookie exists, no document yet: the requests race to create it
    const before = proxy?.serialized ?? 0;
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => browser.get(`${app.url}/set?k=k${i}&v=${i}`)));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    if (proxy) assert.ok(proxy.serialized - before >= PARALLEL, 'every write went through the proxy');
    const data = (await browser.get(`${app.url}/get`)).json();
    const missing = Array.from({ length: PARALLEL }, (_, i) => `k${i}`).filter((k) => data[k] === undefined);
    assert.deepEqual(missing, [], `no lost updates (${missing.length} of ${PARALLEL} lost)`);
  });

  it('parallel set/del on the same keys end in a state some serial order gives', async () => {
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

  for (const [what, path] of [
    ['ended', '/end'],
    ['regenerated', '/regenerate'],
  ] as const) {
    it(`${RACE_RUNS} races of a late write against the session being ${what}: the tombstone is never overwritten`, async (t) => {
      const revived: number[] = [];
      const outcomes = new Map<string, number>();
      for (let run = 0; run < RACE_RUNS; run++) {
        const browser = new Browser();
        await browser.get(`${app.url}/set?k=name&v=1`);
        const sid = (await browser.get(`${app.url}/get`)).json()._id as string;
        const { atGate, release } = gates.open(`${what}${run}`);
        const slow = browser.get(`${app.url}/slow?k=${what}${run}`);
        await atGate; // the slow request has read the live session
        const ending = browser.get(`${app.url}${path}`);
        // let the late write go 0-9 ms after the end was sent: the two writes meet in the database,
        // in either order
        await new Promise((resolve) => setTimeout(resolve, run % 10));
        release();
        const [late, ended] = await Promise.all([slow, ending]);
        assert.equal(ended.status, 200);
        outcomes.set(late.json(), (outcomes.get(late.json()) ?? 0) + 1);
        const old = await sessions.findOne({ _id: digestOfCookie(sid) });
        if (old?.ended !== true || old.d !== undefined) revived.push(run);
        if (what === 'ended' && (await sessions.countDocuments({ 'd.late': true, ended: { $ne: true } })) > 0) revived.push(run);
        await sessions.deleteMany({ 'd.late': true });
      }
      t.diagnostic(`late write outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
      assert.deepEqual(revived, [], `the ${what} session came back (runs listed) in ${revived.length} of ${RACE_RUNS}`);
      assert.deepEqual(
        [...outcomes.keys()].filter((o) => o !== 'written' && o !== 'MongoSessEndedError'),
        [],
        'the late write either landed before the end, or was refused',
      );
    });
  }
});
