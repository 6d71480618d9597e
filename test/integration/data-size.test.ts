// maxDataBytes holds for the stored session, not only for each set() payload: array indexes that
// would make the server pad an array are charged up front, and where the server has $bsonSize
// (MongoDB 4.4+) a set() that would grow the stored data past the cap is refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoServerError, type Collection } from 'mongodb';
import { probeSizeGuard, sizeFilter } from '../../src/data/size.js';
import type { SessionDigest } from '../../src/session/id.js';
import { digestOfCookie } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { outcome, type SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';
import type { SessionDocument } from '../../src/storage/document.js';

const KIB = 1024;
const MAX = 64 * KIB;
const warnings: string[] = [];
const fixture = sessionFixture('data_size', { connect: { maxDataBytes: MAX, warn: (m) => void warnings.push(m) } });
const { client, commands, reset, db } = fixture;
const collection: Collection<SessionDocument> = client.db(db).collection<SessionDocument>('sessions');
let app: SessionApp;

const digest = digestOfCookie;

async function storedSession(data: Record<string, unknown>): Promise<{ browser: Browser; sid: string }> {
  const browser = new Browser();
  const reply = await app.run((s) => s.set(data).then(() => s.sid), { browser });
  assert.equal(reply.status, 200, reply.body);
  return { browser, sid: reply.json() };
}

describe('maxDataBytes holds for the stored session', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
  });

  after(() => fixture.stop());

  it('an 18-byte set() of an array index past the end is refused when padding could pass the cap; nothing is sent', async () => {
    const { browser, sid } = await storedSession({ list: [1] });
    const before = await collection.findOne({ _id: digest(sid) });
    reset();
    const reply = await app.run((s) => outcome(s.set({ 'list.100000': 1 })), { browser });
    const result = reply.json();
    assert.equal(result.name, 'MongoSessValidationError', reply.body);
    assert.match(result.message, /^mongosess: .*bytes of nulls padding arrays, over the limit of 65536 \(maxDataBytes\)/);
    assert.deepEqual(
      commands.map((c) => c.commandName),
      [],
      'nothing sent',
    );
    assert.deepEqual(await collection.findOne({ _id: digest(sid) }), before);
    // An index whose padding fits is written as before.
    const small = await app.run((s) => s.set({ 'list.3': 4 }).then(() => s.get('list')), { browser });
    assert.deepEqual(small.json(), [1, null, null, 4]);
  });

  it('connect finds out honestly whether the server can guard the stored size, and warns when it cannot', async () => {
    const supported = await probeSizeGuard(collection, 'd');
    const probeCheck = 'probe-check' as SessionDigest;
    await collection.insertOne({ _id: probeCheck, d: { a: 1 } });
    let matched: boolean;
    try {
      matched = (await collection.findOne({ _id: probeCheck, ...sizeFilter('d', MAX, 0) })) !== null;
    } catch (err) {
      assert.ok(err instanceof MongoServerError, String(err));
      matched = false;
    }
    await collection.deleteOne({ _id: probeCheck });
    assert.equal(supported, matched, 'the probe agrees with what the filter does on this server');
    assert.equal(await collection.countDocuments({ _id: /^mongosess:size-probe/ as never }), 0, 'the probe leaves nothing behind');
    assert.equal(
      warnings.some((w) => /cannot evaluate \$bsonSize/.test(w)),
      !supported,
    );
  });

  it('a set() that would take the stored data past maxDataBytes is refused, nothing written, the session kept', async (t) => {
    if (!(await probeSizeGuard(collection, 'd'))) {
      t.skip('this server cannot evaluate $bsonSize in a query (FerretDB 1.x): the stored size is not guarded here');
      return;
    }
    const { browser, sid } = await storedSession({ a: 'x'.repeat(40 * KIB) });
    const before = await collection.findOne({ _id: digest(sid) });
    const reply = await app.run((s) => outcome(s.set({ b: 'y'.repeat(40 * KIB) })), { browser });
    const result = reply.json();
    assert.equal(result.name, 'MongoSessValidationError', reply.body);
    assert.match(result.message, /^mongosess: set\(\) refused: the stored session plus this data would exceed maxDataBytes \(65536/);
    assert.deepEqual(reply.setCookie, [], 'no new session was started');
    assert.deepEqual(await collection.findOne({ _id: digest(sid) }), before, 'nothing was written');
    const still = await app.run((s) => s.get('a').then((a) => (a as string).length), { browser });
    assert.equal(still.json(), 40 * KIB, 'the session is still served');
    // Replacing a key within the cap still works.
    assert.equal((await app.run((s) => s.set({ a: 'z' }), { browser })).json(), true);
  });
});
