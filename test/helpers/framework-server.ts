// Connecting mongosess for a framework test file.
import MongoSess from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from './db.js';

export function connectForTest(prefix: string): Promise<void> {
  return MongoSess.connect({ uri: MONGODB_URI, db: uniqueDbName(prefix), autoRemove: 'interval' });
}

export async function closeConnection(): Promise<void> {
  await new Promise((resolve) => MongoSess.close(resolve));
}
