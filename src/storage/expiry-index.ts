import type { Collection, IndexDescriptionInfo, MongoServerError } from 'mongodb';
import { isServerError } from './driver-objects.js';
import type { ConnectionSettings } from '../config/connect-options.js';
import { databaseError, warning } from '../edge/errors.js';
import type { SessionDocument } from './document.js';

/**
 * The expiry index. Its options never depend on `expires` (every document carries its own
 * `expiresAt`, and the TTL index removes it at that instant), so changing `expires` between
 * deployments never causes an IndexOptionsConflict.
 */
const TTL_INDEX = 'mongosess_expiresAt_ttl';
const SWEEP_INDEX = 'mongosess_expiresAt';

/** MongoDB error codes (src/mongo/base/error_codes.yml in the server's source). */
const BAD_VALUE = 2;
const CANNOT_CREATE_INDEX = 67;
const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_KEY_SPECS_CONFLICT = 86;
const COMMAND_NOT_SUPPORTED = 115;
const NOT_IMPLEMENTED = 238;

/** Answers a server gives when it has no TTL indexes (FerretDB 1.x: NotImplemented). */
const NO_TTL_CODES = new Set([NOT_IMPLEMENTED, COMMAND_NOT_SUPPORTED, CANNOT_CREATE_INDEX]);
/**
 * Azure Cosmos DB for MongoDB allows a TTL index only on its own `_ts` field, and says so with a
 * BadValue: "The expireAfterSeconds option is supported on '_ts' field only."
 */
const COSMOS_TTL_REFUSAL = /supported on '_ts' field only/;

/** Whether `err` is a server's refusal of TTL indexes (then the sweep takes over). */
export function refusesTtlIndex(err: unknown): err is MongoServerError {
  if (!isServerError(err)) return false;
  const code = Number(err.code);
  return NO_TTL_CODES.has(code) || (code === BAD_VALUE && COSMOS_TTL_REFUSAL.test(err.message));
}

/** An index on the same key with other options already exists. */
const CONFLICT_CODES = new Set([INDEX_OPTIONS_CONFLICT, INDEX_KEY_SPECS_CONFLICT]);
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
    if (isServerError(err) && err.code === NAMESPACE_NOT_FOUND) return [];
    throw databaseError('listing the session indexes', err);
  }
}

/** Sets up expiry on the collection and says how expired sessions will be removed. */
export async function prepareExpiry(
  collection: Collection<SessionDocument>,
  config: Pick<ConnectionSettings, 'autoRemove' | 'autoRemoveInterval'>,
  warn: (message: string) => void,
  /** Runs first, with the indexes found (the 0.4 TTL index replacement). */
  beforeExpiry: (indexes: IndexDescriptionInfo[]) => Promise<void>,
): Promise<Removal> {
  const indexes = await listIndexes(collection);
  await beforeExpiry(indexes);
  if (config.autoRemove === 'disabled') return 'disabled';

  const existing = indexes.find(isExpiresAtKey);
  if (config.autoRemove === 'native') {
    if (existing?.expireAfterSeconds !== undefined) return 'native';
    if (!existing) {
      try {
        await collection.createIndex({ expiresAt: 1 }, { name: TTL_INDEX, expireAfterSeconds: 0 });
        return 'native';
      } catch (err) {
        const conflict = isServerError(err) && CONFLICT_CODES.has(Number(err.code));
        if (!refusesTtlIndex(err) && !conflict) {
          throw databaseError(`creating the TTL index (or set autoRemove: 'interval' or 'disabled')`, err);
        }
        warn(
          warning(
            `this server refused a TTL index (${err.codeName ?? err.code}), so expired sessions are ` +
              `removed by a sweep every ${config.autoRemoveInterval} ms from this process instead. ` +
              `Set autoRemove: 'interval' to choose this explicitly and silence this warning.`,
          ),
        );
      }
    } else {
      warn(
        warning(
          `an index on expiresAt without TTL exists (index "${existing.name}", left by autoRemove ` +
            `'interval'), so expired sessions are removed by a sweep from this process. Drop that index to use a TTL index.`,
        ),
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
    if (isServerError(err) && CONFLICT_CODES.has(Number(err.code))) return;
    throw databaseError('creating the expiresAt index', err);
  }
}
