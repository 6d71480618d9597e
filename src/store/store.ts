import type { IncomingMessage, ServerResponse } from 'node:http';
import { deliver, splitCallback, type Callback, type CompatPromise } from '../edge/callback.js';
import { resolveConnectOptions, type ConnectOptions } from '../config/connect-options.js';
import { ConnectionManager } from './connection.js';
import { fetchExchange, nodeExchange, upgradeExchange, type CookieExchange } from '../http/cookie-exchange.js';
import { endSession as endSessionIn } from '../devices/devices.js';
import { MongoSessConfigError, MongoSessValidationError, reportUnhandled, type MongoSessError } from '../edge/errors.js';
import { SessionEvents, type SessionEventName, type SessionListener } from '../edge/events.js';
import type { SessionSummary } from '../storage/collection.js';
import type { SessionHandle } from '../session/handle.js';
import { resolveSessionOptions, type SessionOptions } from '../config/session-options.js';
import { Session } from '../session/session.js';
import { countSessions as countIn, endAll as endAllIn, listSessions as listIn } from '../storage/session-store.js';

/** The largest page `listSessions` returns unless told otherwise. */
const DEFAULT_LIST_LIMIT = 100;

/** A request's session from one store, and the options it was made with (for its cookie names). */
interface Entry {
  readonly store: MongoSessStore;
  readonly session: Session;
  readonly options: SessionOptions | undefined;
}

/**
 * The sessions of each request in flight: one per store. Asking one store twice for one request
 * (a middleware and a route, a helper) gives the same session, instead of a second id that would
 * silently lose the first one's data; two stores give two independent sessions. Usually one store
 * serves a request, so its entry is kept as is; an array once there are more.
 */
const perRequest = new WeakMap<object, Entry | Entry[]>();

/**
 * A request's session as the bulk operations take it: a `Session` (`new MongoSess(req, res)`,
 * `store.session(req, res)`), or `req.session` of `mongosess/express-session` (which has `id` and
 * `cookie`, as express-session's has). Anything else is refused with a MongoSessValidationError.
 */
export type SessionOfRequest =
  | Session
  | {
      /** The session id (express-session's `req.session.id`). */
      readonly id: string;
      /** Its cookie view (express-session's `req.session.cookie`). */
      readonly cookie: object;
    };

/** Options of `endAll`. */
export interface EndAllOptions {
  /** A session to leave live: the caller's own, for "log out everywhere else". */
  except?: SessionOfRequest;
}

/** Options of `listSessions`. */
export interface ListSessionsOptions {
  /** The most sessions listed. @default 100 */
  limit?: number;
  /** The caller's own session: listed with `current: true`. */
  current?: SessionOfRequest;
}

/** Hands store/mongosess.ts its default store (see the static block below). */
let bindDefaultStore: ((howToConnect: string) => { store: MongoSessStore; manager: ConnectionManager }) | undefined;

/**
 * MongoSess's own store and its connection manager, which MongoSess.connect() connects with the
 * options of each call. @internal
 */
export function defaultStore(howToConnect: string): { store: MongoSessStore; manager: ConnectionManager } {
  if (!bindDefaultStore) throw new Error('mongosess: MongoSessStore is not initialized');
  return bindDefaultStore(howToConnect);
}

/**
 * A session store: its own client (or URI), database, collection, lifetime options, `warn` and
 * sweeper, and the sessions of the requests it serves. `MongoSess` works on one default store;
 * create a MongoSessStore for each further one, for example an admin app's sessions in another
 * collection with a shorter lifetime:
 *
 * ```ts
 * const admin = new MongoSessStore({ client, collection: 'admin_sessions', expires: 15 * 60_000 });
 * await admin.connect();
 * const session = admin.session(req, res, { cookieName: 'admin' });
 * ```
 */
export class MongoSessStore {
  readonly #options: ConnectOptions | undefined;
  /**
   * This store's events. They outlive connections, so listeners added at startup (before
   * connect()) hear everything; close() keeps them.
   */
  readonly #events = new SessionEvents();
  #manager: ConnectionManager;
  /** How the unhandled-rejection guard names this store's operations in warnings. */
  #label = 'store';

  static {
    bindDefaultStore = (howToConnect) => {
      const store = new MongoSessStore();
      store.#manager = new ConnectionManager(howToConnect, store.#events);
      store.#label = 'MongoSess';
      return { store, manager: store.#manager };
    };
  }

  /**
   * Takes the options of `MongoSess.connect()`, checked at once: bad options throw a
   * MongoSessConfigError here. Nothing is connected before `connect()`.
   */
  constructor(options?: ConnectOptions) {
    resolveConnectOptions(options);
    // A copy, so that the options checked here are the ones connect() uses.
    this.#options = options === undefined ? undefined : { ...options };
    this.#manager = new ConnectionManager(
      'Call connect() on this MongoSessStore and create its sessions after it resolves (or calls back).',
      this.#events,
    );
  }

