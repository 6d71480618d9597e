// The session cookie's header text is the cookies package's (as mongosess 0.4 wrote and read it),
// checked against that package itself on real request and response objects.
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import Cookies from 'cookies';
import { readCookie } from '../../src/cookie-header.js';
import { SessionCookie } from '../../src/session-cookie.js';
import { resolveSessionOptions, type SessionOptions } from '../../src/session-options.js';

const ID = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ';
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

function exchange(cookie?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.headers = cookie === undefined ? {} : { cookie };
  return { req, res: new ServerResponse(req) };
}

/** What the cookies package wrote for the same cookie, as mongosess did with it before. */
function reference(options: SessionOptions, value: string, expires: Date | undefined, before: string[]): unknown {
  const config = resolveSessionOptions(options);
  const { req, res } = exchange();
  if (before.length > 0) res.setHeader('Set-Cookie', before);
  const secure = config.secure ?? false;
  const cookies = new Cookies(req, res, { secure });
  const attributes = {
    overwrite: true,
    secure,
    httpOnly: config.httpOnly,
    path: config.path,
    ...(expires ? { expires } : {}),
    ...(config.sameSite ? { sameSite: config.sameSite } : {}),
    ...(config.domain ? { domain: config.domain } : {}),
  };
  cookies.set(config.name, value, attributes);
  if (config.signer) cookies.set(config.sigName, config.signer.sign(`${config.name}=${value}`), attributes);
  return res.getHeader('set-cookie');
}

const CONFIGS: SessionOptions[] = [
  {},
  { keys: ['k1', 'k0'] },
  { keys: ['k'], cookieName: 'my.sess+1', sameSite: false, httpOnly: false, secure: true, path: '/app', domain: 'example.com' },
  { cookieName: '__Host-s', sameSite: 'strict', keys: [Buffer.from('secret')], signatureAlgorithm: 'sha512' },
  { expires: 0, sameSite: 'none' },
];

/** When the session the cookie belongs to expires in the database. */
const SESSION_EXPIRY = new Date(NOW + 3_600_000);

describe('session cookie headers', () => {
  for (const options of CONFIGS) {
    it(`write as the cookies package did: ${JSON.stringify(options)}`, () => {
      const config = resolveSessionOptions(options);
      const before = ['other=1; path=/', `${config.name}=old; path=/`, `${config.sigName}=oldsig; path=/`, 'later=2'];
      for (const preset of [[], before]) {
        const sent = exchange();
        if (preset.length > 0) sent.res.setHeader('Set-Cookie', preset);
        new SessionCookie(sent.req, sent.res, config).send(ID, NOW, SESSION_EXPIRY);
        // Without its own `expires`, the cookie expires with the session.
        const expires = config.expires === 0 ? undefined : config.expires === undefined ? SESSION_EXPIRY : new Date(NOW + config.expires);
        assert.deepEqual(sent.res.getHeader('set-cookie'), reference(options, ID, expires, preset));

        const cleared = exchange();
        if (preset.length > 0) cleared.res.setHeader('Set-Cookie', preset);
        new SessionCookie(cleared.req, cleared.res, config).clear();
        assert.deepEqual(cleared.res.getHeader('set-cookie'), reference(options, '', new Date(0), preset));
      }
    });
  }

  it('a session cookie sent twice in one response is one line (and one signature line)', () => {
    const config = resolveSessionOptions({ keys: ['k'] });
    const { req, res } = exchange();
    const cookie = new SessionCookie(req, res, config);
    cookie.send(ID, NOW, SESSION_EXPIRY);
    cookie.asBrowserSession(ID);
    const lines = res.getHeader('set-cookie') as string[];
    assert.equal(lines.length, 2);
    assert.deepEqual(lines, reference({ keys: ['k'] }, ID, undefined, []));
  });

  it('read as the cookies package did', () => {
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
      for (const name of ['sess', 'sess.sig', 'my.sess+1', '__Host-s']) {
        const { req, res } = exchange(header);
        assert.equal(readCookie(header, name), new Cookies(req, res).get(name), `${name} in ${JSON.stringify(header)}`);
      }
    }
  });

  it('refuses a signature that cannot be a cookie value', () => {
    const grip = { sign: () => 'bad;value', index: () => -1 };
    const { req, res } = exchange();
    assert.throws(
      () => new SessionCookie(req, res, resolveSessionOptions({ keys: grip })).send(ID, NOW, SESSION_EXPIRY),
      /cannot be a cookie value/,
    );
  });
});
