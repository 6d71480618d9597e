import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handleOf, isSessionHandle } from '../../../src/session/handle.js';
import { hashSessionId, isSessionId, newSessionId } from '../../../src/session/id.js';

describe('session handles', () => {
  it('are a digest of the digest: neither the id nor the digest, and not in the id format', () => {
    const id = newSessionId();
    const digest = hashSessionId(id);
    const handle = handleOf(digest);
    assert.ok(isSessionHandle(handle));
    assert.equal(isSessionId(handle), false, 'a handle sent as a cookie fails the id format');
    assert.equal(handle.includes(id), false);
    assert.equal(handle.includes(digest), false);
    // Not the digest a cookie carrying the handle's body would be stored under either.
    const body = handle.slice('msh1.'.length);
    assert.ok(isSessionId(body));
    assert.notEqual(hashSessionId(body), digest);
  });

  it('are stable (any process computes the same) and distinct per session', () => {
    const digest = hashSessionId(newSessionId());
    assert.equal(handleOf(digest), handleOf(digest));
    const many = new Set(Array.from({ length: 1000 }, () => handleOf(hashSessionId(newSessionId()))));
    assert.equal(many.size, 1000);
  });

  it('isSessionHandle accepts only the exact format', () => {
    const handle = handleOf(hashSessionId(newSessionId()));
    for (const bad of [undefined, 42, '', handle.slice(1), `${handle}x`, handle.replace('msh1.', 'msh2.'), ` ${handle}`]) {
      assert.equal(isSessionHandle(bad), false, String(bad));
    }
  });
});
