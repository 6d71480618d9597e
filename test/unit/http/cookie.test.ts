// The session cookie is read and written through the cookies package, signed by Keygrip: its
// header text is the one mongosess 0.4 wrote (cookies.set with these attributes), on real request
// and response objects.
import assert from 'node:assert/strict';
import { IncomingMessage, OutgoingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import Cookies from 'cookies';
import Keygrip from 'keygrip';
import { fetchExchange, nodeExchange, upgradeExchange } from '../../../src/http/cookie-exchange.js';
import { SessionCookie } from '../../../src/http/cookie.js';
import { resolveSessionOptions, type SessionOptions } from '../../../src/config/session-options.js';

const ID = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ';
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

function exchange(cookie?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.headers = cookie === undefined ? {} : { cookie };
  return { req, res: new ServerResponse(req) };
}

function sessionCookie(options: SessionOptions, cookie?: string): { cookie: SessionCookie; res: ServerResponse } {
  const { req, res } = exchange(cookie);
  return { cookie: new SessionCookie(nodeExchange(req, res), resolveSessionOptions(options)), res };
}

/** What mongosess 0.4's way (the cookies package, signing with a Keygrip of the keys) wrote for the same cookie. */
function reference(options: SessionOptions, value: string, expires: Date | undefined, before: string[]): unknown {
  const config = resolveSessionOptions(options);
  const { req, res } = exchange();
  if (before.length > 0) res.setHeader('Set-Cookie', before);
  const secure = config.secure ?? false;
  const keys = Array.isArray(options.keys) ? new Keygrip(options.keys, options.signatureAlgorithm ?? 'sha256') : undefined;
  const cookies = new Cookies(req, res, { secure, ...(keys ? { keys } : {}) });
  cookies.set(config.name, value, {
    overwrite: true,
    signed: keys !== undefined,
    secure,
    httpOnly: config.httpOnly,
    path: config.path,
    ...(expires ? { expires } : {}),
    ...(config.sameSite ? { sameSite: config.sameSite } : {}),
    ...(config.domain ? { domain: config.domain } : {}),
    ...(config.priority ? { priority: config.priority } : {}),
    ...(config.partitioned ? { partitioned: true } : {}),
  });
  return res.getHeader('set-cookie');
}

const CONFIGS: SessionOptions[] = [
  {},
  { keys: ['k1', 'k0'] },
  { keys: ['k'], cookieName: 'my.sess+1', sameSite: false, httpOnly: false, secure: true, path: '/app', domain: 'example.com' },
  { cookieName: '__Host-s', sameSite: 'strict', keys: [Buffer.from('secret')], signatureAlgorithm: 'sha512' },
  { expires: 0, sameSite: 'none' },
  { keys: ['k'], cookieName: '__Host-embedded', sameSite: 'none', partitioned: true, priority: 'high' },
];

/** When the session the cookie belongs to expires in the database. */
const SESSION_EXPIRY = new Date(NOW + 3_600_000);

describe('session cookie headers', () => {
  for (const options of CONFIGS) {
    it(`written as the cookies package writes them: ${JSON.stringify(options)}`, () => {
      const config = resolveSessionOptions(options);
      const before = ['other=1; path=/', `${config.name}=old; path=/`, `${config.sigName}=oldsig; path=/`, 'later=2'];
      for (const preset of [[], before]) {
        const sent = sessionCookie(options);
        if (preset.length > 0) sent.res.setHeader('Set-Cookie', preset);
        sent.cookie.send(ID, NOW, SESSION_EXPIRY);
        // Without its own `expires`, the cookie expires with the session.
        const expires = config.expires === 0 ? undefined : config.expires === undefined ? SESSION_EXPIRY : new Date(NOW + config.expires);
        assert.deepEqual(sent.res.getHeader('set-cookie'), reference(options, ID, expires, preset));

        const cleared = sessionCookie(options);
        if (preset.length > 0) cleared.res.setHeader('Set-Cookie', preset);
        cleared.cookie.clear();
        assert.deepEqual(cleared.res.getHeader('set-cookie'), reference(options, '', new Date(0), preset));
      }
    });
  }

  it('the Partitioned and Priority attributes, spelled as the cookies package spells them', () => {
    const { cookie, res } = sessionCookie({ keys: ['k'], sameSite: 'none', partitioned: true, priority: 'low' });
    cookie.send(ID, NOW, SESSION_EXPIRY);
    const expires = SESSION_EXPIRY.toUTCString();
    assert.deepEqual(res.getHeader('set-cookie'), [
      `sess=${ID}; path=/; expires=${expires}; priority=low; samesite=none; secure; httponly; partitioned`,
      `sess.sig=${new Keygrip(['k'], 'sha256').sign(`sess=${ID}`)}; path=/; expires=${expires}; priority=low; samesite=none; secure; httponly; partitioned`,
    ]);
  });

  it('a session cookie sent twice in one response is one line (and one signature line)', () => {
    const { cookie, res } = sessionCookie({ keys: ['k'] });
    cookie.send(ID, NOW, SESSION_EXPIRY);
    cookie.asBrowserSession(ID);
    const lines = res.getHeader('set-cookie') as string[];
    assert.equal(lines.length, 2);
    assert.deepEqual(lines, reference({ keys: ['k'] }, ID, undefined, []));
  });

  it('withdraw() takes back the session cookie and its signature, and only those', () => {
    const { cookie, res } = sessionCookie({ keys: ['k'] });
    res.setHeader('Set-Cookie', ['other=1; path=/']);
    cookie.send(ID, NOW, SESSION_EXPIRY);
    assert.equal((res.getHeader('set-cookie') as string[]).length, 3);
    cookie.withdraw();
    assert.deepEqual(res.getHeader('set-cookie'), ['other=1; path=/']);

    const alone = sessionCookie({ keys: ['k'] });
    alone.cookie.send(ID, NOW, SESSION_EXPIRY);
    alone.cookie.withdraw();
    assert.equal(alone.res.hasHeader('set-cookie'), false);
  });

  it("steps past Express's res.set to node:http's setHeader, as the cookies package does", () => {
    const { req } = exchange();
    const calls: string[] = [];
    // A response of a framework that wraps setHeader and has Express's res.set.
    const res = Object.assign(new ServerResponse(req), {
      set: () => calls.push('set'),
      setHeader(name: string, value: number | string | readonly string[]) {
        calls.push(`setHeader ${name}`);
        return OutgoingMessage.prototype.setHeader.call(this, name, value);
      },
    });
    new SessionCookie(nodeExchange(req, res), resolveSessionOptions({ keys: ['k'] })).send(ID, NOW, SESSION_EXPIRY);
    assert.deepEqual(calls, []);
    assert.equal((res.getHeader('set-cookie') as string[]).length, 2);
  });

  it('refuses a signature that cannot be a cookie value', () => {
    const grip = { sign: () => 'bad;value', index: () => -1 };
    assert.throws(() => sessionCookie({ keys: grip }).cookie.send(ID, NOW, SESSION_EXPIRY), /cannot be a cookie value/);
  });
});

describe('session cookie reading', () => {
  const sign = (keys: string[], algorithm: string, value = ID) => new Keygrip(keys, algorithm).sign(`sess=${value}`);

  it('reads the value as the cookies package reads it (first match, one pair of quotes removed)', () => {
    const headers = [
      undefined,
      '',
      `sess=${ID}`,
      `a=1;sess=${ID}`,
      `a=1;   sess=${ID}; sess.sig=x`,
      `xsess=1; sess=${ID}`,
      `sess="${ID}"`,
      'sess=',
      'sess=""; sess=second',
      `other=sess=${ID}`,
      `a=1,sess=${ID}`,
      `sess.sig=abc; sess=${ID}`,
    ];
    for (const header of headers) {
      const { req, res } = exchange(header);
      const expected = new Cookies(req, res).get('sess');
      assert.equal(sessionCookie({}, header).cookie.read().value, expected === '' ? undefined : expected, JSON.stringify(header));
    }
  });

  it("signatures: the newest key's is current; an older key's and 0.4's SHA-1 are accepted and to be re-signed; others are no cookie", () => {
    const options = { keys: ['new', 'old'] };
    const read = (sig: string, opts: SessionOptions = options) => sessionCookie(opts, `sess=${ID}; sess.sig=${sig}`).cookie.read();
    assert.deepEqual(read(sign(['new'], 'sha256')), { value: ID, needsResign: false });
    assert.deepEqual(read(sign(['old'], 'sha256')), { value: ID, needsResign: true });
    assert.deepEqual(read(sign(['old'], 'sha1')), { value: ID, needsResign: true }, '0.4: new Keygrip(keys), SHA-1');
    assert.deepEqual(read(sign(['old'], 'sha1'), { ...options, legacySignatures: false }), { value: undefined, needsResign: false });
    assert.deepEqual(read(sign(['other'], 'sha256')), { value: undefined, needsResign: false });
    assert.deepEqual(read(sign(['new'], 'sha256', 'x')), { value: undefined, needsResign: false }, 'signature of another value');
    assert.deepEqual(sessionCookie(options, `sess=${ID}`).cookie.read(), { value: undefined, needsResign: false }, 'no signature');
  });

  it("a caller's Keygrip signs and verifies", () => {
    const grip = new Keygrip(['mine'], 'sha512');
    assert.deepEqual(sessionCookie({ keys: grip }, `sess=${ID}; sess.sig=${grip.sign(`sess=${ID}`)}`).cookie.read(), {
      value: ID,
      needsResign: false,
    });
    const { cookie, res } = sessionCookie({ keys: grip });
    cookie.send(ID, NOW, SESSION_EXPIRY);
    assert.match(String((res.getHeader('set-cookie') as string[])[1]), new RegExp(`^sess\\.sig=${grip.sign(`sess=${ID}`)};`));
  });

  it('reading sets no cookie, whatever the signature (re-signing waits until the session is known live)', () => {
    for (const sig of [sign(['old'], 'sha256'), sign(['old'], 'sha1'), 'bad']) {
      const { cookie, res } = sessionCookie({ keys: ['new', 'old'] }, `sess=${ID}; sess.sig=${sig}`);
      cookie.read();
      assert.equal(res.hasHeader('set-cookie'), false, sig);
    }
  });
});

describe('the exchange port beyond node:http', () => {
  it("a Fetch exchange reads the Request's Cookie header and keeps Set-Cookie lines until closed, then refuses more", () => {
    const request = new Request('https://example.com/', { headers: { cookie: `sess=${ID}`, 'user-agent': 'UA' } });
    const exchange = fetchExchange(request, undefined);
    assert.equal(exchange.encrypted, true, 'an https URL');
    assert.equal(exchange.header('user-agent'), 'UA');
    const cookie = new SessionCookie(exchange, resolveSessionOptions({}));
    assert.deepEqual(cookie.read(), { value: ID, needsResign: false });
    cookie.send(ID, NOW, new Date(NOW + 1000));
    const lines = exchange.response.close();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]![0], 'set-cookie');
    assert.match(lines[0]![1], new RegExp(`^sess=${ID}; path=/; expires=.*; secure; httponly`));
    assert.equal(cookie.writable, false, 'closed: the headers count as sent');
    cookie.clear();
    assert.deepEqual(exchange.response.close(), lines, 'nothing more went in');
  });

  it('an upgrade exchange has no response: nothing is ever written', () => {
    const req = new IncomingMessage(new Socket());
    req.headers = { cookie: `sess=${ID}` };
    const cookie = new SessionCookie(upgradeExchange(req), resolveSessionOptions({}));
    assert.deepEqual(cookie.read(), { value: ID, needsResign: false });
    assert.equal(cookie.writable, false);
  });

  it('with the header option, the id is read from and written to that header, signed as the cookie is', () => {
    const options = resolveSessionOptions({ keys: ['k1'], header: 'x-session-id' });
    const { req, res } = exchange(`sess=${ID}`);
    const cookie = new SessionCookie(nodeExchange(req, res), options);
    assert.deepEqual(cookie.read(), { value: undefined, needsResign: false }, 'the cookie is not read');
    cookie.send(ID, NOW, new Date(NOW + 1000));
    const sent = String(res.getHeader('x-session-id'));
    assert.equal(sent, `${ID}.${new Keygrip(['k1'], 'sha256').sign(`x-session-id=${ID}`)}`);
    assert.equal(res.hasHeader('set-cookie'), false);

    const read = (value: string) => {
      const next = exchange();
      next.req.headers = { 'x-session-id': value };
      return new SessionCookie(nodeExchange(next.req, next.res), options).read();
    };
    assert.deepEqual(read(sent), { value: ID, needsResign: false });
    assert.deepEqual(read(ID), { value: undefined, needsResign: false }, 'unsigned');
    assert.deepEqual(read(`${ID}.forged`), { value: undefined, needsResign: false });
    const older = resolveSessionOptions({ keys: ['k2', 'k1'], header: 'x-session-id' });
    const rotated = exchange();
    rotated.req.headers = { 'x-session-id': sent };
    assert.deepEqual(new SessionCookie(nodeExchange(rotated.req, rotated.res), older).read(), { value: ID, needsResign: true });

    cookie.clear();
    assert.equal(res.getHeader('x-session-id'), '', 'cleared: empty');
    cookie.withdraw();
    assert.equal(res.hasHeader('x-session-id'), false, 'withdrawn');
  });
});