  /** Where an operation's error goes when nobody handles its promise: this store's `warn`. */
  #unhandled(operation: string): (err: MongoSessError) => void {
    return (err) => reportUnhandled(this.#manager.warn(), `${this.#label}.${operation}()`, err);
  }

  /** Connects this store. Calls back once connected (or with the error); no callback: a promise. Connecting again shares the outcome. */
  connect(): CompatPromise<void>;
  connect(callback: Callback<void>): undefined;
  connect(...args: unknown[]): CompatPromise<void> | undefined {
    const [rest, callback] = splitCallback(args);
    return deliver(
      () => {
        if (rest.length > 0) {
          throw new MongoSessConfigError(
            'a MongoSessStore takes its options in its constructor: new MongoSessStore(options), then connect()',
          );
        }
        return this.#manager.connect(this.#options);
      },
      callback,
      this.#unhandled('connect'),
    );
  }

  /**
   * Closes this store (other stores, and MongoSess, stay connected): resolves true once closed,
   * false if it was not connected (nor connecting). A client you passed is not closed.
   */
  close(): CompatPromise<boolean>;
  close(callback: Callback<boolean>): undefined;
  close(callback?: Callback<boolean>): CompatPromise<boolean> | undefined {
    return deliver(
      async () => {
        const closing = this.#manager.close();
        if (closing === false) return false;
        await closing;
        return true;
      },
      callback,
      this.#unhandled('close'),
    );
  }

  /** True between a finished `connect()` and `close()`. */
  isConnected(): boolean {
    return this.#manager.connected;
  }

  /**
   * The request's session in this store: the same Session each time for one request. Throws a
   * MongoSessNotConnectedError before `connect()` finished, and a MongoSessConfigError for bad
   * options, or when another store already gave this request a session under the same cookie name.
   */
  session(req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session {
    return this.#open(
      req,
      () => {
        if (typeof req !== 'object' || req === null || typeof req.headers !== 'object') {
          throw new MongoSessConfigError('the first argument must be the http request (IncomingMessage)');
        }
        if (typeof res !== 'object' || res === null || typeof res.setHeader !== 'function') {
          throw new MongoSessConfigError('the second argument must be the http response (ServerResponse)');
        }
        return nodeExchange(req, res);
      },
      options,
    );
  }

