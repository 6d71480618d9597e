// Security, at rest and across ids: the database holds only digests of ids, regenerate()
// kills the old id at once, and ids cannot be guessed from one's own. Every test tries the attack.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BSON } from 'mongodb';
import MongoSess from '../../src/index.js';
import { newSessionId } from '../../src/session/id.js';
import { Browser, type Reply } from '../helpers/http.js';
import { cookiesOf, sessionApp, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const _HOUR = 3_600_000;
const ID = /^[A-Za-z0-9_-]{43}$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const KEY = 'storage-suite-signing-key-0f3a9c';

const fixture = sessionFixture('sec_store');
const { commands, reset, collection } = fixture;
let app: SessionApp; // unsigned cookies
let signed: SessionApp; // keys: [KEY]

/** SHA-256 of an id, base64url: computed here, independently of the library. */
function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** The HMAC-SHA-256 signature the cookie of `id` must carry under `key`. */
function signature(key: string, id: string, name = 'sess'): string {
  return createHmac('sha256', key).update(`${name}=${id}`).digest('base64url');
}

function bytesOf(id: string): Buffer {
  return Buffer.from(id, 'base64url');
}

/** The id in every encoding a careless store might use: as sent, base64, hex, raw bytes. */
function encodingsOf(id: string): Buffer[] {
  const bytes = bytesOf(id);
  return [Buffer.from(id), Buffer.from(bytes.toString('base64').replace(/=+$/, '')), Buffer.from(bytes.toString('hex')), bytes];
}

function popcount(byte: number): number {
  let n = 0;
  for (let b = byte; b; b >>= 1) n += b & 1;
  return n;
}

function differingBits(a: Buffer, b: Buffer): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) n += popcount((a[i] ?? 0) ^ (b[i] ?? 0));
  return n;
}

/** What an attacker holding `id` would try: its last characters changed, its bytes incremented, its bits flipped. */
function neighbours(id: string): Set<string> {
  const out = new Set<string>();
  for (const position of [42, 41, 40]) {
    for (const ch of BASE64URL) out.add(id.slice(0, position) + ch + id.slice(position + 1));
  }
  const bytes = bytesOf(id);
  const asNumber = BigInt(`0x${bytes.toString('hex')}`);
  const modulus = 1n << 256n;
  for (const delta of [1n, 2n, 3n, 255n, 256n, 257n, 1n << 64n, 1n << 128n]) {
    for (const signed of [delta, -delta]) {
      const n = (((asNumber + signed) % modulus) + modulus) % modulus;
      out.add(Buffer.from(n.toString(16).padStart(64, '0'), 'hex').toString('base64url'));
    }
  }
  for (let i = 0; i < bytes.length; i++) {
    for (const step of [1, -1]) {
      const copy = Buffer.from(bytes);
      copy[i] = ((copy[i] ?? 0) + step + 256) % 256;
      out.add(copy.toString('base64url'));
    }
  }
  for (const index of [0, 31]) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = Buffer.from(bytes);
      copy[index] = (copy[index] ?? 0) ^ (1 << bit);
      out.add(copy.toString('base64url'));
    }
  }
  out.delete(id);
  return out;
}

function cookieValue(reply: Reply, name: string): string {
  const value = cookiesOf(reply).get(name)?.value;
  assert.ok(value, `the reply sets the cookie ${name}: ${reply.setCookie.join(' | ')}`);
  return value;
}

