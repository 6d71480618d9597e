import { randomBytes } from 'node:crypto';
import { MongoClient, type CommandStartedEvent, type MongoClientOptions } from 'mongodb';
import { hashSessionId, isSessionId, type SessionDigest } from '../../src/session/id.js';

/** Set by scripts/with-server.mjs (npm test), or by the user. */
export const MONGODB_URI = process.env['MONGODB_URI'] ?? '';
if (!MONGODB_URI) {
  throw new Error('MONGODB_URI is not set: run the tests with `npm test`, which provides a server');
}

/** A database of its own for each test file, so files never see each other's sessions. */
export function uniqueDbName(prefix: string): string {
  return `mongosess_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Commands that are the driver's own housekeeping, not mongosess's work. */
const HOUSEKEEPING = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'endSessions', 'buildInfo', 'saslStart', 'saslContinue']);

/**
 * A client (of the test server, or of `uri`, with extra `options`) whose commands are recorded,
 * to count and inspect what mongosess sends.
 */
export function monitoredClient(
  uri = MONGODB_URI,
  options: MongoClientOptions = {},
): { client: MongoClient; commands: CommandStartedEvent[]; reset(): void } {
  const client = new MongoClient(uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000, ...options });
  const commands: CommandStartedEvent[] = [];
  client.on('commandStarted', (event) => {
    if (!HOUSEKEEPING.has(event.commandName)) commands.push(event);
  });
  return { client, commands, reset: () => void commands.splice(0) };
}

/** What the server under test can do, found by asking it. */
export async function serverCapabilities(client: MongoClient): Promise<{ ferretdb: boolean; ttl: boolean }> {
  const info = await client.db('admin').command({ buildInfo: 1 });
  const probe = client.db(uniqueDbName('probe')).collection('ttl');
  let ttl = true;
  try {
    await probe.createIndex({ at: 1 }, { expireAfterSeconds: 0 });
  } catch {
    ttl = false;
  }
  await probe.drop().catch(() => undefined);
  return { ferretdb: typeof info['ferretdbVersion'] === 'string', ttl };
}

/** The `_id` under which the session with this cookie value is stored (the value must be a session id). */
export function digestOfCookie(sid: string): SessionDigest {
  if (!isSessionId(sid)) throw new Error('not a session id');
  return hashSessionId(sid);
}
