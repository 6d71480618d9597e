// connect({ client }) takes any MongoClient: Mongoose 8's getClient() (mongodb 6.x) and
// Mongoose 9's (its own mongodb 7.x), which are not instances of our copy's class. Sessions then
// work end to end, including the paths that recognize the server's errors (a duplicate key when
// a stale cookie's write meets the old session's tombstone).
//
// BSON values cross the client's driver: a mongodb 6.x client (Mongoose 8) writes only bson 6
// values, a 7.x one only bson 7 values. The 0.4 upgrade builds its ObjectIds with the client's
// own class, set() and filters take the client's BSON values and refuse the others with a
// validation error, and encryption (bson 7 only) refuses a 6.x client at connect.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, afterEach, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import MongoSess, { type ConnectOptions } from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { sessionApp, type SessionApp } from '../helpers/session-app.js';

const require = createRequire(import.meta.url);
type Mongoose = typeof import('mongoose');
const mongooses: Record<string, Mongoose> = {
  'Mongoose 9 (its own mongodb 7.x)': require('mongoose') as Mongoose,
  'Mongoose 8 (mongodb 6.x)': require('mongoose8') as Mongoose,
};
const mongoose8 = mongooses['Mongoose 8 (mongodb 6.x)'] as Mongoose;
const mongoose9 = mongooses['Mongoose 9 (its own mongodb 7.x)'] as Mongoose;
type Connection = ReturnType<Mongoose['createConnection']>;

/**
 * Runs `body` with MongoSess connected through `mongoose`'s own client (`options` added to
 * connect's), in a database of its own that is dropped afterwards.
 */
