// The warning about a server that does not apply concurrent updates of one document atomically
// (FerretDB 1.x): what it says, and that a process hears it once, not at every connect().
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import MongoSess from '../../src/index.js';
import { monitoredClient, uniqueDbName } from '../helpers/db.js';

const { client } = monitoredClient();
const close = () => new Promise((resolve) => MongoSess.close(resolve));

describe('the warning about a server without per-document atomic updates', () => {
  let ferret1 = false;

  before(async () => {
    await client.connect();
    const info = await client.db('admin').command({ buildInfo: 1 });
    ferret1 = typeof info['ferretdbVersion'] === 'string' && /^v?1\./.test(info['ferretdbVersion']);
  });

  after(async () => {
    await close();
    await client.close();
  });

  it('names lost updates and revived sessions, once per process however often connect() runs', async () => {
    const heard: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const warnings: string[] = [];
      await MongoSess.connect({ client, db: uniqueDbName('warn'), warn: (message) => void warnings.push(message) });
      await close();
      heard.push(warnings.filter((w) => w.includes('atomically')));
    }
    if (!ferret1) {
      assert.deepEqual(heard, [[], [], []], 'a server with atomic updates gets no such warning');
      return;
    }
    assert.equal(heard[0]?.length, 1, 'the first connect() warns');
    assert.match(heard[0]![0]!, /^mongosess: the server is FerretDB v?1\.\S+, which does not apply concurrent updates/);
    assert.match(heard[0]![0]!, /concurrent writes to one session can be lost/);
    assert.match(heard[0]![0]!, /ended \(or regenerated\) session can be revived by a late write/);
    assert.deepEqual(heard.slice(1), [[], []], 'later connect()s in the same process do not warn again');
  });
});