describe('security: ids at rest, regenerate, guessing', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
    signed = await sessionApp({ options: { keys: [KEY] } });
  });

  after(async () => {
    await signed.close();
    await fixture.stop();
  });

  describe('ids hashed at rest', () => {
    it('the collection and every command hold only SHA-256(id): no cookie value in any field; get() still shows the id', async () => {
      reset();
      const cookieValues = new Set<string>();
      const remember = (reply: Reply): Reply => {
        assert.equal(reply.status, 200, reply.body);
        for (const cookie of cookiesOf(reply).values()) if (cookie.value) cookieValues.add(cookie.value);
        return reply;
      };

      // A: a live session with data.
      const a = new Browser();
      remember(await signed.run((s) => s.set({ user: 'ann', roles: ['admin'] }), { browser: a }));
      const sidA = (await a.cookie(signed.url, 'sess')) ?? '';
      const view = remember(await signed.run(async (s) => [s.sid, await s.get(), await s.get('_id')], { browser: a })).json();
      assert.equal(view[0], sidA, 'session.sid is the cookie value');
      assert.equal(view[1]._id, sidA, 'get()._id is the cookie value, not the digest');
      assert.equal(view[1].user, 'ann');
      assert.equal(view[2], sidA, "get('_id') is the cookie value");

      // B: a regenerated session (old id and new id). C: an ended session (tombstone).
      const b = new Browser();
      const oldB: string = remember(await signed.run((s) => s.set({ user: 'bob' }).then(() => s.sid), { browser: b })).json();
      const sidB: string = remember(await signed.run((s) => s.regenerate().then(() => s.sid), { browser: b })).json();
      const c = new Browser();
      const sidC: string = remember(await signed.run((s) => s.set({ user: 'cy' }).then(() => s.sid), { browser: c })).json();
      remember(await signed.run((s) => s.end(), { browser: c }));
      const sent = [...commands];

      const ids = [sidA, oldB, sidB, sidC];
      for (const id of ids) assert.match(id, ID);
      assert.ok(cookieValues.size >= 8, 'ids and signatures were collected');
      const needles: Array<[string, Buffer]> = [
        ...ids.flatMap((id) => encodingsOf(id).map((bytes): [string, Buffer] => [`id ${id}`, bytes])),
        ...[...cookieValues].map((value): [string, Buffer] => [`cookie value ${value}`, Buffer.from(value)]),
        ['signing key', Buffer.from(KEY)],
      ];

      // Every document as raw BSON and as canonical extended JSON: every field, stringified.
      const raw = (await collection.find({}, { raw: true }).toArray()) as unknown as Buffer[];
      const docs = await collection.find({}).toArray();
      assert.equal(raw.length, docs.length);
      assert.ok(docs.length >= 4, `a live, a regenerated, an old and an ended session are stored (${docs.length})`);
      const haystacks: Array<[string, Buffer]> = [
        ...raw.map((bson, i): [string, Buffer] => [`document ${i} (BSON)`, bson]),
        ...docs.map((doc, i): [string, Buffer] => [`document ${i} (EJSON)`, Buffer.from(BSON.EJSON.stringify(doc, { relaxed: false }))]),
        ...sent.map((event, i): [string, Buffer] => [
          `command ${i} (${event.commandName})`,
          Buffer.from(BSON.EJSON.stringify(event.command, { relaxed: false })),
        ]),
      ];
      assert.ok(sent.length >= 5, 'the library sent its commands');
      for (const [where, haystack] of haystacks) {
        for (const [what, needle] of needles) assert.equal(haystack.includes(needle), false, `${where} contains the ${what}`);
      }

      // The layout: the digest is the _id, the data sits under d, tombstones hold no data.
      const live = await collection.findOne({ _id: digest(sidA) as never });
      assert.ok(live, 'the live session is found by the digest of its id');
      // `h` is the handle (a digest of the digest), `seenAt` the last write: neither is an id.
      assert.deepEqual(Object.keys(live).sort(), ['_id', 'createdAt', 'd', 'expiresAt', 'h', 'seenAt']);
      assert.deepEqual(live['d'], { user: 'ann', roles: ['admin'] });
      assert.deepEqual((await collection.findOne({ _id: digest(sidB) as never }))?.['d'], { user: 'bob' });
      for (const id of [oldB, sidC]) {
        const tombstone = await collection.findOne({ _id: digest(id) as never });
        assert.ok(tombstone);
        // A regenerate()'s tombstone also names the digest it moved to, so a move can tell its own claim.
        const fields = id === oldB ? ['_id', 'ended', 'endedAt', 'expiresAt', 'movedTo'] : ['_id', 'ended', 'endedAt', 'expiresAt'];
        assert.deepEqual(Object.keys(tombstone).sort(), fields, 'a tombstone keeps no data');
        assert.equal(tombstone['ended'], true);
      }

      // listSessions shows neither ids nor digests: a handle names each session.
      const listed = await MongoSess.listSessions({});
      assert.ok(listed.length >= 2);
      for (const summary of listed) {
        assert.deepEqual(Object.keys(summary).sort(), ['createdAt', 'current', 'data', 'expiresAt', 'handle', 'lastSeenAt']);
      }
      const listedText = JSON.stringify(listed);
      for (const id of ids) {
        assert.equal(listedText.includes(id), false);
        assert.equal(listedText.includes(digest(id)), false);
      }
    });

    it('a leaked _id is no cookie: presenting the stored digest opens nothing (it is hashed again)', async () => {
      const owner = new Browser();
      await app.run((s) => s.set({ secret: 'owner-only' }), { browser: owner });
      const sid = (await owner.cookie(app.url, 'sess')) ?? '';
      const leaked = digest(sid);
      assert.ok(await collection.findOne({ _id: leaked as never }), 'the digest is what a dump shows');

      reset();
      const reply = await app.run((s) => s.get(), { headers: { cookie: `sess=${leaked}` } });
      assert.equal(reply.status, 200);
      assert.deepEqual(Object.keys(reply.json()), ['_id'], 'no data behind the leaked digest');
      const looked = commands.filter((c) => c.commandName === 'find').map((c) => c.command['filter']?._id);
      assert.deepEqual(looked, [digest(leaked)], 'the look-up was for the digest of the presented value');
      assert.equal((await app.run((s) => s.get('secret'), { browser: owner })).json(), 'owner-only');
    });
  });

  describe('regenerate()', () => {
    for (const variant of ['unsigned', 'signed'] as const) {
      it(`${variant} cookies: new id, data carried over, new cookie sent, the old id dead at once`, async () => {
        const target = variant === 'signed' ? signed : app;
        const browser = new Browser();
        const first = (await target.run((s) => s.set({ user: 'ann', cart: [1, 2] }).then(() => s.get()), { browser })).json();
        const oldId: string = first._id;

        const reply = await target.run(
          async (s) => {
            await s.regenerate();
            return s.get();
          },
          { browser },
        );
        assert.equal(reply.status, 200, reply.body);
        const regenerated = reply.json();
        assert.match(regenerated._id, ID);
        assert.notEqual(regenerated._id, oldId, 'a new id');
        assert.deepEqual({ ...regenerated, _id: null }, { ...first, _id: null }, 'data and createdAt carried over');
        assert.equal(cookieValue(reply, 'sess'), regenerated._id, 'the new cookie is in this response');
        if (variant === 'signed') assert.equal(cookieValue(reply, 'sess.sig'), signature(KEY, regenerated._id));
        assert.equal(await browser.cookie(target.url, 'sess'), regenerated._id);

        // An attacker replays the old cookie right away.
        const oldCookie = variant === 'signed' ? `sess=${oldId}; sess.sig=${signature(KEY, oldId)}` : `sess=${oldId}`;
        const replay = await target.run((s) => s.get(), { headers: { cookie: oldCookie } });
        assert.equal(replay.status, 200);
        const fresh = replay.json();
        assert.deepEqual(Object.keys(fresh), ['_id'], 'the replay gets an empty session');
        assert.notEqual(fresh._id, oldId);
        assert.notEqual(fresh._id, regenerated._id);
        assert.equal(cookiesOf(replay).get('sess'), undefined, 'a read sends no cookie: it must not overwrite the new one');

        assert.equal((await target.run((s) => s.get('user'), { browser })).json(), 'ann', 'the owner keeps the session');
        const old = await collection.findOne({ _id: digest(oldId) as never });
        assert.deepEqual(Object.keys(old ?? {}).sort(), ['_id', 'ended', 'endedAt', 'expiresAt', 'movedTo'], 'the old id is a tombstone');
        assert.equal(old?.['movedTo'], digest(regenerated._id), 'naming the digest (never the id) it moved to');
        assert.deepEqual((await collection.findOne({ _id: digest(regenerated._id) as never }))?.['d'], { user: 'ann', cart: [1, 2] });
      });
    }

    it("a write with the old cookie after regenerate() does not bring the old session back: it is a new visitor's", async () => {
      const browser = new Browser();
      const oldId: string = (await app.run((s) => s.set({ user: 'ann' }).then(() => s.sid), { browser })).json();
      const newId: string = (await app.run((s) => s.regenerate().then(() => s.sid), { browser })).json();

      const write = await app.run((s) => s.set({ user: 'mallory', role: 'admin' }), { headers: { cookie: `sess=${oldId}` } });
      assert.equal(write.status, 200, write.body);
      const handed = cookieValue(write, 'sess');
      assert.ok(handed !== oldId && handed !== newId, 'the writer is handed a fresh id');
      assert.deepEqual(
        (await collection.findOne({ _id: digest(handed) as never }))?.['d'],
        { user: 'mallory', role: 'admin' },
        'its own, new session',
      );
      const old = await collection.findOne({ _id: digest(oldId) as never });
      assert.deepEqual(
        Object.keys(old ?? {}).sort(),
        ['_id', 'ended', 'endedAt', 'expiresAt', 'movedTo'],
        'the tombstone stays a tombstone',
      );
      assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann', 'the new session is untouched');
      assert.equal((await app.run((s) => s.get('role'), { browser })).json(), null, 'nothing leaked into the new session');
    });

    it('session fixation: an id planted by an attacker is worthless once the victim logs in (set + regenerate)', async () => {
      const planted = newSessionId();
      const victim = new Browser();
      await victim.jar.setCookie(`sess=${planted}; Path=/`, app.url);
      const login = await app.run(
        async (s) => {
          await s.set({ user: 'victim', role: 'admin' });
          await s.regenerate();
          return s.sid;
        },
        { browser: victim },
      );
      assert.equal(login.status, 200, login.body);
      assert.notEqual(login.json(), planted);
      assert.equal(await victim.cookie(app.url, 'sess'), login.json());

      const attacker = await app.run((s) => s.get(), { headers: { cookie: `sess=${planted}` } });
      assert.equal(attacker.status, 200);
      assert.deepEqual(Object.keys(attacker.json()), ['_id'], 'the planted id opens nothing');
      assert.notEqual(attacker.json()._id, planted);
      assert.equal((await app.run((s) => s.get('user'), { browser: victim })).json(), 'victim');
    });
  });

  describe('guessing', () => {
    it("neighbours of one's own id (last characters changed, bytes incremented, bits flipped) find nothing", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const reply = await app.run((s) => s.set({ owner: i }).then(() => s.sid));
        assert.equal(reply.status, 200, reply.body);
        ids.push(reply.json());
      }
      for (let i = 1; i < ids.length; i++) {
        const [previous, current] = [ids[i - 1] ?? '', ids[i] ?? ''];
        const bits = differingBits(bytesOf(previous), bytesOf(current));
        assert.ok(bits > 64 && bits < 192, `back-to-back ids differ in ${bits} of 256 bits, not about half`);
        let prefix = 0;
        while (previous[prefix] === current[prefix]) prefix++;
        assert.ok(prefix < 5, `back-to-back ids share a ${prefix}-character prefix`);
      }

      const mine = ids[10] ?? '';
      const candidates = [...neighbours(mine)];
      assert.ok(candidates.length > 250, `${candidates.length} neighbours`);
      for (const candidate of candidates) {
        assert.match(candidate, ID);
        assert.equal(ids.includes(candidate), false, `${candidate} is another visitor's id`);
      }
      const stored = await collection.countDocuments({ _id: { $in: candidates.map(digest) as never[] } });
      assert.equal(stored, 0, 'no neighbour is stored');

      for (const candidate of candidates) {
        const reply = await app.run((s) => s.get(), { headers: { cookie: `sess=${candidate}` } });
        assert.equal(reply.status, 200);
        assert.deepEqual(Object.keys(reply.json()), ['_id'], `the neighbour ${candidate} opened someone's data`);
      }
      const own = await app.run((s) => s.get('owner'), { headers: { cookie: `sess=${mine}` } });
      assert.equal(own.json(), 10, 'the id itself still works');
    });

    it('100,000 fresh ids: 43 base64url characters of 32 random bytes, canonical, no duplicates, no bias', () => {
      const COUNT = 100_000;
      const seen = new Set<string>();
      const symbols = Array.from({ length: 43 }, () => new Set<string>());
      let ones = 0;
      for (let i = 0; i < COUNT; i++) {
        const id = newSessionId();
        if (!ID.test(id)) assert.fail(`malformed id ${JSON.stringify(id)}`);
        const bytes = bytesOf(id);
        if (bytes.length !== 32 || bytes.toString('base64url') !== id) assert.fail(`${id} is not 32 canonically encoded bytes`);
        seen.add(id);
        for (let p = 0; p < 43; p++) symbols[p]?.add(id[p] ?? '');
        for (const byte of bytes) ones += popcount(byte);
      }
      assert.equal(seen.size, COUNT, 'no duplicates');
      const ratio = ones / (COUNT * 256);
      assert.ok(Math.abs(ratio - 0.5) < 0.001, `a fraction ${ratio} of the bits are set (expected 0.5 ± 0.001, 10 sd)`);
      for (let p = 0; p < 42; p++) assert.equal(symbols[p]?.size, 64, `position ${p} uses all 64 symbols`);
      // The last character carries 4 bits (256 = 42 × 6 + 4), so exactly 16 symbols occur there.
      assert.equal(symbols[42]?.size, 16);
    });
  });
});
