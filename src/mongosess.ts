import type { IncomingMessage, ServerResponse } from 'node:http';
import { CompatPromise, deliver, splitCallback, type Callback } from './callback.js';
import { FOURTEEN_DAYS_MS, type ConnectOptions } from './connect-options.js';
import { ConnectionManager } from './connection.js';
import {
  MongoSessConfigError,
  MongoSessDatabaseError,
  MongoSessEndedError,
  MongoSessError,
  MongoSessNotConnectedError,
  MongoSessValidationError,
} from './errors.js';
import type { SessionSummary } from './session-collection.js';
import type { SessionOptions } from './session-options.js';
import { Session } from './session.js';
import { countSessions, endAll, listSessions } from './session-store.js';

/** The largest page `listSessions` returns unless told otherwise. */
const DEFAULT_LIST_LIMIT = 100;

/** The shared connection: the one piece of module state, fully reset by close(). */
const manager = new ConnectionManager();

/** `MongoSess`: the session constructor (callable with or without `new`) and the connection manager. */
export interface MongoSessStatic {
  new (req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session;
  (req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session;
  readonly prototype: Session;

  /** Opens the shared connection. Calls back once connected (or with the error); no callback: a promise. */
  connect(options: ConnectOptions | undefined, callback: Callback<void>): undefined;
  connect(options?: ConnectOptions): CompatPromise<void>;
  connect(callback: Callback<void>): undefined;
  /** Closes the shared connection; true if there was one. The callback runs once it is closed. */
  close(callback?: Callback<boolean>): boolean;
  /** The same function as `close`. */
  disconnect(callback?: Callback<boolean>): boolean;
  /** True between a finished `connect()` and `close()`. */
  isConnected(): boolean;
  /** Ends every live session whose data matches `filter` (e.g. `{ userId: 42 }`); resolves how many. */
  endAll(filter: Record<string, unknown>, callback: Callback<number>): undefined;
  endAll(filter: Record<string, unknown>): CompatPromise<number>;
  /** Counts the live sessions whose data matches `filter`. */
  countSessions(filter: Record<string, unknown>, callback: Callback<number>): undefined;
  countSessions(filter: Record<string, unknown>): CompatPromise<number>;
  /** Lists live sessions whose data matches `filter`, soonest expiry first, at most `limit` (default 100). */
  listSessions(filter: Record<string, unknown>, callback: Callback<SessionSummary[]>): undefined;
  listSessions(filter: Record<string, unknown>, options?: { limit?: number }): CompatPromise<SessionSummary[]>;
  listSessions(filter: Record<string, unknown>, options: { limit?: number }, callback: Callback<SessionSummary[]>): undefined;

  MongoSessError: typeof MongoSessError;
  MongoSessConfigError: typeof MongoSessConfigError;
  MongoSessNotConnectedError: typeof MongoSessNotConnectedError;
  MongoSessValidationError: typeof MongoSessValidationError;
  MongoSessEndedError: typeof MongoSessEndedError;
  MongoSessDatabaseError: typeof MongoSessDatabaseError;
  Session: typeof Session;
  CompatPromise: typeof CompatPromise;
  FOURTEEN_DAYS_MS: number;
}

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

function close(callback?: Callback<boolean>): boolean {
  const closing = manager.close();
  if (closing === false) {
    if (typeof callback === 'function') process.nextTick(callback, null, false);
    return false;
  }
  deliver(() => closing.then(() => true), callback)?.catch((err: unknown) => {
    process.emitWarning(`mongosess: closing the MongoDB client failed: ${(err as Error).message}`, 'MongoSessWarning');
  });
  return true;
}

function list(...args: unknown[]): CompatPromise<SessionSummary[]> | undefined {
  const [[filter, options], cb] = splitCallback(args);
  return deliver(() => {
    const limit = typeof options === 'object' && options !== null ? (options as { limit?: unknown }).limit : undefined;
    if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0)) {
      throw new MongoSessValidationError(`mongosess: listSessions limit must be a positive integer, got: ${String(limit)}`);
    }
    return listSessions(manager.store(), filter, limit ?? DEFAULT_LIST_LIMIT);
  }, cb);
}

const statics = {
  connect: (...args: unknown[]) => {
    const [[options], callback] = splitCallback(args);
    return deliver(() => manager.connect(options), callback);
  },
  close,
  disconnect: close,
  isConnected: () => manager.connected,
  endAll: (...args: unknown[]) => {
    const [[filter], callback] = splitCallback(args);
    return deliver(() => endAll(manager.store(), filter), callback);
  },
  countSessions: (...args: unknown[]) => {
    const [[filter], callback] = splitCallback(args);
    return deliver(() => countSessions(manager.store(), filter), callback);
  },
  listSessions: list,
  MongoSessError,
  MongoSessConfigError,
  MongoSessNotConnectedError,
  MongoSessValidationError,
  MongoSessEndedError,
  MongoSessDatabaseError,
  Session,
  CompatPromise,
  FOURTEEN_DAYS_MS,
};

// A plain function, so that it works with and without `new` (returning an object from a
// constructor makes `new` yield that object); its prototype makes `instanceof MongoSess` true.
export const MongoSess = Object.assign(createSession, statics) as unknown as MongoSessStatic;
Object.defineProperty(MongoSess, 'prototype', { value: Session.prototype });
