import type { MongoClient, MongoClientOptions, WriteConcernSettings } from 'mongodb';
import { encryptingCodec, PLAIN_CODEC, type DataCodec } from '../data/codec.js';
import { isMongoClient } from '../storage/driver-objects.js';
import { resolveEncryption, type EncryptionOptions } from '../data/encryption.js';
import type { Warn } from '../edge/errors.js';
import type { SessionPolicy } from '../storage/session-store.js';
import type { DeviceSettings, OnReplay } from '../devices/devices.js';
import { checkKey } from '../data/path.js';
import { DEFAULT_ENDING_WRITE_CONCERN, endingWriteConcern, type EndingWriteConcern } from '../storage/write-concern.js';
import {
  boolean,
  checkObject,
  describe,
  fail,
  fn,
  milliseconds,
  nonEmptyString,
  oneOf,
  option,
  positiveInteger,
  raw,
  readOptions,
  type OptionSpec,
} from './validate-option.js';

/** Fourteen days in ms: the default lifetime of a session (`expires`), as in mongosess 0.4. */
export const FOURTEEN_DAYS_MS = 14 * 24 * 60 * 60 * 1000;
/** Bounds every wait on the database, so an outage fails requests fast instead of after the driver's 30 s. */
const DEFAULT_OPERATION_TIMEOUT_MS = 5_000;
/** How often the fallback sweep removes expired sessions where the server has no TTL indexes. */
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
/** setInterval's largest delay (about 24.8 days); Node turns a larger one into 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * The longest `regenerateGrace`: the window is for requests a browser sent before it got a
 * login's new cookie, and all through it the old id opens the session.
 */
const MAX_REGENERATE_GRACE_MS = 60_000;
/** Well under MongoDB's 16 MiB document limit, so a session document always has room to grow. */
const DEFAULT_MAX_DATA_BYTES = 1024 * 1024;
const DEFAULT_URI = 'mongodb://127.0.0.1:27017';
const DEFAULT_PORT = 27017;

/**
 * How expired sessions are removed from the database (expired sessions are never served, whichever
 * is chosen): `'native'`, a TTL index, or the sweep where the server refuses TTL indexes;
 * `'interval'`, a sweep from this process every `autoRemoveInterval`; `'disabled'`, not at all.
 */
export type AutoRemove = 'native' | 'interval' | 'disabled';

/** One entry of mongosess 0.4's `servers` list: a host, a port and legacy driver options. */
export interface LegacyServer {
  /** Host name or IP address of the server. */
  host: string;
  /** @default 27017 */
  port?: number;
  /**
   * Options of the old driver. `poolSize` becomes the pool's `maxPoolSize` and `rs_name` /
   * `replicaSet` the replica set name; options the current driver no longer has
   * (`autoReconnect`, `auto_reconnect`, `socketOptions`, …) are accepted and ignored.
   */
  opts?: Record<string, unknown>;
}

