import type { IncomingMessage, ServerResponse } from 'node:http';
import * as api from '../api.js';
import { deliver, splitCallback, type Callback, type CompatPromise } from '../edge/callback.js';
import type { ConnectOptions } from '../config/connect-options.js';
import { reportUnhandled, warning, type MongoSessError } from '../edge/errors.js';
import type { SessionEventName, SessionListener } from '../edge/events.js';
import type { SessionOptions } from '../config/session-options.js';
import { Session } from '../session/session.js';
import { defaultStore } from './store.js';

/**
 * The default store (MongoSess's sessions per request, its events and its operations on many
 * sessions) and its connection: the one piece of module state, fully reset by close(). Unlike a
 * MongoSessStore's, its options come with each `MongoSess.connect(options)`, as in 0.4.
 */
const { store, manager } = defaultStore('Call MongoSess.connect(options, callback) and create sessions after it calls back.');

function createSession(req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session {
  return store.session(req, res, options);
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

const statics = {
  /**
   * Opens the default store's connection. Calls back once connected (or with the error); no
   * callback: a promise. Again while connected (or connecting): the same outcome, with a warning
   * naming options that differ; for another `db` or `collection` an error (use a MongoSessStore).
   */
  connect,
  /** Closes the shared connection; true if there was one. The callback runs once it is closed. */
  close,
  /** The same function as `close`. */
  disconnect: close,
  /** True between a finished `connect()` and `close()`. */
  isConnected: (): boolean => manager.connected,
  /** Ends every live session whose data matches `filter` (e.g. `{ userId: 42 }`), except `options.except`; resolves how many. */
  endAll: store.endAll.bind(store),
  /** Counts the live sessions whose data matches `filter`. */
  countSessions: store.countSessions.bind(store),
  /**
   * Lists live sessions whose data matches `filter`, soonest expiry first, at most `limit`
   * (default 100): each with its handle, dates and (with `recordClient`) client; `current`
   * marks the caller's own.
   */
  listSessions: store.listSessions.bind(store),
  /**
   * Ends the live session named by `handle` (from `listSessions`), if it also matches `filter`
   * (pass the user's own, e.g. `{ userId }`, so that a handle from another account ends nothing).
   * Resolves whether a session was ended.
   */
  endSession: store.endSession.bind(store),
  /** Listens to session events: `created`, `ended`, `regenerated`, `refused`, `replay`, `error`. */
  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): MongoSessStatic {
    store.on(event, listener);
    return MongoSess;
  },
  /** Listens to the next `event` only. */
  once<E extends SessionEventName>(event: E, listener: SessionListener<E>): MongoSessStatic {
    store.once(event, listener);
    return MongoSess;
  },
  /** Removes a listener added with `on` or `once`. */
  off<E extends SessionEventName>(event: E, listener: SessionListener<E>): MongoSessStatic {
    store.off(event, listener);
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
