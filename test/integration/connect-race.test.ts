// connect() from many processes at once, and connect() racing close(): failures users of other
// stores report. Index creation from many instances at once (mongodb-js/connect-mongodb-session
// #119: "Index with name: expires_1 already exists with different options" across micro-services),
// and stores closing, or not closing, the client (jdesboeufs/connect-mongo#213, mongodb-js/
// connect-mongodb-session#52). Each child process is plain JS on the build, with Node's default
// --unhandled-rejections=throw.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import MongoSess from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, '..', 'helpers', 'connect-child.mjs');
const PROCESSES = 20;
const direct = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
const dbs: string[] = [];

interface Child {
  ready: Promise<void>;
  result: Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
  go(): void;
}

function child(mode: 'race' | 'same-tick', db: string): Child {
  const proc = spawn(process.execPath, [CHILD, mode, MONGODB_URI, db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let ready!: () => void;
  let done!: (value: Record<string, unknown>) => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const result = new Promise<Record<string, unknown>>((resolve) => (done = resolve));
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (out.includes('READY\n')) ready();
    const line = /^RESULT (.*)$/m.exec(out);
    if (line) done(JSON.parse(line[1] ?? '{}'));
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  void exit.then((code) => done({ exitCode: code, stderr: err, stdout: out }));
  return {
    ready: readyPromise,
    result,
    exit: exit.then((code) => (code !== 0 ? Promise.reject(new Error(`exit ${code}: ${err}`)) : code)),
    go: () => proc.stdin.end('GO\n'),
  };
}

describe('connect() under load and against close()', () => {
  before(() => direct.connect());
  after(async () => {
    for (const db of dbs)
      await direct
        .db(db)
        .dropDatabase()
        .catch(() => undefined);
    await direct.close();
  });

  it(`${PROCESSES} processes call connect() at once on an empty collection: one expiry index, no errors`, async (t) => {
    const db = uniqueDbName('connect_race');
    dbs.push(db);
    const children = Array.from({ length: PROCESSES }, () => child('race', db));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    const results = await Promise.all(children.map((c) => c.result));
    await Promise.all(children.map((c) => c.exit));
    for (const result of results) assert.equal(result['ok'], true, JSON.stringify(result));
    const warnings = new Set(results.flatMap((r) => r['warnings'] as string[]));
    t.diagnostic(`distinct warnings: ${[...warnings].map((w) => w.slice(0, 80)).join(' | ') || 'none'}`);
    const indexes = await direct.db(db).collection('sessions').listIndexes().toArray();
    const expiry = indexes.filter((index) => Object.keys(index['key']).join() === 'expiresAt');
    assert.equal(expiry.length, 1, `one expiry index: ${JSON.stringify(indexes)}`);
    assert.equal(await direct.db(db).collection('sessions').countDocuments({}), 0, 'no probe left behind');
    // Every process saw the same server: none concluded differently about what it can do.
    const sizeGuardWarnings = results.filter((r) => (r['warnings'] as string[]).some((w) => /\$bsonSize/.test(w))).length;
    assert.ok(sizeGuardWarnings === 0 || sizeGuardWarnings === PROCESSES, `${sizeGuardWarnings} of ${PROCESSES} warned about $bsonSize`);
  });

  it('connect() then close() in the same tick: each callback once, both promises settle, nothing unhandled', async () => {
    const db = uniqueDbName('connect_close');
    dbs.push(db);
    const c = child('same-tick', db);
    const result = await c.result;
    assert.equal(await c.exit, 0, 'the process did not crash');
    assert.deepEqual(result['calls'], { connect: 1, close: 1 }, JSON.stringify(result));
    const outcomes = result['outcomes'] as { promises: string[] };
    assert.equal(outcomes.promises.length, 2);
  });

  it("close() leaves a caller's own client usable", async () => {
    const db = uniqueDbName('own_client');
    dbs.push(db);
    const own = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
    await own.connect();
    try {
      await MongoSess.connect({ client: own, db, autoRemove: 'interval', warn: () => undefined });
      await new Promise((resolve) => MongoSess.close(resolve));
      await own.db(db).collection('mine').insertOne({ still: 'usable' });
      assert.equal((await own.db(db).collection('mine').findOne({}))?.['still'], 'usable');
      await MongoSess.connect({ client: own, db, autoRemove: 'interval', warn: () => undefined });
      await new Promise((resolve) => MongoSess.close(resolve));
      assert.deepEqual(await own.db('admin').command({ ping: 1 }), { ok: 1 });
    } finally {
      await own.close();
    }
  });
});