async function withMongooseClient(
  mongoose: Mongoose,
  options: Partial<ConnectOptions>,
  body: (connection: Connection) => Promise<void>,
): Promise<void> {
  const connection = mongoose.createConnection(MONGODB_URI, { dbName: uniqueDbName('foreign'), serverSelectionTimeoutMS: 5000 });
  await connection.asPromise();
  try {
    const client = connection.getClient();
    assert.equal(client instanceof MongoClient, false, 'another class than ours (else this tests nothing)');
    await MongoSess.connect({ client: client as never, db: connection.name, autoRemove: 'interval', warn: () => undefined, ...options });
    await body(connection);
  } finally {
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
  }
}

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
      await withMongooseClient(mongoose, {}, async () => {
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
      });
    });

    it(`${name}: a mongosess 0.4 session (an ObjectId _id) is found through the client and moved to a new id`, async () => {
      await withMongooseClient(mongoose, {}, async (connection) => {
        app = await sessionApp();
        // Inserted as 0.4 stored it, through the client's own driver (its own ObjectId class).
        const _id = new mongoose.Types.ObjectId();
        await connection.collection('sessions').insertOne({ _id, createdAt: new Date(), user: 'ann' });
        const browser = new Browser();
        await browser.jar.setCookie(`sess=${_id.toHexString()}`, app.url);
        const reply = await app.run((s) => s.get('user'), { browser });
        assert.equal(reply.status, 200, reply.body);
        assert.equal(reply.json(), 'ann', 'the 0.4 session is served');
        assert.match((await browser.cookie(app.url, 'sess')) ?? '', /^[A-Za-z0-9_-]{43}$/, 'moved to a new id');
        const old = await connection.collection('sessions').findOne({ _id });
        assert.equal(old?.['ended'], true, 'the 0.4 document is now a tombstone');
        assert.equal((await app.run((s) => s.get('user'), { browser })).json(), 'ann', 'and it lives on under the new id');
      });
    });
  }

  it("Mongoose 8 (mongodb 6.x): set() stores the client's own (bson 6) ObjectId, get() and filters take it back", async () => {
    await withMongooseClient(mongoose8, {}, async () => {
      app = await sessionApp();
      const owner = new mongoose8.Types.ObjectId();
      const browser = new Browser();
      const written = await app.run((s) => s.set({ owner, tags: [owner] }), { browser });
      assert.equal(written.status, 200, written.body);
      const read = await app.run((s) => s.get('owner').then((value) => value instanceof mongoose8.Types.ObjectId && value.equals(owner)), {
        browser,
      });
      assert.equal(read.json(), true, 'an ObjectId of the client comes back');
      assert.equal(await MongoSess.countSessions({ owner }), 1);
      assert.equal(await MongoSess.countSessions({ tags: { $in: [owner] } }), 1);
    });
  });

  it('Mongoose 8 (mongodb 6.x): regenerate({ set }) with its ObjectId, of a session that holds one (a login with user._id)', async () => {
    await withMongooseClient(mongoose8, {}, async () => {
      app = await sessionApp();
      const browser = new Browser();
      const cart = new mongoose8.Types.ObjectId();
      assert.equal((await app.run((s) => s.set({ cart }), { browser })).status, 200);
      const userId = new mongoose8.Types.ObjectId();
      const login = await app.run((s) => s.regenerate({ set: { userId } }), { browser });
      assert.equal(login.status, 200, login.body);
      const read = await app.run((s) => s.get().then((data) => [String(data['cart']), String(data['userId'])]), { browser });
      assert.deepEqual(read.json(), [cart.toHexString(), userId.toHexString()]);
    });
  });

  it('Mongoose 9 (mongodb 7.x): set() of a bson 6 ObjectId (Mongoose 8) is refused with a validation error, nothing written', async () => {
    await withMongooseClient(mongoose9, {}, async () => {
      app = await sessionApp();
      const browser = new Browser();
      const refused = await app.run((s) => s.set({ user: 'ann', owner: new mongoose8.Types.ObjectId() }), { browser });
      assert.equal(refused.status, 500);
      assert.equal(refused.json().error, 'MongoSessValidationError', refused.body);
      assert.match(refused.json().message, /the value at "owner" is an ObjectId of bson 6.*mongodb 7\.x.*bson 7/);
      assert.equal(await MongoSess.countSessions({}), 0, 'nothing was written');
      await assert.rejects(MongoSess.countSessions({ owner: new mongoose8.Types.ObjectId() }), { name: 'MongoSessValidationError' });
      // The client's own ObjectId is stored.
      const owner = new mongoose9.Types.ObjectId();
      assert.equal((await app.run((s) => s.set({ owner }), { browser })).status, 200);
      assert.equal(await MongoSess.countSessions({ owner }), 1);
    });
  });

  it('Mongoose 9 (mongodb 7.x): encryption at rest works through its client', async () => {
    await withMongooseClient(mongoose9, { encryption: { keys: [randomBytes(32)] } }, async (connection) => {
      app = await sessionApp();
      const owner = new mongoose9.Types.ObjectId();
      const browser = new Browser();
      const written = await app.run((s) => s.set({ user: 'ann', owner }), { browser });
      assert.equal(written.status, 200, written.body);
      const stored = await connection.collection('sessions').findOne({ 'd.user': { $exists: true } });
      assert.equal((stored?.['d'] as { user?: { sub_type?: number } } | undefined)?.user?.sub_type, 0x8e, 'stored sealed');
      const read = await app.run((s) => s.get().then((data) => [data['user'], String(data['owner'])]), { browser });
      assert.deepEqual(read.json(), ['ann', owner.toHexString()]);
    });
  });

  it('Mongoose 8 (mongodb 6.x): encryption is refused at connect, saying which client to pass', async () => {
    const connection = mongoose8.createConnection(MONGODB_URI, { dbName: uniqueDbName('foreign'), serverSelectionTimeoutMS: 5000 });
    await connection.asPromise();
    try {
      await assert.rejects(
        MongoSess.connect({ client: connection.getClient() as never, db: connection.name, encryption: { keys: [randomBytes(32)] } }),
        {
          name: 'MongoSessConfigError',
          message:
            /encryption needs a client from mongodb 7\.x: .*\(mongodb 6\.x, .*\) cannot write\. Pass a MongoClient from mongodb 7\.x .*let mongosess create one \(uri\)/,
        },
      );
    } finally {
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    }
  });

  it('something that is not a MongoClient is refused, saying what is accepted', async () => {
    await assert.rejects(
      MongoSess.connect({ client: { db() {} } as never }),
      /client must be a MongoClient \(from mongodb 6\.x or 7\.x, or Mongoose's connection\.getClient\(\)\), got: an object/,
    );
  });
});
