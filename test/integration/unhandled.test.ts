// 0.4 code often calls a method with no callback and no await. Under Node's default
// --unhandled-rejections=throw, a rejection nobody handles would end the process: a client could
// do that at will (log out, replay the old cookie to a write route). Such errors go to `warn`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MongoSess, MongoSessStore } from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';

const here = import.meta.dirname;

describe('a promise nobody handles', () => {
  it('fire-and-forget set(), refused (409) and with the database stopped (503): the process stays up, and warn gets each error', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, '..', 'helpers', 'unhandled-child.ts')], {
      cwd: join(here, '..', '..'),
      // No --unhandled-rejections flag: Node's default, throw.
      env: { ...process.env, MONGODB_URI, MONGOSESS_CHILD_DB: uniqueDbName('unhandled_child'), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    assert.equal(code, 0, `the child ended with code ${code}:\n${stderr}`);
    assert.doesNotMatch(stderr, /unhandled|UnhandledPromiseRejection/i);
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `no RESULT line:\n${stdout}\n${stderr}`);
    const { warnings } = JSON.parse(line.slice('RESULT '.length)) as { warnings: { message: string; name: string; status: number }[] };
    assert.deepEqual(
      warnings.map(({ name, status }) => ({ name, status })),
      [
        { name: 'MongoSessEndedError', status: 409 },
        { name: 'MongoSessDatabaseError', status: 503 },
      ],
    );
    for (const { message } of warnings) {
      assert.match(message, /^mongosess: session\.set\(\) failed, and nothing handled its promise/);
      assert.match(message, /Pass a callback or handle the promise/);
    }
  });

  it("a failed connect() nobody handles goes to the warn it was given, not the process's", async () => {
    for (const connectTo of ['store', 'MongoSess'] as const) {
      const warned: (string | undefined)[] = [];
      // Nothing listens on port 9 of the loopback: the connection is refused at once.
      const options = {
        uri: 'mongodb://127.0.0.1:9/',
        operationTimeout: 300,
        warn: (_: string, err?: Error) => void warned.push(err?.name),
      };
      if (connectTo === 'store') void new MongoSessStore(options).connect();
      else void MongoSess.connect(options);
      const deadline = Date.now() + 10_000;
      while (warned.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(warned, ['MongoSessDatabaseError'], `${connectTo}.connect()`);
    }
  });
});
