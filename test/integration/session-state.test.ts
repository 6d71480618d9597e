// Operations in any order on gone, live and fresh sessions: one consistent outcome, checked
// against a small model of the session's phases, through HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import MongoSess, { type Session } from '../../src/index.js';
import { Browser } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';

type Op =
  | { op: 'get' }
  | { op: 'getKey'; key: string }
  | { op: 'set'; key: string; value: number }
  | { op: 'del'; key: string }
  | { op: 'end' }
  | { op: 'regenerate' };
type Result = { ok: unknown } | { error: string };
type Start = 'gone' | 'live' | 'fresh';

const KEYS = ['a', 'b'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ op: 'get' }),
  fc.constantFrom(...KEYS).map<Op>((key) => ({ op: 'getKey', key })),
  fc.record({ key: fc.constantFrom(...KEYS), value: fc.integer({ min: 0, max: 9 }) }).map<Op>((r) => ({ op: 'set', ...r })),
  fc.constantFrom(...KEYS).map<Op>((key) => ({ op: 'del', key })),
  fc.constant<Op>({ op: 'end' }),
  fc.constant<Op>({ op: 'regenerate' }),
);

/**
 * The model. A gone session (its cookie names a session ended before the request) is a new
 * visitor: the first operation that looks, a `set` included, finds an empty session and the
 * request goes on with a fresh one. After `end()` every write is refused.
 */
function model(start: Start, ops: readonly Op[]): { results: Result[]; stored: Record<string, number> | null } {
  let phase: 'unknown-gone' | 'active' | 'ended' = start === 'gone' ? 'unknown-gone' : 'active';
  let data: Record<string, number> = start === 'live' ? { a: 0 } : {};
  let stored = start === 'live';
  const results: Result[] = [];
  const ENDED = { error: 'MongoSessEndedError' };
  for (const op of ops) {
    if (phase === 'unknown-gone' && op.op !== 'end') phase = 'active';
    if (phase === 'ended' || (phase === 'unknown-gone' && op.op === 'end')) {
      phase = 'ended';
      stored = false;
      data = {};
      results.push(
        op.op === 'get' || op.op === 'getKey' || op.op === 'end' ? { ok: op.op === 'end' ? true : op.op === 'get' ? {} : null } : ENDED,
      );
      continue;
    }
    switch (op.op) {
      case 'get':
        results.push({ ok: { ...data } });
        break;
      case 'getKey':
        results.push({ ok: data[op.key] ?? null });
        break;
      case 'set':
        data = { ...data, [op.key]: op.value };
        stored = true;
        results.push({ ok: true });
        break;
      case 'del':
        data = Object.fromEntries(Object.entries(data).filter(([k]) => k !== op.key));
        results.push({ ok: true });
        break;
      case 'end':
        phase = 'ended';
        stored = false;
        data = {};
        results.push({ ok: true });
        break;
      case 'regenerate':
        results.push({ ok: true });
        break;
    }
  }
  return { results, stored: stored ? data : null };
}

/** Runs the operations in one request; `ids` are the ids get() showed before any end(). */
async function runOps(session: Session, ops: readonly Op[]): Promise<{ results: Result[]; ids: string[] }> {
  const results: Result[] = [];
  const ids: string[] = [];
  let ended = false;
  for (const op of ops) {
    try {
      let value: unknown;
      if (op.op === 'get') {
        const { _id, createdAt, ...rest } = await session.get();
        if (!ended) ids.push(_id);
        value = rest;
      } else if (op.op === 'getKey') value = (await session.get(op.key)) ?? null;
      else if (op.op === 'set') value = await session.set({ [op.key]: op.value });
      else if (op.op === 'del') value = await session.del(op.key);
      else if (op.op === 'end') {
        ended = true;
        value = await session.end();
      } else value = await session.regenerate();
      results.push({ ok: value });
    } catch (err) {
      results.push({ error: (err as Error).name });
    }
  }
  return { results, ids };
}

describe('session state: every order of operations', () => {
  const fixture = sessionFixture('state', { connect: { autoRemove: 'disabled' } });
  before(() => fixture.start());
  after(() => fixture.stop());

  /** A browser holding the cookie of a session in the given start state; and that cookie's id. */
  async function browserAt(start: Start): Promise<{ browser: Browser; oldId: string | undefined }> {
    const browser = new Browser();
    if (start === 'fresh') return { browser, oldId: undefined };
    const oldId: string = (await fixture.app.run((s) => s.set({ a: 0 }).then(() => s.sid), { browser })).json();
    if (start === 'gone') {
      // Ended by another request: this browser keeps the old cookie.
      await fixture.app.run((s) => s.end(), { headers: { cookie: `sess=${oldId}` } });
    }
    return { browser, oldId };
  }

  it('del, get, set on a gone session: get shows a fresh id and set stores under it, as get, set does', async () => {
    for (const ops of [
      ['del', 'get', 'set'],
      ['get', 'set'],
    ]) {
      const { browser, oldId } = await browserAt('gone');
      const reply = await fixture.app.run(
        async (s) => {
          if (ops[0] === 'del') await s.del('a');
          const view = await s.get();
          await s.set({ b: 1 });
          return { viewId: view._id, sid: s.sid };
        },
        { browser },
      );
      assert.equal(reply.status, 200, `${ops.join(', ')}: ${reply.body}`);
      const { viewId, sid } = reply.json();
      assert.notEqual(viewId, oldId, `${ops.join(', ')}: get() must not show the dead id`);
      assert.equal(sid, viewId);
      assert.equal(await browser.cookie(fixture.app.url, 'sess'), sid, 'the fresh id went out with the write');
      assert.deepEqual((await fixture.app.run((s) => s.get('b'), { browser })).json(), 1);
    }
  });

  it('constructing MongoSess twice for one request gives the one session (no second id, no lost data)', async () => {
    const browser = new Browser();
    const reply = await fixture.app.run(
      async (first, req, res) => {
        const second = new MongoSess(req, res);
        await first.set({ a: 1 });
        await second.set({ b: 2 });
        return { same: first === second, sameId: first.sid === second.sid, data: await second.get() };
      },
      { browser },
    );
    const { same, sameId, data } = reply.json();
    assert.equal(same, true);
    assert.equal(sameId, true);
    assert.equal(data.a, 1);
    assert.equal(data.b, 2);
    assert.equal(reply.setCookie.filter((line) => line.startsWith('sess=')).length, 1, 'one session cookie');
  });

  for (const start of ['gone', 'live', 'fresh'] as const) {
    it(`random operation sequences on a ${start} session end as the model says`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 6 }), async (ops) => {
          const { browser, oldId } = await browserAt(start);
          const reply = await fixture.app.run((s) => runOps(s, ops), { browser });
          assert.equal(reply.status, 200, reply.body);
          const { results, ids } = reply.json() as { results: Result[]; ids: string[] };
          const expected = model(start, ops);
          assert.deepEqual(results, expected.results);
          if (start === 'gone') assert.ok(!ids.includes(oldId ?? ''), 'get() never shows the dead id');
          const after = (await fixture.app.run((s) => s.get(), { browser })).json();
          const { _id, createdAt, ...data } = after;
          assert.deepEqual(data, expected.stored ?? {}, 'what the next request reads');
        }),
        { numRuns: 40 },
      );
    });
  }
});
