import { MongoClient, type MongoClientOptions } from 'mongodb';
import { CONNECT_OPTIONS, defaultWarn, resolveConnectOptions, type StoreConfig } from '../config/connect-options.js';
import { databaseError, MongoSessConfigError, MongoSessError, MongoSessNotConnectedError, warning, type Warn } from '../edge/errors.js';
import { probeSizeGuard } from '../data/size.js';
import { clientBson, driverVersion, unsupportedDriver } from '../storage/driver-objects.js';
import { OWN_BSON } from '../data/bson-value.js';
import { prepareExpiry } from '../storage/expiry-index.js';
import { LegacySessions, replaceLegacyTtlIndex, type LegacyDocument } from '../legacy/legacy.js';
import { changedConnectOptions } from '../config/option-changes.js';
import { primaryCollection, SessionCollection } from '../storage/collection.js';
import type { SessionStore } from '../storage/session-store.js';
import { startSweeper } from '../storage/sweeper.js';
import { createDeviceIndexes } from '../devices/indexes.js';
import type { SessionEvents } from '../edge/events.js';
import { DATA_FIELD, type SessionDocument } from '../storage/document.js';

/** What a connection was made from: the options as given, where its warnings go, and where it keeps sessions. */
interface Origin {
  options: unknown;
  warn: Warn;
  dbName: string;
  collectionName: string;
}

interface Connected {
  origin: Origin;
  store: SessionStore;
  client: MongoClient;
  ownsClient: boolean;
  stopSweeper: (() => Promise<void>) | undefined;
}

interface Connecting {
  kind: 'connecting';
  promise: Promise<void>;
  /** Set once the options are resolved (synchronously, before connect() returns). */
  origin: Origin | undefined;
  /** close() was called meanwhile: shut the connection as soon as it is made. */
  closed: boolean;
}

type State = { kind: 'idle' } | Connecting | { kind: 'connected'; connection: Connected };

const NOT_CONNECTED = 'You must be connected to MongoDB to use MongoSess';

/** The options whose change moves sessions elsewhere: connect() again with other ones is an error. */
const PLACE_OPTIONS = new Set(['db', 'collection', 'uri']);

/**
 * The connection manager of one store (MongoSess's default store, or a MongoSessStore): its
 * client, its sessions collection, and its sweep timer. `close()` resets it completely, so
 * `connect()` works again (also between tests).
 */
export class ConnectionManager {
  #state: State = { kind: 'idle' };
  /** How to connect, for the not-connected error: `MongoSess.connect(options, callback)` or a store's `connect()`. */
  readonly #howToConnect: string;
  readonly #events: SessionEvents;
  /** The `warn` of the latest connect(), kept after it failed: its unhandled error still goes there. */
  #lastWarn: Warn | undefined;

  /** `events` outlives connections: listeners added before connect() hear every connection's sessions. */
  constructor(howToConnect: string, events: SessionEvents) {
    this.#howToConnect = howToConnect;
    this.#events = events;
  }

  /**
   * Connects (once); later calls while connecting or connected share the same outcome. A later
   * call whose options differ is not applied: one for another database or collection is refused
   * (that takes a MongoSessStore), and for other options the live connection's `warn` says which differ.
   */
  connect(options: unknown): Promise<void> {
    const state = this.#state;
    if (state.kind !== 'idle') {
      const origin = state.kind === 'connected' ? state.connection.origin : state.origin;
      // connect() without options (connect(callback)) asks for the live connection, whatever it is.
      if (origin && options !== undefined) checkOptionsChange(origin, options);
      return state.kind === 'connected' ? Promise.resolve() : state.promise;
    }
    const attempt: Connecting = { kind: 'connecting', promise: Promise.resolve(), origin: undefined, closed: false };
    this.#state = attempt;
    attempt.promise = this.#establish(attempt, options);
    return attempt.promise;
  }

