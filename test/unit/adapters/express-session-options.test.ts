// The options of mongosess/express-session: express-session's names mapped onto mongosess's, and
// the refused ones refused with a message that says where their job went.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { MongoSessConfigError } from '../../../src/index.js';
import { unsignOldCookie } from '../../../src/adapters/express-session-adopt.js';
import { resolveMiddlewareOptions } from '../../../src/adapters/express-session-options.js';

const collection = { findOne: async () => null, deleteOne: async () => undefined };

describe('express-session options', () => {
  it('maps express-session names onto mongosess options', () => {
    const config = resolveMiddlewareOptions({
      name: 'app.sid',
      secret: 'one',
      saveUninitialized: true,
      resave: true,
      proxy: true,
      cookie: { sameSite: true, secure: true, httpOnly: false, path: '/app', domain: 'example.com' },
    });
    assert.deepEqual(config.session, {
      cookieName: 'app.sid',
      keys: ['one'],
      cookieOnFirstWrite: false,
      secure: true,
      trustProxy: true,
      httpOnly: false,
      sameSite: 'strict',
      path: '/app',
      domain: 'example.com',
    });
    assert.equal(config.unset, 'keep');
  });

  it("defaults: cookie only with the first write, secure 'auto' (decided per request), sameSite lax", () => {
    const { session, saveUninitialized } = resolveMiddlewareOptions(undefined);
    assert.equal(saveUninitialized, false);
    assert.deepEqual(session, { cookieOnFirstWrite: true, trustProxy: false, httpOnly: true, sameSite: 'lax', path: '/' });
  });

  for (const [options, message] of [
    [{ store: {} }, /mongosess is the store/],
    [{ genid: () => 'x' }, /ids are made by mongosess/],
    [{ rolling: true }, /MongoSess\.connect\(\{ rolling: true/],
    [{ cookie: { maxAge: 1 } }, /MongoSess\.connect\(\{ expires \}\)/],
    [{ cookie: { expires: new Date() } }, /MongoSess\.connect\(\{ expires \}\)/],
    [{ secrt: 'x' }, /unknown option "secrt"/],
    [{ secret: '' }, /secret must be/],
    [{ secret: 'a', keys: ['b'] }, /secret or keys, not both/],
    [{ cookie: { sameSite: 'loose' } }, /cookie\.sameSite must be/],
    [{ unset: 'drop' }, /unset must be/],
    [{ adopt: { secret: 'old' } }, /adopt\.collection must be/],
    [{ adopt: { secret: [], collection } }, /adopt\.secret must be/],
    [{ name: 'connect.sid', adopt: { secret: 'old', collection } }, /give the mongosess cookie another name/],
  ] as const) {
    it(`refuses ${JSON.stringify(options)}`, () => {
      assert.throws(
        () => resolveMiddlewareOptions(options),
        (err: Error) => err instanceof MongoSessConfigError && message.test(err.message),
      );
    });
  }
});

describe("express-session's signed cookie (adopt)", () => {
  const sign = (id: string, secret: string) => `s:${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`;

  it('reads the id of a cookie signed by any of the secrets, URL-encoded as express-session sends it', () => {
    assert.equal(unsignOldCookie(encodeURIComponent(sign('abc', 'old')), ['new', 'old']), 'abc');
    assert.equal(unsignOldCookie(sign('a.b', 'new'), ['new']), 'a.b');
  });

  it('gives nothing for unsigned, badly signed, truncated or malformed cookies', () => {
    for (const raw of [
      undefined,
      '',
      'abc',
      's:abc',
      's:abc.',
      `${sign('abc', 'other')}`,
      sign('abc', 'new').slice(0, -1),
      '%E0%A4%A',
      's:.sig',
    ]) {
      assert.equal(unsignOldCookie(raw, ['new']), undefined, String(raw));
    }
  });
});
