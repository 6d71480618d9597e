/**
 * What a session works with (storage, the lifetime policy, the clock), and the operations on
 * many sessions at once behind `endAll`, `countSessions` and `listSessions`.
 */
import type { LegacySessions } from '../legacy/legacy.js';
import { liveFilter, tombstoneTimes, type LifetimePolicy } from '../session/lifetime.js';
import type { SessionCollection, SessionSummary } from './collection.js';
import { buildDataFilter } from '../data/filter.js';
import type { DataCodec } from '../data/codec.js';
import type { ClientBson } from '../data/bson-value.js';
import { exceptClauses, handleOfSession, summarize, type DeviceSettings } from '../devices/devices.js';
import type { SessionEvents } from '../edge/events.js';
import { MongoSessDecryptionError, type Warn } from '../edge/errors.js';

/** The session settings of `connect()`, resolved: how sessions live, and what they may hold. */
export interface SessionPolicy extends LifetimePolicy {
  /** The largest `set()` payload, in bytes of BSON. */
  readonly maxDataBytes: number;
  /** get()'s `_id` is not enumerable (connect's `hideId`). */
  readonly hideId: boolean;
}

/** The collaborators of every Session of one connection. */
export interface SessionStore {
  readonly sessions: SessionCollection;
  /** Present when 0.4 sessions are looked for (`upgradeLegacySessions`). */
  readonly legacy: LegacySessions | undefined;
  readonly policy: SessionPolicy;
  /** What data is stored as (connect's `encryption`): see data/codec.ts. */
  readonly codec: DataCodec;
  /** The BSON library of the client's driver: the only one whose values it can write. */
  readonly bson: ClientBson;
  readonly now: () => number;
  /** The server can keep stored data within maxDataBytes (data/size.ts, probed at connect). */
  readonly sizeGuard: boolean;
  /** connect's `operationTimeout` for each request's database calls together; undefined with the caller's own client. */
  readonly requestTimeout: number | undefined;
  /** connect's device options (devices/devices.ts). */
  readonly devices: DeviceSettings;
  /** Where this store's events go (edge/events.ts). */
  readonly events: SessionEvents;
  /** connect's `warn`: where an operation's error goes when nobody handles its promise. */
  readonly warn: Warn;
}

/** The query for live (1.x) sessions whose data matches a user's filter. */
function query(store: SessionStore, dataFilter: Record<string, unknown>, now: number): Record<string, unknown> {
  // `_id` is a string digest: 0.4 documents (ObjectId `_id`) are reached by their own query.
  return { _id: { $type: 'string' }, ...liveFilter(store.policy, now), ...dataFilter };
}

/**
 * Ends every live session whose data matches `filter`, 0.4 ones included, except the session
 * `except` (the caller's own: "log out everywhere else"); resolves how many.
 */
export async function endAll(store: SessionStore, filter: unknown, except?: unknown): Promise<number> {
  const dataFilter = buildDataFilter(filter, store.codec, store.bson);
  const kept = exceptClauses(except, store.bson);
  const now = store.now();
  // 0.4 sessions first: one being moved meanwhile is then either removed here or already a
  // 1.x session when the second pass runs.
  const legacy = store.legacy ? await store.legacy.endAll({ ...store.legacy.query(dataFilter, now), ...kept.legacy }) : 0;
  const ended = await store.sessions.endAll(
    // `kept.current` is an `_id` clause that includes the `$type` of query()'s own.
    { ...query(store, dataFilter, now), ...kept.current },
    tombstoneTimes(store.policy, now, true),
  );
  const count = ended + legacy;
  store.events.emit('ended', { reason: 'endAll', count });
  return count;
}

/** Counts the live sessions whose data matches `filter`, 0.4 ones included. */
export async function countSessions(store: SessionStore, filter: unknown): Promise<number> {
  const dataFilter = buildDataFilter(filter, store.codec, store.bson);
  const now = store.now();
  const count = await store.sessions.count(query(store, dataFilter, now));
  return count + (store.legacy ? await store.legacy.count(store.legacy.query(dataFilter, now)) : 0);
}

/**
 * Lists the live sessions whose data matches `filter`: 1.x ones first, soonest expiry first.
 * The session `current` (the caller's own), if listed, is marked `current: true`.
 */
export async function listSessions(store: SessionStore, filter: unknown, limit: number, current?: unknown): Promise<SessionSummary[]> {
  const dataFilter = buildDataFilter(filter, store.codec, store.bson);
  const own = handleOfSession(current);
  const now = store.now();
  const listed = (await store.sessions.list(query(store, dataFilter, now), limit)).map((doc) => decoded(store.codec, summarize(doc, own)));
  if (!store.legacy || listed.length >= limit) return listed;
  return [...listed, ...(await store.legacy.list(store.legacy.query(dataFilter, now), limit - listed.length, now))];
}

/**
 * A listed session's data decrypted. With `encryption`, a session of which some values do not
 * decrypt (a retired key, damage) is listed without them (named in `undecryptable`) rather than
 * failing the whole list: a "your devices" page must still show it, and end it. Without
 * `encryption`, a sealed value is a misconfiguration, and the list fails as any read does.
 */
function decoded(codec: DataCodec, summary: SessionSummary): SessionSummary {
  try {
    return { ...summary, data: codec.decode(summary.data) };
  } catch (err) {
    if (!(err instanceof MongoSessDecryptionError) || !codec.decrypts) throw err;
  }
  const data: Record<string, unknown> = {};
  const undecryptable: string[] = [];
  for (const [key, value] of Object.entries(summary.data)) {
    try {
      Object.assign(data, codec.decode({ [key]: value }));
    } catch (err) {
      if (!(err instanceof MongoSessDecryptionError)) throw err;
      undecryptable.push(key);
    }
  }
  return { ...summary, data, undecryptable };
}
