import type { IncomingMessage, ServerResponse } from 'node:http';
import * as api from './api.js';
import { deliver, splitCallback, type Callback, type CompatPromise } from './callback.js';
import type { ConnectOptions } from './connect-options.js';
import { ConnectionManager } from './connection.js';
import { warning } from './errors.js';
import type { SessionOptions } from './session-options.js';
import { Session } from './session.js';
import { defaultStoreOn } from './store.js';

/**
 * The default store's connection: the one piece of module state, fully reset by close(). Unlike
 * a MongoSessStore's, its options come with each `MongoSess.connect(options)`, as in 0.4.
 */
const manager = new ConnectionManager('Call MongoSess.connect(options, callback) and create sessions after it calls back.');

/** The default store: MongoSess's sessions, per request, and its operations on many sessions. */
const store = defaultStoreOn(manager);

function createSession(req: IncomingMessage, res: ServerResponse, options?: SessionOptions): Session {
  return store.session(req, res, options);
}

function connect(options: ConnectOptions | undefined, callback: Callback<void>): undefined;
function connect(options?: ConnectOptions): CompatPromise<void>;
function connect(callback: Callback<void>): undefined;
function connect(...args: unknown[]): CompatPromise<void> | undefined {
  const [[options], callback] = splitCallback(args);
  return deliver(() => manager.connect(options), callback);
}

function close(callback?: Callback<boolean>): boolean {
  const closing = manager.close();
  if (closing === false) {
    if (typeof callback === 'function') process.nextTick(callback, null, false);
    return false;
  }
  deliver(() => closing.then(() => true), callback)?.catch((err: unknown) => {
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
  /** Ends every live session whose data matches `filter` (e.g. `{ userId: 42 }`); resolves how many. */
  endAll: store.endAll.bind(store),
  /** Counts the live sessions whose data matches `filter`. */
  countSessions: store.countSessions.bind(store),
  /** Lists live sessions whose data matches `filter`, soonest expiry first, at most `limit` (default 100). */
  listSessions: store.listSessions.bind(store),
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
