/**
 * Device sessions: the facts a "your devices" page shows (when each session began, when it was
 * last seen, optionally from which browser and address), and the operations on sessions by
 * handle (session/handle.ts) or by user: end one device, end all but this one, keep at most N
 * sessions per user.
 */
import { isSessionHandle, type SessionHandle, handleOf, HANDLE_FIELD } from '../session/handle.js';
import type { SessionSummary } from '../storage/collection.js';
import { isLive, liveFilter, tombstoneTimes } from '../session/lifetime.js';
import { buildDataFilter } from '../data/filter.js';
import { OWN_BSON, type ClientBson } from '../data/bson-value.js';
import { MongoSessValidationError } from '../edge/errors.js';
import { hashSessionId, isSessionId, type SessionDigest } from '../session/id.js';
import type { SessionStore } from '../storage/session-store.js';
import { type ClientInfo, DATA_FIELD, type SessionDocument } from '../storage/document.js';

/** connect()'s device options, resolved. */
export interface DeviceSettings {
  /** Store the user agent and IP address a session was created from. */
  readonly recordClient: boolean;
  /** The data key that names a session's user (its index is made at connect); undefined: none. */
  readonly userKey: string | undefined;
  /** With `userKey`: how many live sessions one user may have; 0 for no limit. */
  readonly maxSessionsPerUser: number;
  /** How long after a `regenerate()` its old id is forwarded to the new session, in ms; 0 for off. */
  readonly regenerateGrace: number;
  /** What a replay of a regenerated id does besides the `replay` event: `'endAll'` ends its user's sessions. */
  readonly onReplay: OnReplay;
}

/** What a replay of a regenerated id does besides the `replay` event (connect's `onReplay`). */
export type OnReplay = 'report' | 'endAll';

const MAX_USER_AGENT = 512;
/** The longest address kept: IPv6 with a zone, with room to spare; anything longer is not an address. */
const MAX_IP = 64;

/** What clientOf reads of a request: any exchange (http/cookie-exchange.ts) has it. */
export interface ClientSource {
  /** A request header by its lower-case name, its lines joined by ", ". */
  header(name: string): string | undefined;
  /** The socket's address; a Fetch Request has none unless the caller supplies it. */
  readonly remoteAddress: string | undefined;
}

/**
 * The client a request came from. With `trustProxy`, the first `X-Forwarded-For` address: the
 * client as the proxy nearest to it saw it, as Express's `req.ip` reads it with `trust proxy`
 * on. A client can claim any address there unless your edge proxy overwrites the header.
 */
export function clientOf(request: ClientSource, trustProxy: boolean): ClientInfo {
  const agent = request.header('user-agent');
  const forwarded = trustProxy ? firstForwarded(request.header('x-forwarded-for')) : undefined;
  const ip = forwarded ?? request.remoteAddress;
  return {
    ...(agent !== undefined && agent !== '' ? { userAgent: agent.slice(0, MAX_USER_AGENT) } : {}),
    ...(ip && ip.length <= MAX_IP ? { ip } : {}),
  };
}

function firstForwarded(header: string | undefined): string | undefined {
  const first = header?.split(',')[0]?.trim();
  return first ? first : undefined;
}

/**
 * Where a session object of another shape keeps the core Session it stands for: the
 * express-session middleware's `req.session` (whose own keys are the user's data, so it has no
 * `sid`). A registered symbol, as that entry is bundled apart from this one.
 */
export const CORE_SESSION: unique symbol = Symbol.for('mongosess.coreSession');

/** The core Session a session object stands for: `req.session` of express-session's shape gives its own. */
function coreOf(session: unknown): unknown {
  return typeof session === 'object' && session !== null && CORE_SESSION in session
    ? (session as { [CORE_SESSION]: unknown })[CORE_SESSION]
    : session;
}

/** The id a session object (anything with a `sid`, as `Session` has) carries; undefined for anything else. */
function sidOf(session: unknown): string | undefined {
  if (typeof session !== 'object' || session === null || !('sid' in session)) return undefined;
  const { sid } = session as { sid: unknown };
  return typeof sid === 'string' ? sid : undefined;
}

/**
 * The digest of the 1.x session a session object stands for: the session a request with a moved
 * id was forwarded to (`Session.forwardedTo`), else its own id's; undefined for a 0.4 id.
 */
function digestOfSession(session: object, sid: string): SessionDigest | undefined {
  const forwarded = 'forwardedTo' in session ? session.forwardedTo : undefined;
  if (typeof forwarded === 'string') return forwarded as SessionDigest;
  return isSessionId(sid) ? hashSessionId(sid) : undefined;
}

