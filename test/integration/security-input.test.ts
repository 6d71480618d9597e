// Security, hostile input: keys and values given to set() / del() (and filters given to
// the static helpers) that MongoDB would read as operators or paths, that pollute prototypes, or
// that are not plain data are refused with a MongoSessValidationError before anything is sent:
// checked with the driver's command monitoring and by reading the stored document. Values read
// back are plain data.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Code, DBRef, ObjectId, type Document } from 'mongodb';
import MongoSess, { type Session } from '../../src/index.js';
import { newSessionId } from '../../src/session/id.js';
import { Browser } from '../helpers/http.js';
import { outcome, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const HOUR = 3_600_000;
const MIB = 1024 * 1024;

const fixture = sessionFixture('sec_input');
const { commands, reset, collection } = fixture;
let app: SessionApp;

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function stored(id: string): Promise<Document | null> {
  return collection.findOne({ _id: digest(id) as never });
}

/** A value nested `depth` levels deep. */
function deep(depth: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { n: value };
  return value;
}

class Custom {
  constructor(readonly x = 1) {}
}

const BASELINE = { user: 'ann', profile: { name: 'Ann' }, list: [1] };

/** A browser holding a stored session of its own (so that a failing case cannot spoil the next). */
async function storedSession(): Promise<{ browser: Browser; sid: string }> {
  const browser = new Browser();
  const reply = await app.run((s) => s.set(BASELINE).then(() => s.sid), { browser });
  assert.equal(reply.status, 200, reply.body);
  return { browser, sid: reply.json() };
}

/**
 * Runs `call` on a stored session and checks that it is refused with a MongoSessValidationError,
 * that no command reached the database and that the document did not change.
 */
async function assertRefused(call: (s: Session) => Promise<unknown> | undefined): Promise<void> {
  const { browser, sid } = await storedSession();
  const before = await stored(sid);
  assert.ok(before, 'the session is stored');
  reset();
  const reply = await app.run(async (s) => outcome(call(s)), { browser });
  const sent = commands.map((c) => `${c.commandName} ${JSON.stringify(c.command)}`);
  assert.equal(reply.status, 200, reply.body);
  const result = reply.json();
  assert.notEqual(result, 'resolved', `accepted; sent: ${sent.join(' | ')}`);
  assert.equal(result.name, 'MongoSessValidationError', result.message);
  assert.match(result.message, /^mongosess: /);
  assert.deepEqual(sent, [], 'no command was sent');
  assert.deepEqual(await stored(sid), before, 'the document is unchanged');
}

describe('security: hostile input', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
  });

  after(() => fixture.stop());

  describe('keys in set()', () => {
    const keys: Array<[string, string]> = [
      ['empty', ''],
      ['$-operator $where', '$where'],
      ['$-operator $set', '$set'],
      ['$ at depth', 'profile.$gt'],
      ['NUL', 'a\u0000b'],
      ['NUL at depth', 'profile.x\u0000'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
      ['prototype', 'prototype'],
      ['__proto__ at depth', 'profile.__proto__'],
      ['constructor.prototype path', 'constructor.prototype'],
      ['prototype at depth', 'a.b.prototype'],
      ['empty path segment', 'profile..name'],
      ['leading dot', '.profile'],
      ['trailing dot', 'profile.'],
      ['_id', '_id'],
      ['a path into _id', '_id.x'],
      ['_bsontype', '_bsontype'],
      ['_bsontype at depth', 'profile._bsontype'],
    ];
    for (const [name, key] of keys) {
      it(`${name}: ${JSON.stringify(key)} is refused, nothing sent`, async () => {
        await assertRefused((s) => s.set({ [key]: 'x' }));
      });
    }
    it('a __proto__ key from JSON.parse (an own property) is refused, nothing sent', async () => {
      await assertRefused((s) => s.set(JSON.parse('{"__proto__": {"isAdmin": true}}')));
      await assertRefused((s) => s.set(JSON.parse('{"ok": 1, "__proto__": {"isAdmin": true}}')));
    });
  });

  describe('keys that would corrupt the session for later requests', () => {
    it("whatever keys set() accepts, get() still presents _id as the cookie's id (attempt: set({ '_id.x': 1 }))", async () => {
      const { browser, sid } = await storedSession();
      const reply = await app.run(
        async (s) => {
          const attempt = await outcome(s.set({ '_id.x': 1 }));
          return { attempt, view: await s.get(), id: await s.get('_id') };
        },
        { browser },
      );
      assert.equal(reply.status, 200, reply.body);
      const { view, id } = reply.json();
      assert.equal(view._id, sid, 'get()._id is the id in the cookie');
      assert.equal(id, sid, "get('_id') is the id in the cookie");
      const later = await app.run((s) => s.get('_id'), { browser });
      assert.equal(later.json(), sid, 'also in the next request');
    });

    it('whatever keys set() accepts, regenerate() (login) keeps the session (attempt: set({ _bsontype: "Code", code }))', async () => {
      const { browser } = await storedSession();
      await app.run((s) => outcome(s.set({ _bsontype: 'Code', code: 'function () { return 1 }' })), { browser });
      const login = await app.run(
        async (s) => {
          await s.regenerate();
          return s.get('user');
        },
        { browser },
      );
      assert.equal(login.status, 200, login.body);
      assert.equal(login.json(), 'ann', 'the user is still logged in after regenerate()');
      assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann');
    });
  });

  describe('keys in del()', () => {
    const keys: Array<[string, unknown]> = [
      ['empty', ''],
      ['$-operator', '$where'],
      ['$ at depth', 'profile.$x'],
      ['NUL', 'user\u0000'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
      ['prototype at depth', 'profile.prototype'],
      ['empty path segment', 'profile..name'],
      ['_id', '_id'],
      ['not a string', 42],
      ['an object', { $gt: '' }],
    ];
    for (const [name, key] of keys) {
      it(`${name}: ${JSON.stringify(key)} is refused, nothing sent`, async () => {
        await assertRefused((s) => s.del('user', key as string));
      });
    }
  });

  describe('keys inside values', () => {
    const values: Array<[string, () => unknown]> = [
      ['__proto__ (own, from JSON)', () => JSON.parse('{"__proto__": {"isAdmin": true}}')],
      ['__proto__ deep in an array', () => [{ ok: [JSON.parse('{"__proto__": {"isAdmin": true}}')] }]],
      ['constructor.prototype', () => ({ constructor: { prototype: { isAdmin: true } } })],
      ['prototype deep down', () => ({ a: { b: { c: { prototype: 1 } } } })],
      ['$-operator', () => ({ $gt: '' })],
      ['$where deep down', () => ({ a: [{ b: { $where: 'sleep(1000)' } }] })],
      ['empty key', () => ({ '': 1 })],
      ['NUL in a key', () => ({ 'a\u0000': 1 })],
      ['a dot in a nested key', () => ({ 'a.b': 1 })],
      ['a dot in a key inside an array', () => [[{ 'x.y': 1 }]]],
      ['_bsontype (a forged BSON type)', () => ({ _bsontype: 'Code', code: 'function () { return 1 }' })],
      ['_bsontype deep down', () => ({ a: [{ _bsontype: 'ObjectId', id: 'x' }] })],
    ];
    for (const [name, value] of values) {
      it(`${name}: refused, nothing sent`, async () => {
        await assertRefused((s) => s.set({ data: value() }));
      });
    }
  });

  describe('values that are not plain data', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const cyclicArray: unknown[] = [1];
    cyclicArray.push({ back: cyclicArray });
    const values: Array<[string, () => Record<string, unknown>]> = [
      ['a cyclic object', () => ({ data: cyclic })],
      ['a cyclic array', () => ({ data: cyclicArray })],
      ['the set() argument itself cyclic', () => cyclic],
      [`a string over maxDataBytes (1 MiB)`, () => ({ data: 'x'.repeat(MIB + 1) })],
      [
        'many keys together over maxDataBytes',
        () => Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'x'.repeat(MIB / 4)])),
      ],
      ['nesting 10,000 levels deep', () => ({ data: deep(10_000) })],
      ['a function', () => ({ data: () => 1 })],
      ['a function deep down', () => ({ data: { a: [{ f: function named() {} }] } })],
      ['a class', () => ({ data: Custom })],
      ['a bigint', () => ({ data: 10n })],
      ['a symbol', () => ({ data: Symbol('x') })],
      ['a Map', () => ({ data: new Map([['a', 1]]) })],
      ['a Set', () => ({ data: new Set([1]) })],
      ['a custom class instance', () => ({ data: new Custom() })],
      ['an object with a non-Object prototype', () => ({ data: Object.create({ inherited: true }) })],
      ['a RegExp', () => ({ data: /x/ })],
      ['an Error', () => ({ data: new Error('x') })],
      ['a Promise', () => ({ data: Promise.resolve(1) })],
      ["server-side code (the driver's Code)", () => ({ data: new Code('function () { return 1 }') })],
      ['a DBRef', () => ({ data: new DBRef('sessions', new ObjectId()) })],
    ];
    for (const [name, data] of values) {
      it(`${name}: refused, nothing written`, async () => {
        await assertRefused((s) => s.set(data()));
      });
    }
    it('set() arguments that are not a plain object are refused', async () => {
      for (const data of [null, 'str', 42, [1], new Map([['a', 1]]), new Custom()]) {
        await assertRefused((s) => s.set(data as never));
      }
    });
  });

  describe('what is allowed, and where it goes', () => {
    it('undefined is stored as null, at the top level and inside values, as mongosess 0.4 did; the argument is not modified', async () => {
      const { browser, sid } = await storedSession();
      const argument = { nested: { a: undefined, keep: 1 }, list: [1, undefined, , 4] };
      const reply = await app.run(
        async (s, req) => {
          // The 0.4-era pattern: a query parameter that is missing.
          const query = (req as { query?: Record<string, string> }).query ?? {};
          await s.set({ name: query['name'], ...argument });
          return { name: await s.get('name'), hasName: Object.hasOwn(await s.get(), 'name') };
        },
        { browser },
      );
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(reply.json(), { name: null, hasName: true });
      const doc = await stored(sid);
      assert.deepEqual(doc?.['d'], { ...BASELINE, name: null, nested: { a: null, keep: 1 }, list: [1, null, null, 4] });
      assert.deepEqual(argument, { nested: { a: undefined, keep: 1 }, list: [1, undefined, , 4] }, "the caller's value is untouched");
      assert.equal(Object.hasOwn(argument.nested, 'a') && argument.nested.a, undefined);
      const later = await app.run((s) => s.get('name'), { browser });
      assert.equal(later.json(), null, 'a later request reads null');
    });

    it('a dotted top-level key is a path into nested data (documented), and cannot leave the data field', async () => {
      const { browser, sid } = await storedSession();
      const reply = await app.run(
        async (s) => {
          await s.set({ 'profile.role': 'user' });
          return s.get('profile');
        },
        { browser },
      );
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(reply.json(), { name: 'Ann', role: 'user' });
      const doc = await stored(sid);
      assert.deepEqual(doc?.['d']?.['profile'], { name: 'Ann', role: 'user' }, 'stored nested, not as a key with a dot');
      assert.equal(Object.hasOwn(doc?.['d'] ?? {}, 'profile.role'), false);

      // Keys named like the session's own fields land in the data, never on the document.
      const expiresAt = doc?.['expiresAt'];
      const far = new Date(Date.now() + 1000 * 24 * HOUR);
      const written = await app.run((s) => s.set({ expiresAt: far, ended: true, deadline: far, d: { x: 1 } }), { browser });
      assert.equal(written.status, 200, written.body);
      const after = await stored(sid);
      assert.deepEqual(after?.['expiresAt'], expiresAt, "the session's expiry is not the user's to set");
      assert.equal(after?.['ended'], undefined, 'nor its tombstone marker');
      assert.equal(after?.['deadline'], undefined);
      assert.deepEqual(after?.['d']?.['expiresAt'], far);
      assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann', 'the session lives on');
    });

    it('get() never reads inherited properties: get("__proto__"), get("constructor"), get("toString") are undefined', async () => {
      const { browser } = await storedSession();
      const reply = await app.run(
        async (s) => {
          const values = await Promise.all(
            ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'profile.constructor', 'list.length'].map((k) => s.get(k)),
          );
          return values.map((v) => (v === undefined ? 'undefined' : typeof v));
        },
        { browser },
      );
      // paths resolve as MongoDB resolves them: array indexes only, so `list.length` is not data either
      assert.deepEqual(reply.json(), ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined']);
    });
  });

  describe('values read back', () => {
    it('a stored __proto__ key (written with the raw driver) comes back as an own property and never pollutes Object.prototype', async () => {
      const id = newSessionId();
      const d = JSON.parse(
        '{"__proto__": {"polluted": 1}, "nested": {"__proto__": {"polluted": 2}}, "constructor": {"prototype": {"polluted": 3}},' +
          ' "list": [{"__proto__": {"polluted": 4}}]}',
      );
      await collection.insertOne({ _id: digest(id) as never, d, createdAt: new Date(), expiresAt: new Date(Date.now() + HOUR) });
      const raw = await stored(id);
      assert.ok(Object.hasOwn(raw?.['d'] ?? {}, '__proto__'), 'the hostile key is really stored');

      const reply = await app.run(
        async (s) => {
          const view = await s.get();
          const objects = [view, view['nested'], (view['list'] as unknown[])[0], view['constructor']] as object[];
          return {
            prototypes: objects.map((o) => Object.getPrototypeOf(o) === Object.prototype),
            ownProto: [view, view['nested']].map((o) => Object.hasOwn(o as object, '__proto__')),
            inherited: objects.map((o) => (o as Record<string, unknown>)['polluted'] ?? null),
            viaKey: (await s.get('nested.polluted')) ?? null,
            global: ({} as Record<string, unknown>)['polluted'] ?? null,
          };
        },
        { headers: { cookie: `sess=${id}` } },
      );
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(reply.json(), {
        prototypes: [true, true, true, true],
        ownProto: [true, true],
        inherited: [null, null, null, null],
        viaKey: null,
        global: null,
      });
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined, '({}).polluted stays undefined');
      assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    });
  });

  describe('filters of the static helpers', () => {
    it('endAll / countSessions / listSessions refuse operators that run code, _id and hostile keys, before any command', async () => {
      const { browser, sid } = await storedSession();
      const filters: Record<string, unknown>[] = [
        { $where: 'sleep(1000) || true' },
        { $expr: { $eq: [1, 1] } },
        { user: { $where: 'true' } },
        { user: { $not: { $where: 'true' } } },
        { list: { $elemMatch: { $expr: { $eq: [1, 1] } } } },
        { user: { $function: { body: 'function () { return true }', args: [], lang: 'js' } } },
        { user: { $accumulator: {} } },
        { _id: digest(sid) },
        { $or: [{}] },
        JSON.parse('{"__proto__": {"x": 1}}'),
        { 'a\u0000': 1 },
      ];
      for (const filter of filters) {
        for (const call of [MongoSess.endAll, MongoSess.countSessions, MongoSess.listSessions] as Array<(f: unknown) => Promise<unknown>>) {
          reset();
          const result = await outcome(call(filter));
          assert.notEqual(result, 'resolved', `${call.name} accepted ${JSON.stringify(filter)}`);
          assert.equal((result as { name: string }).name, 'MongoSessValidationError');
          assert.deepEqual(
            commands.map((c) => c.commandName),
            [],
            'nothing sent',
          );
        }
      }
      assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann', 'no session was ended');
    });

    it('filters with undefined (sent as null) or class instances (a Map acts as {}) are refused at any depth; {} still matches all', async () => {
      const { browser } = await storedSession();
      const filters: unknown[] = [
        { userId: undefined },
        { user: 'ann', userId: undefined },
        { user: { $in: ['ann', undefined] } },
        { user: { $not: { $eq: undefined } } },
        new Map([['user', 'ann']]),
        new Custom(),
        { user: new Map([['$ne', null]]) },
        { user: { $in: [new Custom()] } },
        { user: () => true },
      ];
      for (const filter of filters) {
        for (const call of [MongoSess.endAll, MongoSess.countSessions, MongoSess.listSessions] as Array<(f: unknown) => Promise<unknown>>) {
          reset();
          const result = await outcome(call(filter));
          assert.notEqual(result, 'resolved', `${call.name} accepted ${String(filter)}`);
          assert.equal((result as { name: string }).name, 'MongoSessValidationError');
          assert.match((result as { message: string }).message, /^mongosess: /);
          assert.deepEqual(
            commands.map((c) => c.commandName),
            [],
            'nothing sent',
          );
        }
      }
      assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann', 'no session was ended');
      // Still accepted: data values, RegExp, null on purpose, operators, and the empty filter.
      assert.ok((await MongoSess.countSessions({ user: /^an/ })) >= 1);
      assert.equal((await MongoSess.countSessions({ user: 'ann', missing: null, list: { $in: [1] } })) >= 1, true);
      assert.ok((await MongoSess.countSessions({})) >= 1, '{} matches every live session');
    });
  });
});