  async #establish(attempt: Connecting, options: unknown): Promise<void> {
    try {
      const config = resolveConnectOptions(options);
      this.#lastWarn = config.warn;
      const { dbName, collectionName } = config.connection;
      attempt.origin = { options, warn: config.warn, dbName, collectionName };
      this.#events.reportTo(config.warn);
      const connection = await open(config, attempt.origin, this.#events, this);
      if (attempt.closed) {
        await shut(connection);
        throw new MongoSessError('close() was called before connect() finished; call connect() again');
      }
      this.#state = { kind: 'connected', connection };
    } catch (err) {
      if (this.#state === attempt) this.#state = { kind: 'idle' };
      throw err;
    }
  }

  /**
   * Closes the shared client and resets. Returns false if there was no connection (nor one
   * being made), else a promise that settles once everything is closed.
   */
  close(): Promise<void> | false {
    const state = this.#state;
    this.#state = { kind: 'idle' };
    if (state.kind === 'idle') return false;
    if (state.kind === 'connecting') {
      state.closed = true;
      return state.promise.then(
        () => undefined,
        () => undefined,
      );
    }
    return shut(state.connection);
  }

  get connected(): boolean {
    return this.#state.kind === 'connected';
  }

  /**
   * Where warnings go now: the connection's (or the one being made) `warn`, else the latest
   * connect()'s (a failed one's too), else connect's default.
   */
  warn(): Warn {
    const state = this.#state;
    const origin = state.kind === 'connected' ? state.connection.origin : state.kind === 'connecting' ? state.origin : undefined;
    return origin?.warn ?? this.#lastWarn ?? CONNECT_OPTIONS.warn.default;
  }

  /** What sessions work with; throws the old package's error before `connect()` finished. */
  store(): SessionStore {
    if (this.#state.kind !== 'connected') {
      throw new MongoSessNotConnectedError(`${NOT_CONNECTED}. ${this.#howToConnect}`);
    }
    return this.#state.connection.store;
  }
}

/** `owner`: the manager (the store) the connection is for, to warn once per store about its server. */
async function open(config: StoreConfig, origin: Origin, events: SessionEvents, owner: object): Promise<Connected> {
  const { connection: settings, policy, codec, devices, now, warn } = config;
  const ownsClient = !('client' in settings.client);
  const client = 'client' in settings.client ? settings.client.client : createClient(settings.client);
  try {
    let bson = OWN_BSON;
    if (!ownsClient) {
      const version = await driverVersion(client);
      const unsupported = unsupportedDriver(version);
      if (unsupported) throw new MongoSessConfigError(unsupported);
      bson = clientBson(client, version);
    }
    codec.checkClient(bson);
    await client.connect().catch((err: unknown) => Promise.reject(databaseError('connecting to MongoDB', err)));
    warnIfWritesAreNotRetried(client, warn);
    const db = client.db(settings.dbName);
    const collection = primaryCollection<SessionDocument>(db, settings.collectionName);
    // The same collection, seen as the 0.4 documents it may also hold. Every write of 0.4
    // documents ends a session (removal, endAll, the claim that moves one to a new id), or
    // replaces 0.4's TTL index at connect: all of them use the ending write concern.
    const legacyCollection = primaryCollection<LegacyDocument>(db, settings.collectionName, settings.endingWriteConcern);
    const removal = await prepareExpiry(collection, settings, warn, async (indexes) => {
      if (settings.upgradeLegacySessions) await replaceLegacyTtlIndex(legacyCollection, indexes, new Date(now() - policy.expires), warn);
    });
    await createDeviceIndexes(collection, devices.userKey, warn);
    await warnIfUpdatesAreNotAtomic(client, warn, owner);
    const sizeGuard = await probeSizeGuard(collection, DATA_FIELD);
    if (!sizeGuard) {
      warn(
        warning(
          'this server cannot evaluate $bsonSize in a query (MongoDB 4.4+ can), so maxDataBytes bounds each ' +
            'set() payload but not the stored session, which repeated set() calls can grow to the 16 MB document limit.',
        ),
      );
    }
    const sessions = new SessionCollection(collection, settings.endingWriteConcern);
    const legacy = settings.upgradeLegacySessions ? new LegacySessions(legacyCollection, policy, bson) : undefined;
    const store: SessionStore = {
      sessions,
      legacy,
      policy,
      codec,
      bson,
      now,
      sizeGuard,
      requestTimeout: settings.requestTimeout,
      devices,
      events,
      warn,
    };
    const sweep = () =>
      sessions.sweep(new Date(now())).catch((err: unknown) => {
        events.emit('error', { error: err as Error, during: 'removing expired sessions' });
        throw err;
      });
    const stopSweeper = removal === 'interval' ? startSweeper(sweep, settings.autoRemoveInterval, warn) : undefined;
    return { origin, store, client, ownsClient, stopSweeper };
  } catch (err) {
    if (ownsClient) await client.close().catch(() => undefined);
    throw err;
  }
}

/** The driver checks the URI and options when the client is made: report that as a config error. */
function createClient({ uri, clientOptions }: { uri: string; clientOptions: MongoClientOptions }): MongoClient {
  try {
    return new MongoClient(uri, clientOptions);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new MongoSessConfigError(`the driver refused uri or clientOptions: ${detail}`, { cause: err });
  }
}

async function shut(connection: Connected): Promise<void> {
  await connection.stopSweeper?.();
  if (connection.ownsClient) await connection.client.close();
}

/**
 * A `connect()` while connected or connecting does not apply its options. Sessions meant for
 * another database or collection would silently land in this one: refuse that, and say to use a
 * store. Warn about other differences, naming the options (never their values).
 */
function checkOptionsChange(origin: Origin, options: unknown): void {
  const changed = changedConnectOptions(origin.options, options);
  if (changed.length === 0) return;
  if (changed.some((name) => PLACE_OPTIONS.has(name))) {
    // Throws the usual configuration error when these options are invalid.
    const { dbName, collectionName } = resolveConnectOptions(options).connection;
    if (dbName !== origin.dbName || collectionName !== origin.collectionName) {
      throw new MongoSessConfigError(
        `connect() was called again while connected (or connecting) to ${origin.dbName}.${origin.collectionName}, ` +
          `now for ${dbName}.${collectionName}; MongoSess keeps one store. For sessions in another database or ` +
          'collection (an admin app, a second lifetime), create a store: `const admin = new MongoSessStore({ db, ' +
          'collection, ... }); await admin.connect();` and use `admin.session(req, res)`. Or call MongoSess.close() first.',
      );
    }
  }
  origin.warn(
    warning(
      `connect() was called again while connected (or connecting) with different ${changed.join(', ')}; ` +
        'the new options are ignored. Call MongoSess.close() first to connect with other options.',
    ),
  );
}

/**
 * Retryable writes (on by default) let a write that met a failover or a network error be
 * retried once on the new primary; without them an election fails the request.
 */
function warnIfWritesAreNotRetried(client: MongoClient, warn: Warn): void {
  if (client.options.retryWrites !== false) return;
  warn(
    warning(
      'retryWrites is off for this client, so a write (a logout included) that meets a replica set ' +
        'election or a dropped connection fails instead of being retried once; remove retryWrites: false.',
    ),
  );
}

/**
 * Who was already warned that their server is not atomic per document: each store (MongoSess's
 * default store, so once per process for it, and each MongoSessStore with its own `warn`), and
 * the default `warn` once for all the stores that use it, so process warnings do not repeat it.
 */
const warnedNotAtomic = new WeakSet<object>();

/**
 * FerretDB 1.x applies updates as read-modify-write without a lock, so two concurrent updates
 * of one document can lose one of them (seen with its SQLite backend), and a write that read a
 * live session can land after an end() and overwrite its tombstone. Per-key atomic updates
 * need MongoDB; say so rather than pretend, once per store (not at every connect()).
 */
async function warnIfUpdatesAreNotAtomic(client: MongoClient, warn: Warn, owner: object): Promise<void> {
  const heard = warn === defaultWarn ? defaultWarn : owner;
  if (warnedNotAtomic.has(heard)) return;
  // Detection only: a server that refuses buildInfo is not FerretDB 1.x, so there is nothing to say.
  const info = await client
    .db('admin')
    .command({ buildInfo: 1 })
    .catch(() => undefined);
  const ferret = typeof info?.['ferretdbVersion'] === 'string' ? info['ferretdbVersion'] : undefined;
  if (ferret && /^v?1\./.test(ferret) && !warnedNotAtomic.has(heard)) {
    warnedNotAtomic.add(heard);
    warn(
      warning(
        `the server is FerretDB ${ferret}, which does not apply concurrent updates of one document ` +
          'atomically: concurrent writes to one session can be lost, and an ended (or regenerated) session can be ' +
          'revived by a late write from a request that read it before. Use MongoDB where that matters.',
      ),
    );
  }
}
