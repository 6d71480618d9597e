import type { IncomingMessage, ServerResponse } from 'node:http';
import * as api from './api.js';
import { deliver, splitCallback, type Callback, type CompatPromise } from './callback.js';
import type { ConnectOptions } from './connect-options.js';
import { ConnectionManager } from './connection.js';
import { MongoSessValidationError, reportUnhandled, warning, type MongoSessError } from './errors.js';
import type { SessionSummary } from './session-collection.js';
import type { SessionOptions } from './session-options.js';
import { Session } from './session.js';
import { countSessions as countIn, endAll as endAllIn, listSessions as listIn } from './session-store.js';
import { endSession as endSessionIn } from './devices.js';
import { SessionEvents, type SessionEventName, type SessionListener } from './events.js';
import type { SessionHandle } from './session-handle.js';

/** The largest page `listSessions` returns unless told otherwise. */
const DEFAULT_LIST_LIMIT = 100;

/**
 * The events of the static API's store. They outlive connections, so listeners added at startup
 * (before connect()) hear everything; close() keeps them. With store objects, each store owns one:
 * this object, the ConnectionManager's argument and the `on`/`once`/`off` statics below are the
 * whole wiring of events to the static API.
 */
const events = new SessionEvents();

/** The shared connection: the one piece of module state, fully reset by close(). */
const manager = new ConnectionManager(events);

/**
 * The session of each request in flight. Constructing MongoSess twice for one request (a
 * middleware and a route, a helper) gives the same session, instead of a second id that
 * would silently lose the first one's data.
 */
const perRequest = new WeakMap<IncomingMessage, Session>();

function createSession(req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session {
  const store = manager.store();
  const existing = typeof req === 'object' && req !== null ? perRequest.get(req) : undefined;
  if (existing) return existing;
  const session = new Session(store, req, res, options);
  perRequest.set(req, session);
  return session;
}

/** Where a static helper's error goes when nobody handles its promise. */
function unhandled(operation: string): (err: MongoSessError) => void {
  return (err) => reportUnhandled(manager.warn(), operation, err);
}

function connect(options: ConnectOptions | undefined, callback: Callback<void>): undefined;
function connect(options?: ConnectOptions): CompatPromise<void>;
function connect(callback: Callback<void>): undefined;
function connect(...args: unknown[]): CompatPromise<void> | undefined {
  const [[options], callback] = splitCallback(args);
  return deliver(() => manager.connect(options), callback, unhandled('MongoSess.connect()'));
}

function close(callback?: Callback<boolean>): boolean {
  const closing = manager.close();
  if (closing === false) {
    if (typeof callback === 'function') process.nextTick(callback, null, false);
    return false;
  }
  // Nobody can handle this promise (close() returns a boolean): a failure is a warning.
  deliver(() => closing.then(() => true), callback, unhandled('MongoSess.close()'))?.catch((err: unknown) => {
    process.emitWarning(warning(`closing the MongoDB client failed: ${(err as Error).message}`), 'MongoSessWarning');
  });
  return true;
}

/** Options of `endAll`. */
export interface EndAllOptions {
  /** A session to leave live: the caller's own, for "log out everywhere else". */
  except?: Session;
}

function endAll(filter: Record<string, unknown>, callback: Callback<number>): undefined;
function endAll(filter: Record<string, unknown>, options?: EndAllOptions): CompatPromise<number>;
function endAll(filter: Record<string, unknown>, options: EndAllOptions, callback: Callback<number>): undefined;
function endAll(...args: unknown[]): CompatPromise<number> | undefined {
  const [[filter, options], callback] = splitCallback(args);
  return deliver(
    () => endAllIn(manager.store(), filter, readOptions('endAll', options, ['except']).except),
    callback,
    unhandled('MongoSess.endAll()'),
  );
}

function endSession(handle: SessionHandle, callback: Callback<boolean>): undefined;
function endSession(handle: SessionHandle, filter?: Record<string, unknown>): CompatPromise<boolean>;
function endSession(handle: SessionHandle, filter: Record<string, unknown>, callback: Callback<boolean>): undefined;
function endSession(...args: unknown[]): CompatPromise<boolean> | undefined {
  const [[handle, filter], callback] = splitCallback(args);
  return deliver(() => endSessionIn(manager.store(), handle, filter ?? {}), callback, unhandled('MongoSess.endSession()'));
}

function countSessions(filter: Record<string, unknown>, callback: Callback<number>): undefined;
function countSessions(filter: Record<string, unknown>): CompatPromise<number>;
function countSessions(...args: unknown[]): CompatPromise<number> | undefined {
  const [[filter], callback] = splitCallback(args);
  return deliver(() => countIn(manager.store(), filter), callback, unhandled('MongoSess.countSessions()'));
}

/** Options of `listSessions`. */
export interface ListSessionsOptions {
  /** The most sessions listed. @default 100 */
  limit?: number;
  /** The caller's own session: listed with `current: true`. */
  current?: Session;
}

function listSessions(filter: Record<string, unknown>, callback: Callback<SessionSummary[]>): undefined;
function listSessions(filter: Record<string, unknown>, options?: ListSessionsOptions): CompatPromise<SessionSummary[]>;
function listSessions(filter: Record<string, unknown>, options: ListSessionsOptions, callback: Callback<SessionSummary[]>): undefined;
function listSessions(...args: unknown[]): CompatPromise<SessionSummary[]> | undefined {
  const [[filter, options], cb] = splitCallback(args);
  return deliver(
    () => {
      const { limit, current } = readOptions('listSessions', options, ['limit', 'current']);
      if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0)) {
        throw new MongoSessValidationError(`listSessions limit must be a positive integer, got: ${String(limit)}`);
      }
      return listIn(manager.store(), filter, limit ?? DEFAULT_LIST_LIMIT, current);
    },
    cb,
    unhandled('MongoSess.listSessions()'),
  );
}

