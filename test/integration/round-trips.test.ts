// One database round trip where other stores use two: commands counted with the driver's monitoring.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import MongoSess from '../../src/index.js';
import { monitoredClient, uniqueDbName } from '../helpers/db.js';
import { Browser, send, serve, type TestServer } from '../helpers/http.js';

const { client, commands, reset } = monitoredClient();
let app: TestServer;
let browser: Browser;

describe('database commands per request', () => {
  before(async () => {
    await MongoSess.connect({ client, db: uniqueDbName('trips'), autoRemove: 'interval', autoRemoveInterval: 3_600_000 });
    app = await serve(async (req, res) => {
      const session = new MongoSess(req, res);
      switch (req.url) {
        case '/nothing':
          return send(res, session.sid);
        case '/get-new':
          return send(res, await session.get());
        case '/read':
          return send(res, await session.get('n'));
        case '/read-many':
          return send(res, [await session.get('n'), await session.get(), await session.get('n')]);
        case '/parallel-reads':
          return send(res, await Promise.all([session.get('n'), session.get('n'), session.get()]));
        case '/set':
          return send(res, await session.set({ n: 1 }));
        case '/set-get':
          await session.set({ n: 2 });
          return send(res, await session.get());
        case '/get-set-get':
          await session.get();
          await session.set({ n: 3 });
          return send(res, await session.get('n'));
        default:
          return send(res, null, 404);
      }
    });
    browser = new Browser();
    await browser.get(`${app.url}/set`); // an existing session for the read cases
  });

  after(async () => {
    await app.close();
    await new Promise((resolve) => MongoSess.close(resolve));
    await client.close();
  });

  async function count(path: string, withCookie = true): Promise<{ names: string[]; body: unknown }> {
    reset();
    const reply = withCookie ? await browser.get(`${app.url}${path}`) : await new Browser().get(`${app.url}${path}`);
    assert.equal(reply.status, 200, reply.body);
    return { names: commands.map((c) => c.commandName), body: reply.json() };
  }

  it('a visitor who never stores anything: 0 commands, even when reading', async () => {
    assert.deepEqual((await count('/nothing', false)).names, []);
    assert.deepEqual((await count('/get-new', false)).names, []);
  });

  it('a request that only reads: 1 command', async () => {
    const { names, body } = await count('/read');
    assert.deepEqual(names, ['find']);
    assert.equal(body, 1);
  });

  it('several gets in one request, sequential or parallel: 1 read', async () => {
    assert.deepEqual((await count('/read-many')).names, ['find']);
    assert.deepEqual((await count('/parallel-reads')).names, ['find']);
  });

  it('set: 1 command', async () => {
    assert.deepEqual((await count('/set')).names, ['findAndModify']);
  });

  it('set then get: 1 command in total (read your own writes)', async () => {
    const { names, body } = await count('/set-get');
    assert.deepEqual(names, ['findAndModify']);
    assert.equal((body as { n: number }).n, 2);
  });

  it('get, set, get: 2 commands (the write refreshes the cached session)', async () => {
    const { names, body } = await count('/get-set-get');
    assert.deepEqual(names, ['find', 'findAndModify']);
    assert.equal(body, 3);
  });

  it('a new visitor who sets: 1 command, an upsert', async () => {
    reset();
    await new Browser().get(`${app.url}/set`);
    assert.deepEqual(
      commands.map((c) => c.commandName),
      ['findAndModify'],
    );
    assert.equal(commands[0]?.command['upsert'], true);
  });
});
