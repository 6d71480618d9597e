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
import type { Session } from '../../src/index.js';
import { updatesAreAtomic } from '../helpers/atomic-probe.js';
import { digestOfCookie, MONGODB_URI } from '../helpers/db.js';
import { Gates, writeOutcome } from '../helpers/gates.js';
import { Browser } from '../helpers/http.js';
import type { Step } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';
import { serialProxy } from '../helpers/serial-proxy.js';

const PARALLEL = 100;
const RACE_RUNS = 30;
const direct = await updatesAreAtomic(MONGODB_URI);
/** MONGOSESS_TEST_DIRECT=1 skips the proxy even on such a server, to see the failures it prevents. */
const proxy = direct || process.env['MONGOSESS_TEST_DIRECT'] === '1' ? undefined : await serialProxy(MONGODB_URI);
const route = proxy ? 'via the serializing proxy (the server is not atomic per document)' : 'direct to the server';
const fixture = sessionFixture('conc', { uri: proxy?.uri ?? MONGODB_URI });
const { commands, reset } = fixture;
const sessions = fixture.client.db(fixture.db).collection<{ _id: string; ended?: true; d?: Record<string, unknown> }>('sessions');

/** Hold a slow request between its read and its write. */
const gates = new Gates();

/** What one request does with its session. */
const steps = {
  set:
    (key: string, value: number): Step =>
    (session: Session) =>
      session.set({ [key]: value }),
  setPair:
    (value: number): Step =>
    (session: Session) =>
      session.set({ a: value, b: value }),
  delPair: (session: Session) => session.del('a', 'b'),
  get: (session: Session) => session.get(),
  end: (session: Session) => session.end(),
  regenerate: (session: Session) => session.regenerate(),
  /** Reads, waits for the test's signal at gate `key`, then writes: the late writer of a race. */
  slow:
    (key: string): Step =>
    async (session: Session) => {
      await session.get();
      await gates.pass(key);
      return writeOutcome(session.set({ late: true }), 'written');
    },
};

/** Runs `step` in one request of `browser`. */
const request = (browser: Browser, step: Step) => fixture.app.run(step, { browser });

describe(`concurrency on one session, ${route}`, () => {
  before(() => fixture.start());

  after(async () => {
    await fixture.stop();
    await proxy?.close();
  });

  it('each request writes only the keys it sets (never the whole session)', async () => {
    const browser = new Browser();
    await request(browser, steps.set('first', 0));
    reset();
    await Promise.all(Array.from({ length: 20 }, (_, i) => request(browser, steps.set(`k${i}`, i))));
    const updates = commands.filter((c) => c.commandName === 'findAndModify');
    assert.equal(updates.length, 20);
    // Besides its key, a write records when the session was last seen (lastSeenAt), in the same $set.
    const setKeys = updates.map((c) => Object.keys(c.command['update'].$set).filter((key) => key !== 'seenAt')).sort();
    assert.deepEqual(setKeys, Array.from({ length: 20 }, (_, i) => [`d.k${i}`]).sort(), 'every update is a $set of exactly one key');
  });

  it(`${PARALLEL} parallel requests on one session, each setting a different key: all ${PARALLEL} keys are there`, async () => {
    const browser = new Browser();
    await request(browser, steps.get); // the cookie exists, no document yet: the requests race to create it
    const before = proxy?.serialized ?? 0;
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => request(browser, steps.set(`k${i}`, i))));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    if (proxy) assert.ok(proxy.serialized - before >= PARALLEL, 'every write went through the proxy');
    const data = (await request(browser, steps.get)).json();
    const missing = Array.from({ length: PARALLEL }, (_, i) => `k${i}`).filter((k) => data[k] === undefined);
    assert.deepEqual(missing, [], `no lost updates (${missing.length} of ${PARALLEL} lost)`);
  });

  it('parallel set/del on the same keys end in a state some serial order gives', async () => {
    for (let round = 0; round < 5; round++) {
      const browser = new Browser();
      await request(browser, steps.setPair(-1));
      await Promise.all(Array.from({ length: 40 }, (_, i) => request(browser, i % 5 === 0 ? steps.delPair : steps.setPair(i))));
      const { a, b } = (await request(browser, steps.get)).json();
      // every operation writes a and b together, so any serial order leaves them equal (or both gone)
      assert.equal(a, b, `round ${round}: a=${a} b=${b}`);
    }
  });

  for (const [what, ending] of [
    ['ended', steps.end],
    ['regenerated', steps.regenerate],
  ] as const) {
    it(`${RACE_RUNS} races of a late write against the session being ${what}: the tombstone is never overwritten`, async (t) => {
      const revived: number[] = [];
      const outcomes = new Map<string, number>();
      for (let run = 0; run < RACE_RUNS; run++) {
        const browser = new Browser();
        await request(browser, steps.set('name', 1));
        const sid = (await request(browser, steps.get)).json()._id as string;
        const { atGate, release } = gates.open(`${what}${run}`);
        const slow = request(browser, steps.slow(`${what}${run}`));
        await atGate; // the slow request has read the live session
        const end = request(browser, ending);
        // let the late write go 0-9 ms after the end was sent: the two writes meet in the database,
        // in either order
        await new Promise((resolve) => setTimeout(resolve, run % 10));
        release();
        const [late, ended] = await Promise.all([slow, end]);
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
