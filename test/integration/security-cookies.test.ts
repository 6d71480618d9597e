// Security, the cookie: safe attributes by default (Secure over TLS, also behind a
// trusted proxy), __Host- names, validated attribute values, key rotation, and hostile cookies
// that must end as a fresh session without a database command, never a 500.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Keygrip from 'keygrip';
import MongoSess, { MongoSessConfigError, type SessionOptions } from '../../src/index.js';
import { newSessionId } from '../../src/session/id.js';
import { Browser, rawRequest, send, serve, type Reply } from '../helpers/http.js';
import { cookiesOf, sessionApp, type SessionApp, type SetCookie, type TlsMaterial } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';
import { selfSignedCertificate } from '../helpers/tls-cert.js';

const _HOUR = 3_600_000;
const ID = /^[A-Za-z0-9_-]{43}$/;
const NEWEST = 'rotation-key-newest-41c2';
const OLDER = 'rotation-key-older-9ab7';
const REMOVED = 'rotation-key-removed-07de';

const fixture = sessionFixture('sec_cookie');
const { commands, reset } = fixture;
let app: SessionApp;
let https: SessionApp | undefined;
let noTls = '';

function hmac(algorithm: 'sha256' | 'sha1', key: string, data: string): string {
  return createHmac(algorithm, key).update(data).digest('base64url');
}

function cookie(reply: Reply, name: string): SetCookie {
  const found = cookiesOf(reply).get(name);
  assert.ok(found, `the reply sets ${name}: ${reply.setCookie.join(' | ')}`);
  return found;
}

/** The attributes a session cookie must carry by default, Secure aside. */
function assertSafeDefaults(c: SetCookie): void {
  assert.equal(c.attrs['httponly'], true, `${c.name}: HttpOnly`);
  assert.equal(c.attrs['samesite'], 'lax', `${c.name}: SameSite=Lax`);
  assert.equal(c.attrs['path'], '/', `${c.name}: Path=/`);
  assert.equal(c.attrs['domain'], undefined, `${c.name}: host-only`);
}

