// The choice of expiry removal, fed the driver's errors: no Cosmos DB server runs here, so its
// refusal of TTL indexes (code 2, BadValue, "supported on '_ts' field only") is fed as the
// driver raises it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError, type Collection } from 'mongodb';
import { prepareExpiry, refusesTtlIndex } from '../../../src/storage/expiry-index.js';
import type { SessionDocument } from '../../../src/storage/document.js';

const COSMOS = { ok: 0, code: 2, codeName: 'BadValue', errmsg: "The expireAfterSeconds option is supported on '_ts' field only." };

/** A collection with no indexes whose TTL index creation fails with `ttlError`; records the indexes it creates. */
function collectionRefusingTtl(ttlError: Error) {
  const created: { keys: unknown; options: { expireAfterSeconds?: number } }[] = [];
  const collection = {
    listIndexes: () => ({ toArray: async () => [] }),
    createIndex: async (keys: unknown, options: { expireAfterSeconds?: number }) => {
      if (options.expireAfterSeconds !== undefined) throw ttlError;
      created.push({ keys, options });
      return 'created';
    },
  } as unknown as Collection<SessionDocument>;
  return { collection, created };
}

describe('expiry index', () => {
  it("Cosmos DB's refusal of a TTL index falls back to the interval sweep, with one warning", async () => {
    const { collection, created } = collectionRefusingTtl(new MongoServerError(COSMOS));
    const warnings: string[] = [];
    const removal = await prepareExpiry(
      collection,
      { autoRemove: 'native', autoRemoveInterval: 60_000 },
      (m) => warnings.push(m),
      async () => {},
    );
    assert.equal(removal, 'interval');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /^mongosess: this server refused a TTL index \(BadValue\), so expired sessions are removed by a sweep every 60000 ms/,
    );
    assert.deepEqual(created, [{ keys: { expiresAt: 1 }, options: { name: 'mongosess_expiresAt' } }], 'the sweep gets its index');
  });

  it('other BadValue errors are not mistaken for a TTL refusal: connect() fails with them', async () => {
    assert.equal(refusesTtlIndex(new MongoServerError({ ...COSMOS, errmsg: 'bad index name' })), false);
    const { collection } = collectionRefusingTtl(new MongoServerError({ ...COSMOS, errmsg: 'bad index name' }));
    await assert.rejects(
      prepareExpiry(
        collection,
        { autoRemove: 'native', autoRemoveInterval: 60_000 },
        () => undefined,
        async () => {},
      ),
      /creating the TTL index .* failed: the server refused it \(BadValue\)/,
    );
  });

  it("FerretDB 1.x's NotImplemented is a TTL refusal too", () => {
    assert.equal(refusesTtlIndex(new MongoServerError({ code: 238, codeName: 'NotImplemented', errmsg: 'x' })), true);
    assert.equal(refusesTtlIndex(new Error("supported on '_ts' field only")), false, 'only a server error');
  });
});
