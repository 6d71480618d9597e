import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { clientOf, exceptClauses, handleOfSession, type ClientSource } from '../../../src/devices/devices.js';
import { handleOf } from '../../../src/session/handle.js';
import { hashSessionId, newSessionId } from '../../../src/session/id.js';

const require = createRequire(import.meta.url);
const mongodb6 = require(require.resolve('mongodb', { paths: [require.resolve('mongoose8')] })) as typeof import('mongodb');

function request(headers: Record<string, string>, remoteAddress = '127.0.0.1'): ClientSource {
  return { header: (name) => headers[name], remoteAddress };
}

describe('clientOf', () => {
  it('takes the socket address unless the proxy is trusted, then the first X-Forwarded-For address', () => {
    const req = request({ 'user-agent': 'UA', 'x-forwarded-for': ' 198.51.100.7 , 10.0.0.2' }, '10.0.0.2');
    assert.deepEqual(clientOf(req, false), { userAgent: 'UA', ip: '10.0.0.2' });
    assert.deepEqual(clientOf(req, true), { userAgent: 'UA', ip: '198.51.100.7' });
  });

  it('cuts a long user agent, drops what is not an address, and leaves out what is missing', () => {
    assert.equal(clientOf(request({ 'user-agent': 'x'.repeat(5000) }), false).userAgent?.length, 512);
    assert.deepEqual(clientOf(request({ 'x-forwarded-for': 'y'.repeat(100) }), true), {});
    assert.deepEqual(clientOf(request({}, ''), false), {});
    assert.deepEqual(clientOf(request({ 'x-forwarded-for': '' }), true), { ip: '127.0.0.1' });
  });

  it('reads a Fetch Request by its headers only: the address is the one the caller supplies', () => {
    const headers = new Headers({ 'user-agent': 'UA', 'x-forwarded-for': '198.51.100.7' });
    const fetched = (remoteAddress?: string): ClientSource => ({ header: (name) => headers.get(name) ?? undefined, remoteAddress });
    assert.deepEqual(clientOf(fetched(), false), { userAgent: 'UA' });
    assert.deepEqual(clientOf(fetched('203.0.113.9'), false), { userAgent: 'UA', ip: '203.0.113.9' });
    assert.deepEqual(clientOf(fetched(), true), { userAgent: 'UA', ip: '198.51.100.7' });
  });
});

describe('session objects as arguments', () => {
  it('handleOfSession names a 1.x session by its handle, and refuses what is not a session', () => {
    const sid = newSessionId();
    assert.equal(handleOfSession({ sid }), handleOf(hashSessionId(sid)));
    assert.equal(handleOfSession(undefined), undefined);
    assert.equal(handleOfSession({ sid: '0123456789abcdef01234567' }), undefined, 'a 0.4 session has no handle yet');
    assert.throws(() => handleOfSession('me'), { name: 'MongoSessValidationError' });
  });

  it('exceptClauses leaves out a 1.x session by digest and a 0.4 one by ObjectId', () => {
    const sid = newSessionId();
    assert.deepEqual(exceptClauses({ sid }).current, { _id: { $type: 'string', $ne: hashSessionId(sid) } });
    const legacy = exceptClauses({ sid: '0123456789abcdef01234567' });
    assert.deepEqual(legacy.current, {});
    assert.equal(String((legacy.legacy['_id'] as { $ne: unknown }).$ne), '0123456789abcdef01234567');
    assert.deepEqual(exceptClauses(undefined), { current: {}, legacy: {} });
    assert.throws(() => exceptClauses({}), { name: 'MongoSessValidationError' });
  });

  it("exceptClauses makes a 0.4 id's ObjectId with the client's class (a mongodb 6.x client writes only bson 6)", () => {
    const bson = { major: 6, objectId: (hex: string) => new mongodb6.ObjectId(hex) };
    const { legacy } = exceptClauses({ sid: '0123456789abcdef01234567' }, bson);
    assert.ok((legacy['_id'] as { $ne: unknown }).$ne instanceof mongodb6.ObjectId);
  });
});
