// Per-request (cookie) options: defaults, Secure rules and caching.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FOURTEEN_DAYS_MS } from '../../src/connect-options.js';
import { resolveSessionOptions } from '../../src/session-options.js';

describe('session options', () => {
  it('defaults', () => {
    const config = resolveSessionOptions(undefined);
    assert.equal(config.name, 'sess');
    assert.equal(config.sigName, 'sess.sig');
    assert.equal(config.signer, undefined);
    assert.equal(config.expires, FOURTEEN_DAYS_MS);
    assert.equal(config.secure, undefined, 'decided per request');
    assert.equal(config.httpOnly, true);
    assert.equal(config.sameSite, 'lax');
    assert.equal(config.path, '/');
    assert.equal(config.domain, undefined);
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
});
