// The framework integrations' options: `store`, and `perRequest` options resolved once per
// distinct result (by value), in a bounded cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Keygrip from 'keygrip';
import { frameworkSessions, OptionsCache, optionsKey, PER_REQUEST_CACHE_SIZE } from '../../../src/adapters/framework-options.js';
import { MongoSessConfigError, MongoSessStore } from '../../../src/index.js';
import { resolveSessionOptions } from '../../../src/config/session-options.js';

describe('optionsKey', () => {
  it('equal options give equal keys, whatever the order of their keys or the objects that hold them', () => {
    assert.equal(optionsKey({ domain: 'a.example', keys: ['k1', 'k2'] }), optionsKey({ keys: ['k1', 'k2'], domain: 'a.example' }));
    assert.equal(optionsKey({ keys: [Buffer.from('k')] }), optionsKey({ keys: [Buffer.from('k')] }));
  });

  it('different options give different keys', () => {
    const keys = [
      optionsKey({}),
      optionsKey({ domain: 'a.example' }),
      optionsKey({ domain: 'b.example' }),
      optionsKey({ path: 'a.example' }),
      optionsKey({ secure: true }),
      optionsKey({ secure: 'true' } as never),
      optionsKey({ secure: undefined }),
      optionsKey({ expires: 1 }),
      optionsKey({ expires: '1' } as never),
      optionsKey({ keys: ['k'] }),
      optionsKey({ keys: [Buffer.from('k')] }),
      optionsKey({ keys: ['k', 'l'] }),
      optionsKey({ keys: ['k,l'] }),
      optionsKey({ keys: new Keygrip(['k']) }),
      optionsKey({ keys: new Keygrip(['k']) }),
    ];
    assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
  });

  it('an object other than an array or Buffer (a Keygrip) counts by identity', () => {
    const grip = new Keygrip(['k']);
    assert.equal(optionsKey({ keys: grip }), optionsKey({ keys: grip }));
  });
});

describe('OptionsCache', () => {
  it('gives one options object per distinct result, merged over the base, so mongosess resolves it once', () => {
    const cache = new OptionsCache({ cookieName: 'tenant', keys: ['k'] }, 10);
    const a = cache.get({ domain: 'a.example' });
    const again = cache.get({ domain: 'a.example' });
    const b = cache.get({ domain: 'b.example' });
    assert.equal(a, again, 'a fresh but equal result maps to the same object');
    assert.notEqual(a, b);
    assert.deepEqual(a, { cookieName: 'tenant', keys: ['k'], domain: 'a.example' });
    assert.equal(resolveSessionOptions(a), resolveSessionOptions(again), 'resolved once');
    assert.equal(resolveSessionOptions(b).domain, 'b.example');
  });

  it('a result overrides the base; undefined means the base', () => {
    const base = { cookieName: 'x' };
    const cache = new OptionsCache(base, 10);
    assert.equal(cache.get(undefined), base);
    assert.equal(cache.get({ cookieName: 'y' })?.cookieName, 'y');
  });

  it('is bounded: it keeps the most recently used results', () => {
    const cache = new OptionsCache(undefined, 3);
    const first = cache.get({ domain: 'd0.example' });
    for (let i = 1; i < 50; i++) {
      cache.get({ domain: `d${i}.example` });
      cache.get({ domain: 'd0.example' }); // kept in use
      assert.ok(cache.size <= 3, `size ${cache.size}`);
    }
    assert.equal(cache.get({ domain: 'd0.example' }), first, 'the result in use stayed');
    const evicted = cache.get({ domain: 'd1.example' });
    assert.deepEqual(evicted, { domain: 'd1.example' }, 'an evicted result is resolved again, correctly');
  });

  it('passes a result that is not an object on, for mongosess to report', () => {
    const cache = new OptionsCache(undefined, 3);
    assert.equal(cache.get('x' as never), 'x');
    assert.throws(() => resolveSessionOptions(cache.get('x' as never)), MongoSessConfigError);
  });
});

describe('frameworkSessions', () => {
  it('static options: the same object for every request, without store or perRequest', () => {
    const { optionsFor } = frameworkSessions<object>({ cookieName: 'x' });
    assert.deepEqual(optionsFor({}), { cookieName: 'x' });
    assert.equal(optionsFor({}), optionsFor({}));
    assert.equal(frameworkSessions<object>(undefined).optionsFor({}), undefined);
  });

  it('perRequest (or a function in place of the options) is called per request, over the static options', () => {
    const seen: string[] = [];
    const perRequest = (request: { host: string }) => {
      seen.push(request.host);
      return { domain: request.host };
    };
    const { optionsFor } = frameworkSessions<{ host: string }>({ cookieName: 'x', perRequest });
    assert.deepEqual(optionsFor({ host: 'a.example' }), { cookieName: 'x', domain: 'a.example' });
    assert.equal(optionsFor({ host: 'a.example' }), optionsFor({ host: 'a.example' }));
    assert.deepEqual(seen, ['a.example', 'a.example', 'a.example']);
    const bare = frameworkSessions<{ host: string }>(perRequest);
    assert.deepEqual(bare.optionsFor({ host: 'b.example' }), { domain: 'b.example' });
    assert.ok(PER_REQUEST_CACHE_SIZE >= 100);
  });

  it('refuses a store that is not a MongoSessStore, and a perRequest that is not a function', () => {
    assert.throws(() => frameworkSessions({ store: {} as never }), {
      name: 'MongoSessConfigError',
      message: /store must be a MongoSessStore/,
    });
    assert.throws(() => frameworkSessions({ perRequest: 'x' as never }), /perRequest must be a function of the request/);
    assert.doesNotThrow(() => frameworkSessions({ store: new MongoSessStore({ autoRemove: 'disabled' }) }));
  });
});
