// Replica sets and failover, as far as one server shows them: which read preference the driver
// selects servers with for mongosess's reads (its server-selection log), which write concern the
// commands that end sessions carry (command monitoring), and the warnings about retryWrites: false.
// The server here is a standalone (FerretDB accepts write concerns but has no replica set to
// honour them), so what a failover does is documented in docs/scaling.md, not tested.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MongoClient, ObjectId, type Document } from 'mongodb';
import MongoSess, { type Session } from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import type { SessionApp } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';

interface SelectionLog {
  message?: string;
  operation?: string;
  selector?: string;
}

/** The driver's server-selection log: for each operation, the read preference it selected with. */
const selections: SelectionLog[] = [];
const warnings: string[] = [];
const warn = (message: string): void => void warnings.push(message);
const fixture = sessionFixture('replica', {
  clientOptions: {
    readPreference: 'secondaryPreferred',
    writeConcern: { w: 1 },
    mongodbLogPath: { write: (log) => void selections.push(log as SelectionLog) },
    mongodbLogComponentSeverities: { serverSelection: 'debug' },
  },
  connect: { warn },
});
const { client, commands, reset, db } = fixture;
let app: SessionApp;

const close = () => new Promise((resolve) => MongoSess.close(resolve));

/** The read preference of each server selection for `operations` since the last reset. */
function selectedModes(operations: string[]): string[] {
  return selections
    .filter((log) => log.message === 'Server selection started' && operations.includes(log.operation ?? ''))
    .map((log) => (JSON.parse(log.selector ?? '{}') as { mode?: string }).mode ?? '?');
}

function sent(name: string): Document[] {
  return commands.filter((c) => c.commandName === name).map((c) => c.command);
}

/** The write concern of each `name` command since the last reset. */
function concerns(name: string): unknown[] {
  return sent(name).map((c) => c['writeConcern']);
}

const set = (session: Session) => session.set({ userId: 'u1', n: 1 });
const get = (session: Session) => session.get();
const end = (session: Session) => session.end();

/** A mongosess 0.4 session: ObjectId `_id`, the data at the top level; its cookie is the hex id. */
async function legacySession(data: Record<string, unknown>): Promise<string> {
  const _id = new ObjectId();
  await client
    .db(db)
    .collection('sessions')
    .insertOne({ _id, createdAt: new Date(), ...data });
  return `sess=${_id.toHexString()}`;
}

describe('replica sets: read preference and write concern', () => {
  before(async () => {
    await fixture.start();
    app = fixture.app;
  });

  after(() => fixture.stop());

  it("reads the primary although the client prefers secondaries (driver's server-selection log)", async () => {
    selections.splice(0);
    await client.db(db).collection('sessions').findOne({});
    assert.deepEqual(selectedModes(['find']), ['secondaryPreferred'], "the log shows the client's own preference");

    const browser = new Browser();
    await app.run(set, { browser });
    selections.splice(0);
    reset();
    assert.equal((await app.run(get, { browser })).json().userId, 'u1');
    assert.equal(await MongoSess.countSessions({ userId: 'u1' }), 1);
    assert.equal((await MongoSess.listSessions({ userId: 'u1' })).length, 1);
    await app.run(get, { headers: { cookie: await legacySession({ userId: 'u9' }) } }); // 0.4 look-up
    const modes = selectedModes(['find', 'aggregate', 'count']);
    assert.ok(modes.length >= 4, `every read was logged: ${modes.join(', ')}`);
    assert.deepEqual(new Set(modes), new Set(['primary']));
    // The driver sends $readPreference only for other modes (and never to a standalone).
    for (const { command } of commands) assert.ok([undefined, 'primary'].includes(command['$readPreference']?.mode));
  });

  it("ending writes carry w: 'majority'; set and del keep the client's write concern", async () => {
    const browser = new Browser();
    reset();
    await app.run(set, { browser });
    await app.run((s) => s.del('n'), { browser });
    assert.deepEqual(concerns('findAndModify'), [{ w: 1 }, { w: 1 }]);

    reset();
    await app.run((s) => s.regenerate(), { browser });
    assert.deepEqual(sent('insert')[0]?.['writeConcern'], { w: 1 }, 'the copy under the new id');
    assert.deepEqual(sent('findAndModify')[0]?.['writeConcern'], { w: 'majority' }, 'the claim that ends the old id');

    reset();
    await app.run(end, { browser });
    assert.deepEqual(sent('findAndModify')[0]?.['writeConcern'], { w: 'majority' }, 'end() writes the tombstone');

    reset();
    // An id that never held data: its tombstone, then the tombstone's short expiry.
    await app.run(end, { headers: { cookie: `sess=${randomBytes(32).toString('base64url')}` } });
    assert.deepEqual(
      commands.map((c) => [c.commandName, c.command['writeConcern']]),
      [
        ['findAndModify', { w: 'majority' }],
        ['update', { w: 'majority' }],
      ],
    );

    await app.run(set, { browser: new Browser() });
    const live = await MongoSess.countSessions({ userId: 'u1' });
    reset();
    assert.equal(await MongoSess.endAll({ userId: 'u1' }), live);
    assert.deepEqual(sent('update')[0]?.['writeConcern'], { w: 'majority' }, 'endAll tombstones');
  });

  it("the writes that end mongosess 0.4 sessions carry w: 'majority' too", async () => {
    reset();
    await app.run(get, { headers: { cookie: await legacySession({ userId: 'u2' }) } });
    // The claim replaces the 0.4 document by a tombstone that names the session it became.
    const claim = sent('findAndModify').find((c) => c['update']?.['movedTo'] !== undefined);
    assert.ok(claim, 'the claim of the 0.4 document');
    assert.deepEqual(claim['writeConcern'], { w: 'majority' });

    const cookie = await legacySession({ userId: 'u3' });
    reset();
    await app.run(end, { headers: { cookie } });
    assert.deepEqual(sent('findAndModify')[0]?.['writeConcern'], { w: 'majority' }, 'end() of a 0.4 session (its tombstone)');

    await legacySession({ userId: 'u4' });
    reset();
    assert.equal(await MongoSess.endAll({ userId: 'u4' }), 1);
    assert.deepEqual(sent('delete')[0]?.['writeConcern'], { w: 'majority' }, 'endAll of 0.4 sessions');
  });

  it('a configured writeConcern replaces the default on ending writes only', async () => {
    await close();
    await MongoSess.connect({ client, db, warn, writeConcern: { w: 1, wtimeoutMS: 2500, journal: true } });
    const browser = new Browser();
    reset();
    await app.run(set, { browser });
    await app.run(end, { browser });
    assert.deepEqual(concerns('findAndModify'), [{ w: 1 }, { w: 1, wtimeout: 2500, j: true }]);
  });
});

