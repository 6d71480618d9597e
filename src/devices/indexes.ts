import { MongoServerError, type Collection } from 'mongodb';
import { databaseError, warning } from '../edge/errors.js';
import { HANDLE_FIELD } from '../session/handle.js';
import { type SessionDocument, DATA_FIELD } from '../storage/document.js';

/** An index on the same key, or of the same name, with other options already exists: it serves. */
const CONFLICT_CODES = new Set([85, 86]);

/** The index names, so that operators (and `mongosess doctor`) can recognise them. */
export const HANDLE_INDEX = 'mongosess_handle';
export function userIndexName(userKey: string): string {
  return `mongosess_user_${userKey}`;
}

/**
 * The indexes of device sessions: on the handle (`endSession(handle)` finds one session among
 * all), and with `userKey` on that data key (a user's sessions: `endAll`, `listSessions`,
 * `maxSessionsPerUser`). Both are made at connect, and creating an existing index is a no-op.
 * They only make queries fast: a server (or a database user) that refuses one gets a warning
 * saying how to create it, and every operation still works, by scanning.
 */
export async function createDeviceIndexes(
  collection: Collection<SessionDocument>,
  userKey: string | undefined,
  warn: (message: string) => void,
): Promise<void> {
  await createIndex(collection, { [HANDLE_FIELD]: 1 }, HANDLE_INDEX, 'endSession(handle)', warn);
  if (userKey !== undefined) {
    const key = `${DATA_FIELD}.${userKey}`;
    await createIndex(collection, { [key]: 1 }, userIndexName(userKey), `a user's sessions (${key})`, warn);
  }
}

async function createIndex(
  collection: Collection<SessionDocument>,
  key: Record<string, 1>,
  name: string,
  serves: string,
  warn: (message: string) => void,
): Promise<void> {
  try {
    await collection.createIndex(key, { name });
  } catch (err) {
    if (err instanceof MongoServerError && CONFLICT_CODES.has(Number(err.code))) return;
    if (!(err instanceof MongoServerError)) throw databaseError(`creating the index ${name}`, err);
    warn(
      warning(
        `the server refused the index ${name} (${err.codeName ?? err.code}), so ${serves} scans the collection; ` +
          `create it with db.${collection.collectionName}.createIndex(${JSON.stringify(key)}, { name: '${name}' })`,
      ),
    );
  }
}