/** The handle of the 1.x session a session object names (`listSessions`' `current`). */
export function handleOfSession(given: unknown): SessionHandle | undefined {
  if (given === undefined) return undefined;
  const { digest } = identityOf(given, 'listSessions() current');
  return digest === undefined ? undefined : handleOf(digest);
}

/** The id, and for a 1.x session its digest, of the session `given` (an option named `what`) stands for. */
function identityOf(given: unknown, what: string): { sid: string; digest: SessionDigest | undefined } {
  const session = coreOf(given);
  const sid = sidOf(session);
  if (sid === undefined) {
    throw new MongoSessValidationError(`${what} must be a session (new MongoSess(req, res), or req.session of mongosess/express-session)`);
  }
  return { sid, digest: digestOfSession(session as object, sid) };
}

/** A listed 1.x session document as `listSessions` shows it: named by handle, never by digest. */
export function summarize(doc: SessionDocument & { h: SessionHandle }, current: SessionHandle | undefined): SessionSummary {
  return {
    handle: doc.h,
    data: doc.d ?? {},
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
    lastSeenAt: doc.seenAt ?? doc.createdAt,
    ...(doc.client ? { client: doc.client } : {}),
    current: current !== undefined && doc.h === current,
  };
}

/**
 * Ends the live session named by `handle`, if it also matches `filter` (a data filter: pass the
 * user's, so that a handle from another account ends nothing). Resolves whether one was ended.
 */
export async function endSession(store: SessionStore, handle: unknown, filter: unknown = {}): Promise<boolean> {
  if (!isSessionHandle(handle)) {
    throw new MongoSessValidationError('endSession() takes a handle from listSessions() (a string starting with msh1.)');
  }
  const dataFilter = buildDataFilter(filter, store.codec, store.bson);
  const now = store.now();
  const before = await store.sessions.endOne(
    { [HANDLE_FIELD]: handle, ...liveFilter(store.policy, now), ...dataFilter },
    tombstoneTimes(store.policy, now, true),
  );
  if (!before) return false;
  store.events.emit('ended', { reason: 'end', handle });
  return true;
}

/**
 * endAll's `except` (the caller's own session, "log out everywhere else"): the clause that
 * leaves it out of the 1.x sessions (replacing the `_id` clause of their query: it keeps its
 * `$type`), and the `_id` clause for the 0.4 ones (whose query is an `$and`, with no `_id` of its own).
 */
export function exceptClauses(
  given: unknown,
  bson: ClientBson = OWN_BSON,
): { current: Record<string, unknown>; legacy: Record<string, unknown> } {
  const none = { current: {}, legacy: {} };
  if (given === undefined) return none;
  const { sid, digest } = identityOf(given, 'endAll() except');
  if (digest !== undefined) return { current: { _id: { $type: 'string', $ne: digest } }, legacy: {} };
  // A 0.4 cookie is its ObjectId in hex; the ObjectId is the client's, which its driver can write.
  return /^[0-9a-f]{24}$/.test(sid) ? { current: {}, legacy: { _id: { $ne: bson.objectId(sid) } } } : none;
}

/**
 * `maxSessionsPerUser`: after the session `own` gained the user `user`, ends that user's live
 * sessions beyond the limit. Every caller ranks them the same way (last seen first, then by
 * handle), so concurrent logins agree on which survive; a session never ends itself here (a
 * newer login's own check ends it). Resolves how many were ended.
 */
export async function enforceUserLimit(store: SessionStore, own: SessionHandle, user: unknown): Promise<number> {
  const { userKey, maxSessionsPerUser } = store.devices;
  if (userKey === undefined || maxSessionsPerUser === 0 || user === undefined || user === null) return 0;
  const now = store.now();
  const query = { _id: { $type: 'string' as const }, ...liveFilter(store.policy, now), [`${DATA_FIELD}.${userKey}`]: user };
  // All of the user's live sessions (limit 0: no limit); through the userKey index.
  const ranked = await store.sessions.list(query, 0, { seenAt: -1, createdAt: -1, [HANDLE_FIELD]: 1 });
  let ended = 0;
  for (const doc of ranked.slice(maxSessionsPerUser)) {
    if (doc.h === own) continue;
    const before = await store.sessions.endOne({ _id: doc._id, ...liveFilter(store.policy, now) }, tombstoneTimes(store.policy, now, true));
    if (before && isLive(store.policy, before, now)) {
      ended++;
      store.events.emit('ended', { reason: 'evicted', handle: doc.h });
    }
  }
  return ended;
}