describe('warnings about the connection', () => {
  after(close);

  it('retryWrites: false is warned about once, at connect', async () => {
    const heard: string[] = [];
    const collect = (message: string): void => void heard.push(message);
    await MongoSess.connect({ uri: MONGODB_URI, db: uniqueDbName('retry'), warn: collect, autoRemove: 'disabled' });
    await close();
    assert.deepEqual(
      heard.filter((m) => m.includes('retryWrites')),
      [],
      'the default keeps retryable writes on',
    );

    const options = { uri: MONGODB_URI, db: uniqueDbName('retry'), warn: collect, autoRemove: 'disabled' as const };
    await MongoSess.connect({ ...options, clientOptions: { retryWrites: false } });
    const retry = heard.filter((m) => m.includes('retryWrites'));
    assert.equal(retry.length, 1);
    assert.match(retry[0]!, /^mongosess: retryWrites is off for this client, .*election.*remove retryWrites: false/);
    await close();
  });

  it('connect() again with other options names the options that differ, never their values', async () => {
    const heard: string[] = [];
    const options = {
      uri: MONGODB_URI,
      db: uniqueDbName('again'),
      warn: (message: string) => void heard.push(message),
      clientOptions: { appName: 'first' },
      autoRemove: 'disabled' as const,
    };
    const first = MongoSess.connect(options);
    await MongoSess.connect({ ...options, expires: 60_000 }); // while connecting
    await first;
    await MongoSess.connect({ ...options, clientOptions: { appName: 'first' } }); // equal values: no warning
    await new Promise<void>((resolve, reject) => MongoSess.connect((err) => (err ? reject(err) : resolve()))); // no options
    const secret = 'hunter2-do-not-log';
    await MongoSess.connect({ ...options, clientOptions: { appName: 'first', auth: { username: 'u', password: secret } }, rolling: true });
    const client2 = new MongoClient(MONGODB_URI);
    const { uri: _uri, clientOptions: _co, ...withoutUri } = options;
    await MongoSess.connect({ ...withoutUri, client: client2 });

    const again = heard.filter((m) => m.includes('connect() was called again'));
    assert.equal(again.length, 3, again.join('\n'));
    assert.match(again[0]!, /^mongosess: connect\(\) was called again .* with different expires; the new options are ignored/);
    assert.match(again[0]!, /Call MongoSess.close\(\) first/);
    assert.match(again[1]!, /with different clientOptions, rolling;/);
    assert.match(again[2]!, /with different uri, client, clientOptions;/);
    assert.ok(!again.some((m) => m.includes(secret) || m.includes(MONGODB_URI)), 'no option values');
    await close();
    await client2.close();
  });
});