/** Options of `MongoSess.connect()`. */
export interface ConnectOptions {
  /**
   * Database name.
   * @default the database named in `uri`, else `'mongosess'`
   */
  db?: string;
  /**
   * Collection that holds the sessions.
   * @default 'sessions'
   */
  collection?: string;
  /**
   * A MongoDB connection string. Use one of `uri`, `servers` or `client`.
   * @default 'mongodb://127.0.0.1:27017' when none of the three is given
   */
  uri?: string;
  /** mongosess 0.4's server list; several entries form a replica set seed list. */
  servers?: LegacyServer[];
  /** mongosess 0.4's credentials. */
  auth?: {
    /** The user name. */
    user: string;
    /** The password. */
    pass: string;
  };
  /**
   * An existing, caller-owned MongoClient, from mongodb 6.x or 7.x: any copy of the package, so
   * Mongoose 8's and 9's `connection.getClient()` work. mongosess connects it if needed but never
   * closes it.
   */
  client?: MongoClient;
  /** Extra options for the MongoClient mongosess creates (ignored with `client`). */
  clientOptions?: MongoClientOptions;
  /**
   * How long a session lives in the database, in ms: from creation, or from last use with
   * `rolling`. Changing it between deployments needs no index work.
   * @default 1209600000 (14 days)
   */
  expires?: number;
  /**
   * How expired sessions are removed. `'native'`: a TTL index, falling back to `'interval'`
   * (with one warning) when the server refuses TTL indexes. `'interval'`: a periodic sweep
   * from this process. `'disabled'`: nothing is removed (expired sessions are still never served).
   * @default 'native'
   */
  autoRemove?: AutoRemove;
  /**
   * Period of the `'interval'` sweep, in ms.
   * @default 60000
   */
  autoRemoveInterval?: number;
  /**
   * Sliding expiry: using a session pushes its database expiry (and its cookie's) to
   * `expires` from now.
   * @default false
   */
  rolling?: boolean;
  /**
   * With `rolling`, extend a session only when that gains more than this many ms, so a session
   * that is only read costs at most one write per `touchAfter`.
   * @default 0
   */
  touchAfter?: number;
  /**
   * A cap on a session's life counted from its creation, which no activity extends.
   * `0` means no cap.
   * @default 0
   */
  absoluteTimeout?: number;
  /**
   * Upper bound in ms on waiting for the database, applied to the client mongosess creates: to
   * server selection, connecting and socket reads, and to each request as a whole (the time all
   * the database calls of one request's session take together, not the app's work between
   * them). With your own `client`, its settings apply.
   * @default 5000
   */
  operationTimeout?: number;
  /**
   * The largest `set()` payload, in bytes of BSON.
   * @default 1048576 (1 MiB)
   */
  maxDataBytes?: number;
  /**
   * Make the `_id` of `get()`'s whole session non-enumerable: still readable as `data._id`, but
   * left out by `JSON.stringify` (so `res.json(await session.get())`), spreads, `Object.keys` and
   * loggers, so a page script cannot learn the HttpOnly cookie's value from a response that echoes
   * the session. Recommended for new code. `false` keeps it an ordinary property, as in mongosess
   * 0.4 (whose apps may send the session, `_id` included, on purpose).
   * @default false
   */
  hideId?: boolean;
  /**
   * Find sessions written by mongosess 0.4 (24-hex ObjectId cookies) and move each, on first
   * use, to a fresh random hashed id. Also replaces 0.4's TTL index on `createdAt`.
   * @default true
   */
  upgradeLegacySessions?: boolean;
  /**
   * Write concern of the writes that end sessions: `end()`, the claim of the old id in
   * `regenerate()`, `endAll()`, tombstones, and the removal or move of mongosess 0.4 sessions.
   * On a replica set a logout acknowledged by the primary alone can be rolled back by a
   * failover, bringing the session back; `'majority'` survives it. Other writes (`set`, `del`)
   * keep the client's write concern. `w: 0` is refused.
   * @default { w: 'majority' }
   */
  writeConcern?: EndingWriteConcern;
  /**
   * Encrypts session values at rest with AES-256-GCM, each top-level data key's value on its own,
   * so every `set()` stays one atomic update of only the keys it names (README, "Encryption at
   * rest"). `keys`: newest first, each 32 bytes (a Buffer, base64 or hex) or a passphrase of at
   * least 32 characters; the newest encrypts, all decrypt (rotation). `fields`: encrypt only
   * these keys, leaving the others queryable. Values stored in clear before keep being served,
   * and are encrypted when next set.
   * @default undefined (values stored in clear)
   */
  encryption?: EncryptionOptions;
  /**
   * Store, with each session, the user agent and IP address of the request that created it, for
   * a "your devices" page (`listSessions()` returns them as `client`). The IP honours the
   * session's `trustProxy` (the first `X-Forwarded-For` address). Personal data: off unless asked.
   * @default false
   */
  recordClient?: boolean;
  /**
   * The data key that names a session's user, for example `'userId'`. `connect()` creates an
   * index on it, so `endAll({ userId })`, `listSessions({ userId })` and `maxSessionsPerUser`
   * stay fast with many sessions.
   * @default undefined (no index)
   */
  userKey?: string;
  /**
   * With `userKey`: when a session gains a user (`set({ userId })`, `regenerate({ set: { userId } })`),
   * that user's live sessions beyond this many are ended, least recently seen first. `0`: no limit.
   * @default 0
   */
  maxSessionsPerUser?: number;
  /**
   * How long, in ms, the old id of a `regenerate()` keeps working: requests that use it within
   * this window after the move (in flight during it, or sent before the browser got the new
   * cookie) are forwarded to the new session (reads and writes land there) and send no cookie. Afterwards a use of the old id is a replay: the `replay` event, a fresh empty session
   * for that request, and with `onReplay: 'endAll'` the end of its user's sessions. Whoever holds
   * the old id (a planted one, for session fixation) reaches the new session for the window, so
   * keep it short; at most 60000. `0`: off, the old id is dead at once (as before 1.x) and no
   * replay is reported.
   * @default 0
   */
  regenerateGrace?: number;
  /**
   * With `regenerateGrace` and `userKey`: `'endAll'` ends every session of the user a replayed old
   * id's session belongs to (a stolen cookie: log the victim out everywhere); `'report'` only
   * emits the `replay` event.
   * @default 'report'
   */
  onReplay?: OnReplay;
  /**
   * The clock, in ms since the epoch. Tests pass a fake one.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Where mongosess's few warnings go (for example the TTL fallback), with the error behind the
   * warning when there is one: also the error of an operation whose promise nobody handled (no
   * callback, no `await`, no `.catch()`), which would otherwise be an unhandled rejection.
   * @default a `process.emitWarning` of type 'MongoSessWarning'
   */
  warn?: Warn;
}