describe('security: cookies', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
    const tls = selfSignedCertificate();
    if ('unavailable' in tls) noTls = tls.unavailable;
    else https = await sessionApp({ tls: tls as TlsMaterial });
  });

  after(async () => {
    await https?.close();
    await fixture.stop();
  });

  describe('attributes', () => {
    it('defaults over plain http: HttpOnly, SameSite=Lax, Path=/, host-only, no Secure (unsigned and signed)', async () => {
      for (const options of [{}, { keys: [NEWEST] }] as SessionOptions[]) {
        const reply = await app.run((s) => s.sid, { options });
        assert.equal(reply.status, 200);
        const names = options.keys ? ['sess', 'sess.sig'] : ['sess'];
        assert.deepEqual([...cookiesOf(reply).keys()].sort(), names);
        for (const name of names) {
          assertSafeDefaults(cookie(reply, name));
          assert.equal(cookie(reply, name).attrs['secure'], undefined, `${name}: no Secure over plain http`);
        }
      }
    });

    it('over TLS (https with a self-signed certificate made by openssl): Secure by default; secure: false turns it off', async (t) => {
      if (!https) {
        t.skip(noTls);
        return;
      }
      const reply = await https.run((s) => s.get(), { options: { keys: [NEWEST] } });
      assert.equal(reply.status, 200, reply.body);
      for (const name of ['sess', 'sess.sig']) {
        assertSafeDefaults(cookie(reply, name));
        assert.equal(cookie(reply, name).attrs['secure'], true, `${name}: Secure over TLS`);
      }
      const off = await https.run((s) => s.sid, { options: { secure: false } });
      assert.equal(cookie(off, 'sess').attrs['secure'], undefined, 'secure: false forces it off');
      assertSafeDefaults(cookie(off, 'sess'));
    });

    it('X-Forwarded-Proto: https gives Secure only with trustProxy: true; a client cannot claim it otherwise', async () => {
      const cases: Array<[SessionOptions, Record<string, string | string[]>, boolean]> = [
        [{ trustProxy: true }, { 'x-forwarded-proto': 'https' }, true],
        // A proxy that appends: the first value is the client's scheme at the proxy nearest to it
        // (as Express's req.protocol and Koa's ctx.protocol read it), however many hops follow.
        [{ trustProxy: true }, { 'x-forwarded-proto': 'HTTPS, http' }, true],
        [{ trustProxy: true }, { 'x-forwarded-proto': 'https,http,http' }, true],
        [{ trustProxy: true }, { 'x-forwarded-proto': 'http, https' }, false],
        [{ trustProxy: true }, { 'x-forwarded-proto': ', https' }, false],
        [{ trustProxy: true }, { 'x-forwarded-proto': 'https-ish' }, false],
        // Several header lines are one list, in order (Node joins them with ', ').
        [{ trustProxy: true }, { 'x-forwarded-proto': ['https', 'http'] }, true],
        [{ trustProxy: true }, { 'x-forwarded-proto': ['http', 'https'] }, false],
        [{ trustProxy: true }, { 'x-forwarded-proto': 'http' }, false],
        [{ trustProxy: true }, {}, false],
        [{}, { 'x-forwarded-proto': 'https' }, false],
        [{ trustProxy: false }, { 'x-forwarded-proto': 'https' }, false],
      ];
      for (const [options, headers, secure] of cases) {
        const reply = await app.run((s) => s.sid, { options, headers });
        assert.equal(reply.status, 200, reply.body);
        const c = cookie(reply, 'sess');
        assert.equal(c.attrs['secure'] === true, secure, `${JSON.stringify(options)} ${JSON.stringify(headers)}`);
        assertSafeDefaults(c);
      }
    });

    it("secure: true forces Secure over plain http and never throws the cookies package's 'Cannot send secure cookie over unencrypted connection'", async () => {
      const options: SessionOptions = { secure: true, keys: [NEWEST] };
      const browser = new Browser();
      const steps: Array<[string, Parameters<SessionApp['run']>[0]]> = [
        ['new session', (s) => s.sid],
        ['set', (s) => s.set({ a: 1 }).then(() => s.sid)],
        ['regenerate', (s) => s.regenerate()],
        [
          'expire',
          (s) => {
            s.expire();
            return true;
          },
        ],
        ['end', (s) => s.end()],
      ];
      const ids: string[] = [];
      for (const [what, step] of steps) {
        // The browser would not send Secure cookies back over http: pass them by hand.
        const jarred = await browser.jar.getCookies(app.url.replace('http:', 'https:'));
        const header = jarred.map((c) => `${c.key}=${c.value}`).join('; ');
        const reply = await app.run(step, { options, headers: header ? { cookie: header } : {} });
        assert.equal(reply.status, 200, `${what}: ${reply.body}`);
        assert.doesNotMatch(reply.body, /Cannot send secure cookie/);
        if (what === 'set') assert.equal(reply.json(), ids[0], 'the Secure cookie came back: same session');
        const sent = cookiesOf(reply).get('sess')?.value;
        if (sent) ids.push(sent);
        for (const c of cookiesOf(reply).values()) {
          assert.equal(c.attrs['secure'], true, `${what}: ${c.name} is Secure`);
          await browser.jar.setCookie(`${c.name}=${c.value}; Path=/; Secure`, app.url.replace('http:', 'https:'));
        }
      }
      // new session, regenerate (a new id, so the cookie did travel back), end (cleared)
      assert.equal(ids.length, 3, ids.join());
      assert.notEqual(ids[0], ids[1]);
      assert.equal(app.errors.filter((e) => /secure cookie/i.test(String(e))).length, 0);
    });

    it('__Host- cookie names get Secure, Path=/ and no Domain even over http; domain, another path or secure: false with them is a config error', async () => {
      const reply = await app.run((s) => s.sid, { options: { cookieName: '__Host-sess', keys: [NEWEST] } });
      assert.equal(reply.status, 200, reply.body);
      for (const name of ['__Host-sess', '__Host-sess.sig']) {
        const c = cookie(reply, name);
        assert.equal(c.attrs['secure'], true, `${name}: Secure`);
        assert.equal(c.attrs['path'], '/', `${name}: Path=/`);
        assert.equal(c.attrs['domain'], undefined, `${name}: no Domain`);
      }
      const bad: SessionOptions[] = [
        { cookieName: '__Host-sess', domain: 'example.com' },
        { cookieName: '__Host-sess', path: '/app' },
        { cookieName: '__Host-sess', secure: false },
        { cookieName: '__Secure-sess', secure: false },
      ];
      for (const options of bad) {
        const refused = await app.run(() => 'constructed', { options });
        assert.equal(refused.status, 500, JSON.stringify(options));
        assert.equal(refused.json().error, 'MongoSessConfigError', JSON.stringify(options));
        assert.deepEqual(refused.setCookie, [], 'no cookie goes out with a bad configuration');
      }
    });

    it("attribute values are validated: a ';', CR/LF, space or control character in path, domain or cookieName is a MongoSessConfigError", async () => {
      const bad: SessionOptions[] = [
        { path: '/;x' },
        { path: '/app; Domain=evil.example' },
        { path: '/a b' },
        { path: '/a\r\nSet-Cookie: x=1' },
        { path: '/a\u0000' },
        { path: 'relative' },
        { path: '/a<b' }, // the cookies package refuses '<' in a path
        { domain: 'example.com; Secure' },
        { domain: 'example.com;' },
        { domain: 'evil.example\r\nSet-Cookie: x=1' },
        { domain: 'exa mple.com' },
        { domain: '' },
        { domain: `${'a'.repeat(64)}.example.com` }, // a label longer than 63
        { cookieName: 'sess; Path=/admin' },
        { cookieName: 'a=b' },
        { cookieName: 'se ss' },
        { cookieName: '' },
      ];
      const server = await serve((req, res) => {
        const results = bad.map((options) => {
          try {
            new MongoSess(req, res, options);
            return 'accepted';
          } catch (err) {
            return err instanceof MongoSessConfigError ? 'MongoSessConfigError' : `${(err as Error).name}: ${(err as Error).message}`;
          }
        });
        send(res, results);
      });
      try {
        const reply = await rawRequest(server.url);
        assert.deepEqual(
          reply.json().map((r: string, i: number) => [JSON.stringify(bad[i]), r]),
          bad.map((options) => [JSON.stringify(options), 'MongoSessConfigError']),
        );
        assert.deepEqual(reply.setCookie, [], 'nothing was sent');
      } finally {
        await server.close();
      }
    });
  });

  describe('key rotation', () => {
    it('keys: [newest, older]: a cookie signed with the older key is accepted and re-signed with the newest in the same response', async () => {
      const browser = new Browser();
      const first = await app.run((s) => s.set({ user: 'ann' }).then(() => s.sid), { browser, options: { keys: [OLDER] } });
      const sid: string = first.json();
      assert.equal(cookie(first, 'sess.sig').value, hmac('sha256', OLDER, `sess=${sid}`));

      reset();
      const rotated = await app.run((s) => s.get('user'), { browser, options: { keys: [NEWEST, OLDER] } });
      assert.equal(rotated.json(), 'ann', 'the older signature is accepted');
      assert.equal(cookie(rotated, 'sess').value, sid, 'same session');
      assert.equal(cookie(rotated, 'sess.sig').value, hmac('sha256', NEWEST, `sess=${sid}`), 're-signed with the newest key');
      // The read, then one guarded touch that proves the session still live before it is re-signed
      // (a regenerate() in between must not have its new cookie overwritten: task h2).
      assert.deepEqual(
        commands.map((c) => c.commandName),
        ['find', 'update'],
      );
      const [touch] = commands[1]?.command['updates'] ?? [];
      assert.deepEqual(touch.q.ended, { $ne: true }, 'the touch matches only a session not ended');
      assert.ok(touch.q.expiresAt.$gt instanceof Date, 'nor expired');
      assert.deepEqual(Object.keys(touch.u.$set), ['seenAt'], 'and changes no expiry');

      reset();
      const later = await app.run((s) => s.get('user'), { browser, options: { keys: [NEWEST] } });
      assert.equal(later.json(), 'ann', 'the re-signed cookie works once the older key is retired');
      assert.deepEqual(later.setCookie, [], 'a cookie signed with the newest key is not sent again');
      assert.deepEqual(
        commands.map((c) => c.commandName),
        ['find'],
        'and its read is one command again',
      );
    });

    it('keys: [newest, older]: a write with an older-key cookie re-signs it with no extra command (the write proves the session live)', async () => {
      const browser = new Browser();
      const sid: string = (await app.run((s) => s.set({ user: 'bo' }).then(() => s.sid), { browser, options: { keys: [OLDER] } })).json();
      reset();
      const written = await app.run((s) => s.set({ seen: 1 }), { browser, options: { keys: [NEWEST, OLDER] } });
      assert.equal(written.status, 200, written.body);
      assert.equal(cookie(written, 'sess').value, sid, 'same session');
      assert.equal(cookie(written, 'sess.sig').value, hmac('sha256', NEWEST, `sess=${sid}`), 're-signed with the newest key');
      assert.deepEqual(
        commands.map((c) => c.commandName),
        ['findAndModify'],
      );
    });

    it('a cookie signed with a key that was removed from the list is a fresh session, found without a database command', async () => {
      const browser = new Browser();
      const sid: string = (
        await app.run((s) => s.set({ user: 'bob' }).then(() => s.sid), { browser, options: { keys: [REMOVED] } })
      ).json();
      for (const sig of [hmac('sha256', REMOVED, `sess=${sid}`), hmac('sha1', REMOVED, `sess=${sid}`)]) {
        reset();
        const reply = await app.run((s) => s.get(), {
          options: { keys: [NEWEST, OLDER] },
          headers: { cookie: `sess=${sid}; sess.sig=${sig}` },
        });
        assert.equal(reply.status, 200);
        assert.deepEqual(Object.keys(reply.json()), ['_id']);
        assert.notEqual(reply.json()._id, sid);
        assert.equal(cookie(reply, 'sess').value, reply.json()._id);
        assert.deepEqual(
          commands.map((c) => c.commandName),
          [],
          'no look-up for a cookie with a bad signature',
        );
      }
    });

    it("SHA-1 signatures (Keygrip's default, as 0.4 signed) are accepted and re-signed with HMAC-SHA-256", async () => {
      const browser = new Browser();
      const sid: string = (await app.run((s) => s.set({ user: 'cy' }).then(() => s.sid), { browser, options: { keys: [OLDER] } })).json();
      const cases: Array<[string[], string, string]> = [
        [[OLDER], OLDER, OLDER], // same key, old algorithm
        [[NEWEST, OLDER], OLDER, NEWEST], // older key, old algorithm
      ];
      for (const [keys, signingKey, expectedKey] of cases) {
        const sha1 = new Keygrip([signingKey]).sign(`sess=${sid}`);
        assert.equal(sha1, hmac('sha1', signingKey, `sess=${sid}`));
        const reply = await app.run((s) => s.get('user'), { options: { keys }, headers: { cookie: `sess=${sid}; sess.sig=${sha1}` } });
        assert.equal(reply.json(), 'cy', `a SHA-1 signature by ${signingKey} is accepted with keys ${keys.join(',')}`);
        assert.equal(cookie(reply, 'sess').value, sid);
        assert.equal(cookie(reply, 'sess.sig').value, hmac('sha256', expectedKey, `sess=${sid}`), 're-signed with SHA-256');
      }
    });
  });

  describe('hostile cookies', () => {
    let victim: Browser;
    let victimId = '';
    let victimSig = '';
    let errorsBefore = 0;
    const signedOptions: SessionOptions = { keys: [NEWEST] };

    before(async () => {
      victim = new Browser();
      await app.run((s) => s.set({ user: 'victim', role: 'admin' }), { browser: victim, options: signedOptions });
      victimId = (await victim.cookie(app.url, 'sess')) ?? '';
      victimSig = (await victim.cookie(app.url, 'sess.sig')) ?? '';
      assert.match(victimId, ID);
      errorsBefore = app.errors.length;
    });

    /** Sends `cookie` and checks: 200, a fresh empty session with a new cookie, and no database command. */
    async function assertFresh(cookieHeader: string, options: SessionOptions = {}): Promise<void> {
      reset();
      const reply = await app.run(async (s) => [await s.get(), await s.get('user'), await s.del('user')], {
        options,
        headers: { cookie: cookieHeader },
      });
      assert.equal(reply.status, 200, reply.body);
      const [view, user] = reply.json();
      assert.deepEqual(Object.keys(view), ['_id'], 'an empty session');
      assert.equal(user, null);
      assert.match(view._id, ID);
      assert.notEqual(view._id, victimId);
      assert.equal(cookie(reply, 'sess').value, view._id, 'with its new cookie in the response');
      if (options.keys) assert.equal(cookie(reply, 'sess.sig').value, hmac('sha256', NEWEST, `sess=${view._id}`));
      assert.deepEqual(
        commands.map((c) => c.commandName),
        [],
        'no database command for a malformed or badly signed id',
      );
    }

    const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1'); // raw UTF-8 bytes on the wire

    const unsignedCases: Array<[string, () => string]> = [
      ['oversized: an 8 KB value', () => `sess=${'A'.repeat(8192)}`],
      ['oversized: a real id followed by 8 KB', () => `sess=${victimId}${'A'.repeat(8000)}`],
      ['a real id with one character more', () => `sess=${victimId}x`],
      ['a real id with one character less', () => `sess=${victimId.slice(0, 42)}`],
      ['a real id with padding', () => `sess=${victimId}=`],
      ['a real id in base64 instead of base64url', () => `sess=${Buffer.from(victimId, 'base64url').toString('base64')}`],
      ['duplicated: sess=a; sess=b', () => 'sess=a; sess=b'],
      ['duplicated, both empty', () => 'sess=; sess='],
      ['non-ASCII: 43 UTF-8 letters', () => `sess=${latin1('é'.repeat(43))}`],
      ['non-ASCII: a real id with a UTF-8 character swapped in', () => `sess=${victimId.slice(0, 42)}${latin1('ü')}`],
      ['non-ASCII: Latin-1 bytes', () => `sess=${'\u00ff'.repeat(43)}`],
      ['JSON-looking: {"$ne":null}', () => 'sess={"$ne":null}'],
      ['JSON-looking: cookie-parser j: prefix', () => 'sess=j:{"$gt":""}'],
      ['JSON-looking, URL-encoded', () => `sess=${encodeURIComponent('{"$ne":null}')}`],
      ['JSON-looking: an array', () => 'sess=["a","b"]'],
      ['query-string style: sess[$ne]=1', () => 'sess[$ne]=1'],
      ['quoted JSON', () => 'sess="{\\"$ne\\":null}"'],
      ['prototype words', () => 'sess=__proto__'],
      ['a 24-hex id in upper case (not a 0.4 id)', () => `sess=${'ABCDEF0123456789ABCDEF01'}`],
      ['23 hex characters', () => `sess=${'a'.repeat(23)}`],
      ['percent-encoded NUL', () => 'sess=%00'],
      ['path traversal', () => 'sess=../../../../etc/passwd'],
      ['only separators', () => ';;; ;sess;=;='],
      ['many cookies', () => Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join('; ')],
    ];

    for (const [name, header] of unsignedCases) {
      it(`unsigned: ${name} → a fresh session, no database command`, async () => {
        await assertFresh(header());
      });
    }

    const tamperedCases: Array<[string, () => string]> = [
      ['no signature', () => `sess=${victimId}`],
      ['an empty signature', () => `sess=${victimId}; sess.sig=`],
      [
        'the last character of the signature changed',
        () => `sess=${victimId}; sess.sig=${victimSig.slice(0, -1)}${victimSig.endsWith('A') ? 'B' : 'A'}`,
      ],
      ['a truncated signature', () => `sess=${victimId}; sess.sig=${victimSig.slice(0, 20)}`],
      ['a signature with one character more', () => `sess=${victimId}; sess.sig=${victimSig}A`],
      ['an 8 KB signature', () => `sess=${victimId}; sess.sig=${'A'.repeat(8192)}`],
      ['the signature of another id', () => `sess=${victimId}; sess.sig=${hmac('sha256', NEWEST, `sess=${newSessionId()}`)}`],
      ["another id with the victim's signature", () => `sess=${newSessionId()}; sess.sig=${victimSig}`],
      ['a signature made for another cookie name', () => `sess=${victimId}; sess.sig=${hmac('sha256', NEWEST, `other=${victimId}`)}`],
      ['a signature made with a guessed key', () => `sess=${victimId}; sess.sig=${hmac('sha256', 'secret', `sess=${victimId}`)}`],
      ['a SHA-1 signature made with a guessed key', () => `sess=${victimId}; sess.sig=${new Keygrip(['secret']).sign(`sess=${victimId}`)}`],
      ['a bad signature before the good one', () => `sess=${victimId}; sess.sig=forged; sess.sig=${victimSig}`],
      ['JSON as signature', () => `sess=${victimId}; sess.sig={"$ne":null}`],
      ['non-ASCII signature', () => `sess=${victimId}; sess.sig=${latin1('sïgnätüre')}`],
      ['a malformed id carrying a valid signature', () => `sess={"$ne":null}; sess.sig=${hmac('sha256', NEWEST, 'sess={"$ne":null}')}`],
      [
        'an oversized id carrying a valid signature',
        () => `sess=${'A'.repeat(8192)}; sess.sig=${hmac('sha256', NEWEST, `sess=${'A'.repeat(8192)}`)}`,
      ],
    ];

    for (const [name, header] of tamperedCases) {
      it(`signed: ${name} → a fresh session, no database command`, async () => {
        await assertFresh(header(), signedOptions);
      });
    }

    it('after all that, the server answers and the victim session is intact', async () => {
      const reply = await app.run((s) => s.get(), { browser: victim, options: signedOptions });
      assert.equal(reply.status, 200);
      assert.equal(reply.json()._id, victimId);
      assert.equal(reply.json().user, 'victim');
      assert.equal(reply.json().role, 'admin');
      assert.deepEqual(app.errors.slice(errorsBefore), [], 'no request failed');
    });
  });
});
