// connect() with mongosess 0.4's `servers` option, against the test server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import MongoSess from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';

describe('connect options', () => {
  it('connects with 0.4-style servers to the test server', async (t) => {
    const { hostname, port } = new URL(MONGODB_URI.replace(/^mongodb:/, 'http:'));
    if (MONGODB_URI.includes(',') || MONGODB_URI.includes('@') || MONGODB_URI.startsWith('mongodb+srv')) {
      return t.skip('MONGODB_URI needs credentials or several hosts; servers: takes one plain host here');
    }
    await MongoSess.connect({
      servers: [{ host: hostname, port: Number(port || 27017), opts: { poolSize: 2, autoReconnect: true } }],
      db: uniqueDbName('servers'),
      autoRemove: 'disabled',
      warn: () => undefined,
    });
    try {
      assert.equal(MongoSess.isConnected(), true);
    } finally {
      await new Promise((resolve) => MongoSess.close(resolve));
    }
  });
});
