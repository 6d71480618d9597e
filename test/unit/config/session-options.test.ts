// Per-request (cookie) options: defaults, Secure rules and caching.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveSessionOptions } from '../../../src/config/session-options.js';

describe('session options', () => {
  it('defaults', () => {
    const config = resolveSessionOptions(undefined);
    assert.equal(config.name, 'sess');
    assert.equal(config.sigName, 'sess.sig');
    assert.equal(config.signer, undefined);
    assert.equal(config.expires, undefined, 'the cookie follows the session');
    assert.equal(config.cookieOnFirstWrite, false, '0.4: the cookie goes out on first contact');
    assert.ok(config.legacySigner === undefined, 'no keys, no signers');
    assert.equal(config.secure, undefined, 'decided per request');
    assert.equal(config.httpOnly, true);
    assert.equal(config.sameSite, 'lax');
    assert.equal(config.path, '/');
    assert.equal(config.domain, undefined);
    assert.equal(config.partitioned, false);
    assert.equal(config.priority, undefined, 'no Priority attribute');
  });

  it('an options object is resolved once', () => {
    const options = { cookieName: 'x', keys: ['k'] };
    assert.equal(resolveSessionOptions(options), resolveSessionOptions(options));
  });

  it('prefixes and SameSite=None force Secure, and refuse contradictions', () => {
    assert.equal(resolveSessionOptions({ cookieName: '__Host-s' }).secure, true);
    assert.equal(resolveSessionOptions({ cookieName: '__Secure-s' }).secure, true);
    assert.equal(resolveSessionOptions({ sameSite: 'none' }).secure, true);
    assert.throws(() => resolveSessionOptions({ cookieName: '__Host-s', domain: 'example.com' }), /requires path "\/" and no domain/);
    assert.throws(() => resolveSessionOptions({ cookieName: '__Host-s', path: '/app' }), /requires path "\/" and no domain/);
    assert.throws(() => resolveSessionOptions({ sameSite: 'none', secure: false }), /requires Secure; remove secure: false/);
  });

  it('cookie-name prefixes count whatever their case, as browsers match them', () => {
    assert.equal(resolveSessionOptions({ cookieName: '__HOST-s' }).secure, true);
    assert.equal(resolveSessionOptions({ cookieName: '__secure-s' }).secure, true);
    assert.throws(() => resolveSessionOptions({ cookieName: '__host-s', path: '/app' }), /requires path "\/" and no domain/);
  });

  it('SHA-1 signatures of 0.4 can be turned off once the migration is done', () => {
    assert.ok(resolveSessionOptions({ keys: ['k'] }).legacySigner, 'accepted by default');
    assert.equal(resolveSessionOptions({ keys: ['k'], legacySignatures: false }).legacySigner, undefined);
  });

  it('partitioned (CHIPS) forces Secure, and refuses secure: false', () => {
    assert.equal(resolveSessionOptions({ partitioned: true }).secure, true);
    assert.equal(resolveSessionOptions({ partitioned: true }).partitioned, true);
    assert.equal(resolveSessionOptions({ partitioned: false }).secure, undefined);
    assert.throws(
      () => resolveSessionOptions({ partitioned: true, secure: false }),
      /partitioned: true requires Secure; remove secure: false/,
    );
    assert.throws(() => resolveSessionOptions({ partitioned: 'yes' }), /partitioned must be true or false, got: "yes"/);
  });

  it("priority is 'low', 'medium' or 'high'", () => {
    for (const priority of ['low', 'medium', 'high'] as const) assert.equal(resolveSessionOptions({ priority }).priority, priority);
    assert.throws(() => resolveSessionOptions({ priority: 'HIGH' }), /priority must be one of 'low', 'medium', 'high', got: "HIGH"/);
    assert.throws(() => resolveSessionOptions({ priority: 1 }), /priority must be one of 'low', 'medium', 'high', got: 1/);
  });

  it('a path or domain the cookies package would refuse on every request is refused at configuration', () => {
    assert.throws(() => resolveSessionOptions({ path: '/a<b' }), /path must start with \/ and hold no/);
    assert.equal(resolveSessionOptions({ path: '/a=b:c' }).path, '/a=b:c');
    const label63 = 'a'.repeat(63);
    assert.equal(resolveSessionOptions({ domain: `${label63}.example.com` }).domain, `${label63}.example.com`);
    assert.throws(() => resolveSessionOptions({ domain: `a${label63}.example.com` }), /domain must be a host name/);
  });

  it('a duration that would give an invalid cookie date is refused at configuration', () => {
    assert.throws(() => resolveSessionOptions({ expires: 1e16 }), /expires must be at most \d+ ms \(a date past the year 9999/);
    assert.equal(resolveSessionOptions({ expires: 100 * 365 * 24 * 3600 * 1000 }).expires, 100 * 365 * 24 * 3600 * 1000);
  });

  it('header names the id header: a lower-case token of your own', () => {
    assert.equal(resolveSessionOptions(undefined).header, undefined, 'by default the id travels in the cookie');
    assert.equal(resolveSessionOptions({ header: 'x-session-id' }).header, 'x-session-id');
    for (const header of ['X-Session-Id', 'x session', 'cookie', 'set-cookie', 'authorization']) {
      assert.throws(
        () => resolveSessionOptions({ header }),
        /header must be a lower-case header name of your own, such as 'x-session-id', got: /,
      );
    }
    assert.throws(() => resolveSessionOptions({ header: '' }), /header must be a non-empty string/);
  });
});