const positiveMs = (name: string, value: unknown, fallback: number): number => milliseconds(name, value, fallback, { allowZero: false });

/**
 * Every `connect()` option: its default and its check. The compiler ties it to ConnectOptions
 * (an option missing here, or one here that the interface lacks, does not compile); the list of
 * known names, the defaults and the checks all derive from it.
 */
export const CONNECT_OPTIONS = {
  db: raw<string>(),
  collection: option('sessions', nonEmptyString),
  uri: raw<string>(),
  servers: raw<LegacyServer[]>(),
  auth: raw<{ user: string; pass: string }>(),
  client: raw<MongoClient>(),
  clientOptions: raw<MongoClientOptions>(),
  expires: option(FOURTEEN_DAYS_MS, positiveMs),
  autoRemove: option<AutoRemove>('native', (name, value, fallback) =>
    oneOf(name, value, ['native', 'interval', 'disabled'] as const, fallback),
  ),
  autoRemoveInterval: option(DEFAULT_SWEEP_INTERVAL_MS, positiveMs),
  rolling: option(false, boolean),
  touchAfter: option(0, milliseconds),
  absoluteTimeout: option(0, milliseconds),
  operationTimeout: option(DEFAULT_OPERATION_TIMEOUT_MS, positiveMs),
  maxDataBytes: option(DEFAULT_MAX_DATA_BYTES, positiveInteger),
  hideId: option(false, boolean),
  upgradeLegacySessions: option(true, boolean),
  writeConcern: option<WriteConcernSettings>(DEFAULT_ENDING_WRITE_CONCERN, endingWriteConcern),
  encryption: raw<EncryptionOptions>(),
  recordClient: option(false, boolean),
  userKey: raw<string>(),
  maxSessionsPerUser: option(0, nonNegativeInteger),
  regenerateGrace: option(0, milliseconds),
  onReplay: option<OnReplay>('report', (name, value, fallback) => oneOf(name, value, ['report', 'endAll'] as const, fallback)),
  now: option<() => number>(Date.now, fn),
  warn: option<Warn>(defaultWarn, fn),
} satisfies { readonly [K in keyof Required<ConnectOptions>]: OptionSpec<ConnectOptions[K]> };

/** How to reach the server and keep the collection: what the connection manager needs. */
export interface ConnectionSettings {
  dbName: string;
  collectionName: string;
  /** A caller's client, or what to build ours from. */
  client: { client: MongoClient } | { uri: string; clientOptions: MongoClientOptions };
  autoRemove: AutoRemove;
  autoRemoveInterval: number;
  /** Look for mongosess 0.4 sessions, and replace 0.4's TTL index. */
  upgradeLegacySessions: boolean;
  /** Write concern of the writes that end sessions. */
  endingWriteConcern: WriteConcernSettings;
  /** The time one request may wait on the database, all its calls together; undefined with the caller's `client`. */
  requestTimeout: number | undefined;
}