  /**
   * The session of a Fetch `Request` (Hono, Next.js route handlers, any `Request` to `Response`
   * handler): the same Session each time for one Request. Its cookie goes into the Response you
   * build: `withSession(session, response)` from `mongosess/fetch`, or `session.responseHeaders()`.
   * A Request carries no client address: with connect's `recordClient`, pass it as `ip` (Hono's
   * `getConnInfo(c).remote.address`, your platform's header); the user agent is read from the headers.
   */
  fetchSession(request: Request, options?: SessionOptions, client?: { ip?: string | undefined }): Session {
    return this.#open(
      request,
      () => {
        if (typeof request !== 'object' || request === null || !(request.headers instanceof Headers) || typeof request.url !== 'string') {
          throw new MongoSessConfigError('fetchSession() takes a Fetch Request (with its url and Headers)');
        }
        return fetchExchange(request, client?.ip);
      },
      options,
    );
  }

  /**
   * The read-only session of an HTTP upgrade request (a WebSocket handshake: node's 'upgrade'
   * event, `ws`'s 'connection' request), which has no response to carry a cookie: `get()` works;
   * every write is refused with a MongoSessReadOnlyError. Rolling sessions are not extended by it.
   */
  upgradeSession(req: IncomingMessage, options?: SessionOptions): Session {
    return this.#open(
      req,
      () => {
        if (typeof req !== 'object' || req === null || typeof req.headers !== 'object') {
          throw new MongoSessConfigError('upgradeSession() takes the upgrade request (IncomingMessage)');
        }
        return upgradeExchange(req);
      },
      options,
    );
  }

  /**
   * The request's session in this store: one per request object (see perRequest). `exchange`
   * checks the request once the store is known to be connected (that error comes first).
   */
  #open(request: object, exchange: () => CookieExchange, options: SessionOptions | undefined): Session {
    const sessionStore = this.#manager.store();
    // A JavaScript caller's non-object is found in no WeakMap, and exchange() refuses it.
    const found = perRequest.get(request);
    if (found === undefined) {
      const session = new Session(sessionStore, exchange(), options);
      perRequest.set(request, { store: this, session, options });
      return session;
    }
    const others = Array.isArray(found) ? found : [found];
    const mine = others.find((entry) => entry.store === this);
    if (mine) return mine.session;
    for (const other of others) refuseSharedCookie(other.options, options);
    const session = new Session(sessionStore, exchange(), options);
    perRequest.set(request, [...others, { store: this, session, options }]);
    return session;
  }

  /**
   * Ends every live session whose data matches `filter` (e.g. `{ userId: 42 }`), except
   * `options.except` (the caller's own session: "log out everywhere else"); resolves how many.
   */
  endAll(filter: Record<string, unknown>, callback: Callback<number>): undefined;
  endAll(filter: Record<string, unknown>, options?: EndAllOptions): CompatPromise<number>;
  endAll(filter: Record<string, unknown>, options: EndAllOptions, callback: Callback<number>): undefined;
  endAll(...args: unknown[]): CompatPromise<number> | undefined {
    const [[filter, options], callback] = splitCallback(args);
    return deliver(
      () => endAllIn(this.#manager.store(), filter, readOptions('endAll', options, ['except']).except),
      callback,
      this.#unhandled('endAll'),
    );
  }

  /**
   * Ends the live session named by `handle` (from `listSessions`), if it also matches `filter`
   * (pass the user's own, e.g. `{ userId }`, so that a handle from another account ends nothing).
   * Resolves whether a session was ended.
   */
  endSession(handle: SessionHandle, callback: Callback<boolean>): undefined;
  endSession(handle: SessionHandle, filter?: Record<string, unknown>): CompatPromise<boolean>;
  endSession(handle: SessionHandle, filter: Record<string, unknown>, callback: Callback<boolean>): undefined;
  endSession(...args: unknown[]): CompatPromise<boolean> | undefined {
    const [[handle, filter], callback] = splitCallback(args);
    return deliver(() => endSessionIn(this.#manager.store(), handle, filter ?? {}), callback, this.#unhandled('endSession'));
  }

  /** Counts the live sessions whose data matches `filter`. */
  countSessions(filter: Record<string, unknown>, callback: Callback<number>): undefined;
  countSessions(filter: Record<string, unknown>): CompatPromise<number>;
  countSessions(...args: unknown[]): CompatPromise<number> | undefined {
    const [[filter], callback] = splitCallback(args);
    return deliver(() => countIn(this.#manager.store(), filter), callback, this.#unhandled('countSessions'));
  }

  /**
   * Lists live sessions whose data matches `filter`, soonest expiry first, at most `limit`
   * (default 100): each with its handle, dates and (with `recordClient`) client; `current`
   * marks the caller's own.
   */
  listSessions(filter: Record<string, unknown>, callback: Callback<SessionSummary[]>): undefined;
  listSessions(filter: Record<string, unknown>, options?: ListSessionsOptions): CompatPromise<SessionSummary[]>;
  listSessions(filter: Record<string, unknown>, options: ListSessionsOptions, callback: Callback<SessionSummary[]>): undefined;
  listSessions(...args: unknown[]): CompatPromise<SessionSummary[]> | undefined {
    const [[filter, options], cb] = splitCallback(args);
    return deliver(
      () => {
        const { limit, current } = readOptions('listSessions', options, ['limit', 'current']);
        if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0)) {
          throw new MongoSessValidationError(`listSessions limit must be a positive integer, got: ${String(limit)}`);
        }
        return listIn(this.#manager.store(), filter, limit ?? DEFAULT_LIST_LIMIT, current);
      },
      cb,
      this.#unhandled('listSessions'),
    );
  }

  /** Listens to this store's session events: `created`, `ended`, `regenerated`, `refused`, `replay`, `error`. */
  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Listens to the next `event` only. */
  once<E extends SessionEventName>(event: E, listener: SessionListener<E>): this {
    this.#events.once(event, listener);
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<E extends SessionEventName>(event: E, listener: SessionListener<E>): this {
    this.#events.off(event, listener);
    return this;
  }
}

/** The options object of a bulk operation: undefined or a plain object of known keys. */
function readOptions<K extends string>(fn: string, options: unknown, known: readonly K[]): Partial<Record<K, unknown>> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new MongoSessValidationError(`${fn}() options must be an object, got: ${options === null ? 'null' : typeof options}`);
  }
  const unknownKeys = Object.keys(options).filter((key) => !(known as readonly string[]).includes(key));
  if (unknownKeys.length > 0)
    throw new MongoSessValidationError(`${fn}() has no option ${unknownKeys.join(', ')}; it takes ${known.join(', ')}`);
  return options as Partial<Record<K, unknown>>;
}

/**
 * Two stores' sessions on one request need cookies of their own: under one name, each would read
 * the other's id (and adopt it in its own collection) and overwrite the other's Set-Cookie.
 */
function refuseSharedCookie(a: SessionOptions | undefined, b: SessionOptions | undefined): void {
  const first = resolveSessionOptions(a);
  const second = resolveSessionOptions(b);
  if (first.header !== undefined && first.header === second.header) {
    throw new MongoSessConfigError(
      `two stores give this request a session under the header "${second.header}"; give each store's sessions a header of their own`,
    );
  }
  const names = new Set([first.name, first.sigName]);
  if (!names.has(second.name) && !names.has(second.sigName)) return;
  throw new MongoSessConfigError(
    `two stores give this request a session under the cookie name "${second.name}"; give each store's sessions ` +
      "a cookieName of their own, e.g. admin.session(req, res, { cookieName: 'admin' })",
  );
}
