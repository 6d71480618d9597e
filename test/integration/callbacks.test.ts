// A callback that throws is called once, on success and on error, and its throw surfaces.
// Reports against other stores: jdesboeufs/connect-mongo#437 ("Callback was already called": the
// callback ran inside the store's try, so its own throw called it again with the error) and
// kleydon/prisma-session-store#72 (destroy's callback called twice); a throw swallowed by a
// promise is the other way to get it wrong. Run in a child process, where a throw can surface.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';

const here = dirname(fileURLToPath(import.meta.url));
const db = uniqueDbName('callbacks');
const direct = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });

describe('callbacks that throw', () => {
  before(() => direct.connect());
  after(async () => {
    await direct
      .db(db)
      .dropDatabase()
      .catch(() => undefined);
    await direct.close();
  });

  it('each is called once, on success and on error, and its throw surfaces as an uncaught exception', async () => {
    const proc = spawn(process.execPath, [join(here, '..', 'helpers', 'throwing-callback-child.mjs'), MONGODB_URI, db]);
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const code = await new Promise((resolve) => proc.on('exit', resolve));
    assert.equal(code, 0, err);
    const line = /^RESULT (.*)$/m.exec(out);
    assert.ok(line, `no result: ${out} ${err}`);
    const { calls, outcomes, surfaced } = JSON.parse(line[1] ?? '{}') as {
      calls: Record<string, number>;
      outcomes: Record<string, string>;
      surfaced: string[];
    };
    const names = [
      'connect, bad options',
      'connect',
      'set',
      'set, bad data',
      'get',
      'get, bad key',
      'del',
      'regenerate',
      'end',
      'set after end',
      'nodeify',
      'countSessions',
      'endAll, no filter',
      'close',
    ];
    for (const name of names) {
      assert.equal(calls[name], 1, `${name}: called ${calls[name] ?? 0} times`);
      assert.equal(surfaced.filter((message) => message === `thrown by ${name}`).length, 1, `${name}: its throw surfaced once`);
    }
    assert.equal(surfaced.length, names.length, `nothing else surfaced: ${JSON.stringify(surfaced)}`);
    for (const name of ['connect', 'set', 'get', 'del', 'regenerate', 'end', 'nodeify', 'countSessions', 'close']) {
      assert.equal(outcomes[name], 'ok', `${name} succeeded`);
    }
    for (const name of ['connect, bad options', 'set, bad data', 'get, bad key', 'set after end', 'endAll, no filter']) {
      assert.match(outcomes[name] ?? '', /^MongoSess\w*Error$/, `${name} failed with a typed error`);
    }
  });
});
