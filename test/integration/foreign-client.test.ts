// connect({ client }) takes any MongoClient: Mongoose 8's getClient() (mongodb 6.x) and
// Mongoose 9's (its own mongodb 7.x), which are not instances of our copy's class. Sessions then
// work end to end, including the paths that recognize the server's errors (a duplicate key when
// a stale cookie's write meets the old session's tombstone).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, afterEach, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import MongoSess from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { sessionApp, type SessionApp } from '../helpers/session-app.js';

const require = createRequire(import.meta.url);
type Mongoose = typeof import('mongoose');
const mongooses: Record<string, Mongoose> = {
  'Mongoose 9 (its own mongodb 7.x)': require('mongoose') as Mongoose,
  'Mongoose 8 (mongodb 6.x)': require('mongoose8') as Mongoose,
};

describe('a MongoClient from another copy of mongodb', () => {
  let app: SessionApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await new Promise((resolve) => MongoSess.close(resolve));
  });
  after(() => MongoSess.close());

  for (const [name, mongoose] of Object.entries(mongooses)) {
    it(`${name}: connection.getClient() is accepted, and sessions work end to end`, async () => {
      const connection = mongoose.createConnection(MONGODB_URI, { dbName: uniqueDbName('foreign'), serverSelectionTimeoutMS: 5000 });
      await connection.asPromise();
      try {
        const client = connection.getClient();
        assert.equal(client instanceof MongoClient, false, 'another class than ours (else this tests nothing)');
        await MongoSess.connect({ client: client as never, db: connection.name, autoRemove: 'interval', warn: () => undefined });
        app = await sessionApp();

        const browser = new Browser();
        await app.run((s) => s.set({ user: 'ann', n: 1 }), { browser });
        assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann');
        const old = await browser.cookie(app.url, 'sess');
        await app.run((s) => s.end(), { headers: { cookie: await browser.jar.getCookieString(app.url) } });
        // The stale cookie's write: its upsert meets the tombstone (a duplicate key from the
        // foreign driver), and the write goes to a new session.
        const stale = await app.run((s) => s.set({ user: 'bob' }).then(() => s.sid), { browser });
        assert.equal(stale.status, 200, stale.body);
        assert.notEqual(stale.json(), old);
        assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'bob');
        assert.equal(await MongoSess.countSessions({ user: 'bob' }), 1);
      } finally {
        await connection.dropDatabase().catch(() => undefined);
        await connection.close();
      }
    });
  }

  it('something that is not a MongoClient is refused, saying what is accepted', async () => {
    await assert.rejects(
      MongoSess.connect({ client: { db() {} } as never }),
      /client must be a MongoClient \(from mongodb 6\.x or 7\.x, or Mongoose's connection\.getClient\(\)\), got: an object/,
    );
  });
});
