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

/** The largest page `listSessions` returns unless told otherwise. */
const DEFAULT_LIST_LIMIT = 100;

/** The shared connection: the one piece of module state, fully reset by close(). */
const manager = new ConnectionManager();

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

function endAll(filter: Record<string, unknown>, callback: Callback<number>): undefined;
function endAll(filter: Record<string, unknown>): CompatPromise<number>;
function endAll(...args: unknown[]): CompatPromise<number> | undefined {
  const [[filter], callback] = splitCallback(args);
  return deliver(() => endAllIn(manager.store(), filter), callback, unhandled('MongoSess.endAll()'));
}

function countSessions(filter: Record<string, unknown>, callback: Callback<number>): undefined;
function countSessions(filter: Record<string, unknown>): CompatPromise<number>;
function countSessions(...args: unknown[]): CompatPromise<number> | undefined {
  const [[filter], callback] = splitCallback(args);
  return deliver(() => countIn(manager.store(), filter), callback, unhandled('MongoSess.countSessions()'));
}

function listSessions(filter: Record<string, unknown>, callback: Callback<SessionSummary[]>): undefined;
function listSessions(filter: Record<string, unknown>, options?: { limit?: number }): CompatPromise<SessionSummary[]>;
function listSessions(filter: Record<string, unknown>, options: { limit?: number }, callback: Callback<SessionSummary[]>): undefined;
function listSessions(...args: unknown[]): CompatPromise<SessionSummary[]> | undefined {
  const [[filter, options], cb] = splitCallback(args);
  return deliver(
    () => {
      const limit = typeof options === 'object' && options !== null ? (options as { limit?: unknown }).limit : undefined;
      if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0)) {
        throw new MongoSessValidationError(`listSessions limit must be a positive integer, got: ${String(limit)}`);
      }
      return listIn(manager.store(), filter, limit ?? DEFAULT_LIST_LIMIT);
    },
    cb,
    unhandled('MongoSess.listSessions()'),
  );
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
  /** Lists live sessions whose data matches `filter`, soonest expiry first, at most `limit` (default 100). */
  listSessions,
  ...api,
};

/**
 * `MongoSess`: the session constructor (callable with or without `new`), the connection manager,
 * and every value of the public API (so `require('mongosess').MongoSessError` works).
 */
export interface MongoSessStatic extends Statics {
  new (req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session;
  (req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session;
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
export const MongoSess = Object.assign(createSession, statics) as MongoSessStatic;
Object.defineProperties(MongoSess, {
  prototype: { value: Session.prototype },
  MongoSess: { value: MongoSess },
  default: { value: MongoSess },
});
