// The serializing proxy makes a server that is not atomic per document (FerretDB 1.x) order
// concurrent updates as MongoDB does, and no more: a client that writes the whole document from
// what it read still loses updates behind it, while per-key `$set`s lose none. So the tests that
// pass behind the proxy (concurrency.test.ts) are tests that can fail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, type Collection } from 'mongodb';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { rawRequest, send, serve, type TestServer } from '../helpers/http.js';
import { serialProxy, type SerialProxy } from '../helpers/serial-proxy.js';

const PARALLEL = 100;
type Doc = { _id: string; d: Record<string, number> };

describe('the serializing proxy', () => {
  let proxy: SerialProxy;
  let client: MongoClient;
  let docs: Collection<Doc>;
  let app: TestServer;
  let trial = 0;

  before(async () => {
    proxy = await serialProxy(MONGODB_URI);
    client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 5000 });
    docs = client.db(uniqueDbName('proxy')).collection<Doc>('docs');
    app = await serve(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const _id = url.searchParams.get('id') ?? '';
      const key = url.searchParams.get('k') ?? '';
      switch (url.pathname) {
        case '/whole': {
          // read the document, merge this request's key, write the whole data back
          const doc = await docs.findOne({ _id });
          await docs.updateOne({ _id }, { $set: { d: { ...doc?.d, [key]: 1 } } });
          return send(res, 'ok');
        }
        case '/key': // a $set of only this request's key, as mongosess sends
          await docs.findOneAndUpdate({ _id }, { $set: { [`d.${key}`]: 1 } }, { returnDocument: 'after' });
          return send(res, 'ok');
        default:
          return send(res, null, 404);
      }
    });
  });

  after(async () => {
    await app.close();
    await docs.drop().catch(() => undefined);
    await client.close();
    await proxy.close();
  });

  /** PARALLEL requests to `path` on one fresh document, each writing its own key: how many keys are missing after. */
  async function lostUpdates(path: string): Promise<number> {
    const _id = `doc${++trial}`;
    await docs.insertOne({ _id, d: {} });
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => rawRequest(`${app.url}${path}?id=${_id}&k=k${i}`)));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    const doc = await docs.findOne({ _id });
    return PARALLEL - Object.keys(doc?.d ?? {}).length;
  }

  it(`control: ${PARALLEL} parallel whole-document writers (read, merge one key, write all) lose updates through it`, async (t) => {
    const before = proxy.serialized;
    const lost = await lostUpdates('/whole');
    t.diagnostic(`whole-document writer through the proxy: lost ${lost} of ${PARALLEL}`);
    assert.ok(proxy.serialized - before >= 2 * PARALLEL, 'every read and write went through the proxy');
    assert.ok(lost > 0, 'a read-merge-write client loses updates even when the server runs one command at a time');
  });

  it(`${PARALLEL} parallel raw-driver $sets of distinct keys lose none through it`, async (t) => {
    const before = proxy.byName.get('findAndModify') ?? 0;
    const lost = await lostUpdates('/key');
    t.diagnostic(`raw driver $set through the proxy: lost ${lost} of ${PARALLEL}`);
    assert.equal((proxy.byName.get('findAndModify') ?? 0) - before, PARALLEL, 'every $set was serialized');
    assert.equal(lost, 0);
  });

  it('passes connection chatter through without serializing it', async () => {
    const before = proxy.serialized;
    const chatter = proxy.chatter;
    await client.db('admin').command({ ping: 1 });
    await client.db('admin').command({ buildInfo: 1 });
    assert.equal(proxy.serialized, before);
    assert.ok(proxy.chatter >= chatter + 2);
  });
});
