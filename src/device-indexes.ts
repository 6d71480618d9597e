import { MongoServerError, type Collection } from 'mongodb';
import { databaseError } from './errors.js';
import type { SessionDocument } from './session-collection.js';
import { DATA_FIELD } from './session-data.js';
import { HANDLE_FIELD } from './session-handle.js';

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
 */
export async function createDeviceIndexes(collection: Collection<SessionDocument>, userKey: string | undefined): Promise<void> {
  await createIndex(collection, { [HANDLE_FIELD]: 1 }, HANDLE_INDEX);
  if (userKey !== undefined) await createIndex(collection, { [`${DATA_FIELD}.${userKey}`]: 1 }, userIndexName(userKey));
}

async function createIndex(collection: Collection<SessionDocument>, key: Record<string, 1>, name: string): Promise<void> {
  try {
    await collection.createIndex(key, { name });
  } catch (err) {
    if (err instanceof MongoServerError && CONFLICT_CODES.has(Number(err.code))) return;
    throw databaseError(`creating the index ${name}`, err);
  }
}
