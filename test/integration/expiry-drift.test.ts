// The cookie's expiry and the database's never drift apart: a property test over random reads
// and writes with rolling, touchAfter, absoluteTimeout, setLifetime and clock jumps. Reports
// against other stores: jdesboeufs/connect-mongo#459 (the TTL index removed sessions the cookie
// still held), expressjs/session#276 (with `rolling`, the cookie's Expires stopped following the
// session), fastify/session#126 and #148 (`rolling` reset the cookie from the options, not from
// the stored session) and tj/connect-redis#289 (cookie expiry against the key's TTL). After every
// request, for the session the browser's cookie names, if it is live: the cookie expires within
// touchAfter of the stored expiry, and never after the session's absolute deadline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { digestOfCookie } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const EXPIRES = HOUR;
const RUNS = Number(process.env['MONGOSESS_DRIFT_RUNS'] ?? 20);
const SEED = Number(process.env['MONGOSESS_PROPERTY_SEED'] ?? Date.now() % 2 ** 31);
let clock = Date.now();
const fixture = sessionFixture('drift', { connect: { now: () => clock } });
const { collection } = fixture;

type Op = { kind: 'get' | 'set' | 'del' | 'regenerate' } | { kind: 'lifetime'; ms: number } | { kind: 'jump'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<Op>({ kind: 'get' }, { kind: 'set' }, { kind: 'del' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'regenerate' }) },
  { weight: 1, arbitrary: fc.integer({ min: 5, max: 240 }).map((m): Op => ({ kind: 'lifetime', ms: m * MINUTE })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 70 }).map((m): Op => ({ kind: 'jump', ms: m * MINUTE })) },
);

describe('cookie expiry and database expiry never drift apart', () => {
  before(() => fixture.start());
  after(() => fixture.stop());

  let config = 0;
  for (const touchAfter of [0, 10 * MINUTE]) {
    for (const absoluteTimeout of [0, 3 * HOUR]) {
      const seed = SEED + config++;
      it(`rolling, touchAfter ${touchAfter / MINUTE} min, absoluteTimeout ${absoluteTimeout / HOUR} h: ${RUNS} random histories`, async (t) => {
        t.diagnostic(`seed ${seed}`);
        await fixture.reconnect({ expires: EXPIRES, rolling: true, touchAfter, absoluteTimeout });
        let checked = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
            const browser = new Browser();
            for (const [i, step] of ops.entries()) {
              if (step.kind === 'jump') {
                clock += step.ms;
                continue;
              }
              const reply = await fixture.app.run(
                async (s) => {
                  if (step.kind === 'get') await s.get();
                  if (step.kind === 'set') await s.set({ [`k${i}`]: i });
                  if (step.kind === 'del') await s.del(`k${i - 1}`);
                  if (step.kind === 'regenerate') await s.regenerate();
                  if (step.kind === 'lifetime') await s.setLifetime(step.ms);
                },
                { browser },
              );
              // A write with the cookie of a session that expired meanwhile may be refused (how a
              // stale cookie is answered is not what this test is about); nothing else may fail.
              if (reply.status !== 200) assert.equal(reply.json().error, 'MongoSessEndedError', `${step.kind}: ${reply.body}`);
              const cookie = (await browser.jar.getCookies(fixture.app.url)).find((c) => c.key === 'sess');
              if (!cookie || !(cookie.expires instanceof Date)) continue;
              const doc = await collection.findOne({ _id: digestOfCookie(cookie.value) as never });
              const expiresAt: Date | undefined = doc?.['expiresAt'];
              if (!doc || doc['ended'] || !expiresAt || expiresAt.getTime() <= clock) continue; // not live: nothing to compare
              checked++;
              const cookieExpires = cookie.expires.getTime();
              // Cookie dates have whole seconds: the stored expiry floored to its second.
              const drift = Math.abs(cookieExpires - Math.floor(expiresAt.getTime() / 1000) * 1000);
              assert.ok(
                drift <= touchAfter,
                `after ${step.kind} (step ${i}): the cookie expires ${drift} ms away from the stored expiry (touchAfter ${touchAfter})`,
              );
              const created: Date | undefined = doc['createdAt'];
              if (absoluteTimeout > 0 && created) {
                assert.ok(
                  cookieExpires <= created.getTime() + absoluteTimeout,
                  `after ${step.kind} (step ${i}): the cookie outlives the deadline`,
                );
              }
            }
          }),
          { numRuns: RUNS, seed, includeErrorInReport: true },
        );
        assert.ok(checked > RUNS, `compared ${checked} live sessions`);
        t.diagnostic(`compared ${checked} live cookies with their sessions`);
      });
    }
  }
});