/** Everything `connect()` needs, complete and checked. */
export interface StoreConfig {
  connection: ConnectionSettings;
  policy: SessionPolicy;
  /** What session data is stored as: encrypted with `encryption`, else as given. */
  codec: DataCodec;
  devices: DeviceSettings;
  now: () => number;
  warn: Warn;
}

/** The default `warn`: a process warning of type 'MongoSessWarning'. */
export function defaultWarn(message: string): void {
  process.emitWarning(message, 'MongoSessWarning');
}

export function resolveConnectOptions(input: unknown): StoreConfig {
  const options = readOptions('connect', input, CONNECT_OPTIONS);

  const sources = (['uri', 'servers', 'client'] as const).filter((key) => options[key] !== undefined);
  if (sources.length > 1) fail(`pass only one of uri, servers and client, got: ${sources.join(' and ')}`);

  const client = resolveClient(options);
  const uriDb = 'uri' in client ? databaseInUri(client.uri) : undefined;

  const collectionName = options.collection;
  if (collectionName.includes('$') || collectionName.includes('\0')) {
    fail(`collection must not contain '$' or NUL, got: ${describe(collectionName)}`);
  }
  const dbName = nonEmptyString('db', options.db, uriDb ?? 'mongosess');
  if (/[/\\. "$\0]/.test(dbName)) fail(`db must be a database name without / \\ . space " $ or NUL, got: ${describe(dbName)}`);

  const { autoRemoveInterval, rolling, touchAfter } = options;
  if (autoRemoveInterval > MAX_TIMER_MS)
    fail(`autoRemoveInterval must be at most ${MAX_TIMER_MS} ms (about 24 days), got: ${autoRemoveInterval}`);
  if (touchAfter > 0 && !rolling) fail('touchAfter only has an effect with rolling: true; set rolling or drop touchAfter');
  const encryption = resolveEncryption(options.encryption);
  const devices = resolveDevices(options);
  const userTop = devices.userKey?.split('.')[0];
  if (encryption && userTop !== undefined && (!encryption.fields || encryption.fields.has(userTop))) {
    // The database cannot match an encrypted value: the index and maxSessionsPerUser would find nothing.
    fail(
      `userKey ${JSON.stringify(devices.userKey)} is encrypted (${encryption.fields ? 'listed in encryption.fields' : 'encryption without fields encrypts every key'}), ` +
        "so the database cannot find a user's sessions by it; list the other keys in encryption.fields and leave it out",
    );
  }

  return {
    connection: {
      dbName,
      collectionName,
      client,
      autoRemove: options.autoRemove,
      autoRemoveInterval,
      upgradeLegacySessions: options.upgradeLegacySessions,
      requestTimeout: 'client' in client ? undefined : options.operationTimeout,
      endingWriteConcern: options.writeConcern,
    },
    policy: {
      expires: options.expires,
      rolling,
      touchAfter,
      absoluteTimeout: options.absoluteTimeout,
      maxDataBytes: options.maxDataBytes,
      hideId: options.hideId,
    },
    codec: encryption ? encryptingCodec(encryption, options.warn) : PLAIN_CODEC,
    devices,
    now: options.now,
    warn: options.warn,
  };
}

function resolveDevices(options: ReadConnectOptions): DeviceSettings {
  const { userKey, maxSessionsPerUser } = options;
  if (userKey !== undefined) {
    if (typeof userKey !== 'string') fail(`userKey must be a data key such as 'userId', got: ${describe(userKey)}`);
    try {
      checkKey(userKey, 'set');
    } catch (err) {
      fail(`userKey is not a usable data key: ${(err as Error).message.replace(/^mongosess: /, '')}`);
    }
  }
  if (maxSessionsPerUser > 0 && userKey === undefined) {
    fail("maxSessionsPerUser needs userKey, the data key that names a session's user (for example userKey: 'userId')");
  }
  const { regenerateGrace, onReplay } = options;
  if (regenerateGrace > MAX_REGENERATE_GRACE_MS) {
    fail(
      `regenerateGrace must be at most ${MAX_REGENERATE_GRACE_MS} ms: through the window the old id opens the new session; got: ${regenerateGrace}`,
    );
  }
  if (onReplay === 'endAll' && userKey === undefined) {
    fail("onReplay: 'endAll' needs userKey, the data key that names a session's user (for example userKey: 'userId')");
  }
  if (onReplay === 'endAll' && regenerateGrace === 0) {
    fail("onReplay: 'endAll' needs regenerateGrace (for example 10000): without a grace window no replay is detected");
  }
  return { recordClient: options.recordClient, userKey, maxSessionsPerUser, regenerateGrace, onReplay };
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`${name} must be a non-negative integer (0 for no limit), got: ${describe(value)}`);
  }
  return value;
}

type ReadConnectOptions = ReturnType<typeof readOptions<typeof CONNECT_OPTIONS>>;

function resolveClient(options: ReadConnectOptions): ConnectionSettings['client'] {
  const { operationTimeout } = options;
  if (options.client !== undefined) {
    if (!isMongoClient(options.client)) {
      fail(
        `client must be a MongoClient (from mongodb 6.x or 7.x, or Mongoose's connection.getClient()), got: ${describe(options.client)}`,
      );
    }
    if (options.clientOptions !== undefined || options.auth !== undefined) {
      fail('clientOptions and auth cannot be combined with client; configure the client you pass instead');
    }
    return { client: options.client };
  }

  const clientOptions: MongoClientOptions = {
    serverSelectionTimeoutMS: operationTimeout,
    connectTimeoutMS: operationTimeout,
    socketTimeoutMS: operationTimeout,
    waitQueueTimeoutMS: operationTimeout,
  };
  let uri = DEFAULT_URI;
  if (options.uri !== undefined) {
    uri = nonEmptyString('uri', options.uri, DEFAULT_URI);
    if (!/^mongodb(\+srv)?:\/\//.test(uri)) fail('uri must start with mongodb:// or mongodb+srv://');
  } else if (options.servers !== undefined) {
    const { uri: seedList, ...mapped } = legacyServers(options.servers);
    uri = seedList;
    Object.assign(clientOptions, mapped);
  }

  const auth = options.auth;
  if (auth !== undefined) {
    const { user, pass } = checkObject('auth', auth);
    if (typeof user !== 'string' || typeof pass !== 'string') fail('auth must be { user: string, pass: string }');
    clientOptions.auth = { username: user, password: pass };
  }
  Object.assign(clientOptions, checkObject('clientOptions', options.clientOptions));
  return { uri, clientOptions };
}

/** Turns 0.4's `servers` into a seed-list URI and the driver options that still exist. */
function legacyServers(value: unknown): MongoClientOptions & { uri: string } {
  if (!Array.isArray(value) || value.length === 0) {
    fail(`servers must be a non-empty array of { host, port }, got: ${describe(value)}`);
  }
  const hosts: string[] = [];
  const mapped: MongoClientOptions = {};
  for (const [index, entry] of value.entries()) {
    const server = checkObject(`servers[${index}]`, entry);
    const host = nonEmptyString(`servers[${index}].host`, server['host'], '');
    if (!/^[A-Za-z0-9.\-:[\]_]+$/.test(host)) fail(`servers[${index}].host is not a host name, got: ${describe(host)}`);
    const port = positiveInteger(`servers[${index}].port`, server['port'], DEFAULT_PORT);
    if (port > 65535) fail(`servers[${index}].port must be at most 65535, got: ${port}`);
    hosts.push(`${host}:${port}`);
    const opts = checkObject(`servers[${index}].opts`, server['opts']);
    if (opts['poolSize'] !== undefined) {
      mapped.maxPoolSize = positiveInteger(`servers[${index}].opts.poolSize`, opts['poolSize'], 1);
    }
    const replicaSet = opts['rs_name'] ?? opts['replicaSet'];
    if (typeof replicaSet === 'string' && replicaSet.length > 0) mapped.replicaSet = replicaSet;
  }
  return { ...mapped, uri: `mongodb://${hosts.join(',')}/` };
}

/** The database a connection string names, if any. */
export function databaseInUri(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}
