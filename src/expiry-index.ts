import { MongoServerError, type Collection, type IndexDescriptionInfo } from 'mongodb';
import type { StoreConfig } from './connect-options.js';
import { databaseError } from './errors.js';
import type { SessionDocument } from './session-collection.js';

/**
 * The expiry index. Its options never depend on `expires` (every document carries its own
 * `expiresAt`, and the TTL index removes it at that instant), so changing `expires` between
 * deployments never causes an IndexOptionsConflict.
 */
const TTL_INDEX = 'mongosess_expiresAt_ttl';
const SWEEP_INDEX = 'mongosess_expiresAt';

/** Answers a server gives when it has no TTL indexes (FerretDB 1.x: NotImplemented, 238). */
const NO_TTL_CODES = new Set([238, 115, 67]);
/** An index on the same key with other options already exists. */
const CONFLICT_CODES = new Set([85, 86]);
/** dropIndex of an index that is not there (any more). */
const INDEX_NOT_FOUND = 27;
/** The collection does not exist yet: it has no indexes. */
const NAMESPACE_NOT_FOUND = 26;

/** How expired sessions actually get removed on this server. */
export type Removal = 'native' | 'interval' | 'disabled';

function isExpiresAtKey(index: IndexDescriptionInfo): boolean {
  const keys = Object.keys(index.key);
  return keys.length === 1 && keys[0] === 'expiresAt';
}

async function listIndexes(collection: Collection<SessionDocument>): Promise<IndexDescriptionInfo[]> {
  try {
    return await collection.listIndexes().toArray();
  } catch (err) {
    if (err instanceof MongoServerError && err.code === NAMESPACE_NOT_FOUND) return [];
    throw databaseError('listing the session indexes', err);
  }
}

/** Sets up expiry on the collection and says how expired sessions will be removed. */
export async function prepareExpiry(collection: Collection<SessionDocument>, config: StoreConfig): Promise<Removal> {
  const indexes = await listIndexes(collection);
  if (config.upgradeLegacySessions) await replaceLegacyTtlIndex(collection, indexes, config);
  if (config.autoRemove === 'disabled') return 'disabled';

  const existing = indexes.find(isExpiresAtKey);
  if (config.autoRemove === 'native') {
    if (existing?.expireAfterSeconds !== undefined) return 'native';
    if (!existing) {
      try {
        await collection.createIndex({ expiresAt: 1 }, { name: TTL_INDEX, expireAfterSeconds: 0 });
        return 'native';
      } catch (err) {
        if (!(err instanceof MongoServerError) || !(NO_TTL_CODES.has(Number(err.code)) || CONFLICT_CODES.has(Number(err.code)))) {
          throw databaseError(`creating the TTL index (or set autoRemove: 'interval' or 'disabled')`, err);
        }
        config.warn(
          `mongosess: this server refused a TTL index (${err.codeName ?? err.code}), so expired sessions are ` +
            `removed by a sweep every ${config.autoRemoveInterval} ms from this process instead. ` +
            `Set autoRemove: 'interval' to choose this explicitly and silence this warning.`,
        );
      }
    } else {
      config.warn(
        `mongosess: an index on expiresAt without TTL exists (index "${existing.name}", left by autoRemove ` +
          `'interval'), so expired sessions are removed by a sweep from this process. Drop that index to use a TTL index.`,
      );
    }
  }
  if (!existing) await createSweepIndex(collection);
  return 'interval';
}

/** The sweep's range query on expiresAt needs an index to cost the same however many sessions live. */
async function createSweepIndex(collection: Collection<SessionDocument>): Promise<void> {
  try {
    await collection.createIndex({ expiresAt: 1 }, { name: SWEEP_INDEX });
  } catch (err) {
    // Another process created an equivalent index meanwhile: fine.
    if (err instanceof MongoServerError && CONFLICT_CODES.has(Number(err.code))) return;
    throw databaseError('creating the expiresAt index', err);
  }
}

/**
 * mongosess 0.4 kept a TTL index on `createdAt` with `expires` baked in. It would delete
 * sessions by creation time (cutting rolling sessions short) and conflict with edits of
 * `expires`, so it is replaced: old documents get an `expiresAt` one lifetime from now.
 */
async function replaceLegacyTtlIndex(
  collection: Collection<SessionDocument>,
  indexes: IndexDescriptionInfo[],
  config: StoreConfig,
): Promise<void> {
  const legacy = indexes.find((index) => {
    const keys = Object.keys(index.key);
    return keys.length === 1 && keys[0] === 'createdAt' && index.expireAfterSeconds !== undefined;
  });
  if (!legacy?.name) return;
  try {
    await collection.updateMany(
      { expiresAt: { $exists: false } },
      { $set: { expiresAt: new Date(config.now() + config.expires) } },
    );
    await collection.dropIndex(legacy.name);
  } catch (err) {
    // Another instance starting at the same time dropped it first: fine.
    if (err instanceof MongoServerError && err.code === INDEX_NOT_FOUND) return;
    throw databaseError('replacing the TTL index of mongosess 0.4', err);
  }
  config.warn(
    `mongosess: replaced the TTL index "${legacy.name}" of mongosess 0.4 with per-session expiry dates; ` +
      'existing sessions keep working and expire one lifetime from now at the latest.',
  );
}