/** The options object of a static helper: undefined or a plain object of known keys. */
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

const statics = {
  /** Opens the shared connection. Calls back once connected (or with the error); no callback: a promise. */
  connect,
  /** Closes the shared connection; true if there was one. The callback runs once it is closed. */
  close,
  /** The same function as `close`. */
  disconnect: close,
  /** True between a finished `connect()` and `close()`. */
  isConnected: (): boolean => manager.connected,
  /** Ends every live session whose data matches `filter` (e.g. `{ userId: 42 }`); resolves how many. */
  endAll,
  /** Counts the live sessions whose data matches `filter`. */
  countSessions,
  /**
   * Lists live sessions whose data matches `filter`, soonest expiry first, at most `limit`
   * (default 100): each with its handle, dates and (with `recordClient`) client; `current`
   * marks the caller's own.
   */
  listSessions,
  /**
   * Ends the live session named by `handle` (from `listSessions`), if it also matches `filter`
   * (pass the user's own, e.g. `{ userId }`, so that a handle from another account ends nothing).
   * Resolves whether a session was ended.
   */
  endSession,
  /** Listens to session events: `created`, `ended`, `regenerated`, `refused`, `replay`, `error`. */
  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): MongoSessStatic {
    events.on(event, listener);
    return MongoSess;
  },
  /** Listens to the next `event` only. */
  once<E extends SessionEventName>(event: E, listener: SessionListener<E>): MongoSessStatic {
    events.once(event, listener);
    return MongoSess;
  },
  /** Removes a listener added with `on` or `once`. */
  off<E extends SessionEventName>(event: E, listener: SessionListener<E>): MongoSessStatic {
    events.off(event, listener);
    return MongoSess;
  },
  ...api,
};

/**
 * `MongoSess`: the session constructor (callable with or without `new`), the connection manager,
 * and every value of the public API (so `require('mongosess').MongoSessError` works).
 */
export interface MongoSessStatic extends Statics {
  /**
   * The session of the request `req`, whose cookie is written on `res`: the same object for every
   * call with the same `req`. Throws a MongoSessNotConnectedError before `MongoSess.connect()` has finished.
   */
  new (req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session;
  /** The same as with `new`. */
  (req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session;
  /** `Session.prototype`, so that `session instanceof MongoSess` is true. */
  readonly prototype: Session;
  /** MongoSess itself, for `const { MongoSess } = require('mongosess')`. */
  readonly MongoSess: MongoSessStatic;
  /** MongoSess itself, for CommonJS code compiled from `import MongoSess from 'mongosess'`. */
  readonly default: MongoSessStatic;
}
type Statics = typeof statics;

// A plain function, so that it works with and without `new` (returning an object from a
// constructor makes `new` yield that object); its prototype makes `instanceof MongoSess` true.
// The cast only adds the construct signature and the three properties defined right below.
/**
 * The session constructor (`new MongoSess(req, res, options)`, or without `new`) and the
 * connection manager (`MongoSess.connect()`, `close()`, the static helpers): see
 * {@link MongoSessStatic}. It is the default export, and `require('mongosess')` itself.
 */
export const MongoSess = Object.assign(createSession, statics) as MongoSessStatic;
Object.defineProperties(MongoSess, {
  prototype: { value: Session.prototype },
  MongoSess: { value: MongoSess },
  default: { value: MongoSess },
});
