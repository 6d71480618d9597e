// `mongosess/express-session`: middleware that gives every request `req.session` in
// express-session's shape (synchronous properties, `regenerate`/`destroy`/`reload`/`save`/`touch`,
// `req.sessionID`, `cookie.maxAge`), so Passport, connect-flash and CSRF helpers run unchanged,
// stored by mongosess. The data is read once before the route; at the end of the response only
// the top-level keys that changed are written, in one atomic `$set`/`$unset`, before the response
// goes out. It imports the main entry by name, sharing its one MongoSess and connection.
import type { IncomingMessage, ServerResponse } from 'node:http';
import MongoSess, { type SessionData } from 'mongosess';
import { adoptOld } from './adapters/express-session-adopt.js';
import { resolveMiddlewareOptions, type ExpressSessionOptions, type MiddlewareConfig } from './adapters/express-session-options.js';
import type { Session } from './adapters/framework-types.js';

export type { AdoptCollection, AdoptOptions } from './adapters/express-session-adopt.js';
export type { ExpressSessionCookieOptions, ExpressSessionOptions, SameSite } from './adapters/express-session-options.js';

/** `(err) => void`: the callback of `regenerate`, `destroy`, `reload` and `save`. */
export type SessionCallback = (err?: unknown) => void;

/**
 * `req.session`'s type: the methods, the keys your `SessionData` declares (by declaration merging
 * into `'mongosess'`, one declaration for both APIs) with their types, and any other key as unknown.
 * Express's `req.session` and `req.sessionID` are typed so by this entry (see README).
 */
export type RequestSession = ExpressSession & Partial<SessionData> & Record<string, unknown>;

/** The request as this middleware leaves it. */
export type SessionRequest = IncomingMessage & {
  /** The request's session (null after `destroy()`). */
  session?: RequestSession | null;
  /** The session id, as express-session names it. */
  sessionID?: string;
};

/** `(req, res, next)`: Connect's middleware signature, which Express, Connect and Polka call. */
export type ExpressSessionMiddleware = (req: SessionRequest, res: ServerResponse, next: (err?: unknown) => void) => void;

/** What a request's session object shares with the ones `regenerate()` replaces it with. */
interface Shared {
  readonly core: Session;
  readonly req: SessionRequest;
  readonly config: MiddlewareConfig;
}

/** JSON of each stored top-level key as read: a key whose JSON differs at save time is written. */
type Snapshot = Map<string, string>;

/**
 * `req.session`: the session's data as plain own properties, read and written synchronously, and
 * express-session's methods (on the prototype, so they are not data). Saved at the end of the
 * response, or now with `save()`: only the top-level keys that changed, in one atomic update.
 */
export class ExpressSession {
  readonly #shared: Shared;
  #snapshot: Snapshot;
  /** Replaced by `regenerate()` or ended by `destroy()`: this object saves nothing any more. */
  #retired = false;
  readonly #cookie: SessionCookieView;

  /** @internal Made by the middleware. */
  constructor(shared: Shared, data: Record<string, unknown>) {
    this.#shared = shared;
    this.#snapshot = new Map();
    this.#cookie = new SessionCookieView(shared);
    this.#assign(data);
  }

  /** The session id (as `req.sessionID`). */
  get id(): string {
    return this.#shared.core.sid;
  }

  /**
   * @internal The core Session this one stands for, so that `listSessions(filter, { current: req.session })`
   * and `endAll(filter, { except: req.session })` take express-session's `req.session` (the key is
   * devices/devices.ts's CORE_SESSION, a registered symbol: this entry is bundled apart from the main one).
   */
  get [Symbol.for('mongosess.coreSession')](): Session {
    return this.#shared.core;
  }

  /** The session cookie: `maxAge`/`expires` read the session's expiry; setting them changes its lifetime. */
  get cookie(): SessionCookieView {
    return this.#cookie;
  }

  /**
   * Ends this session (no replay of the old cookie finds anything) and puts a new, empty one in
   * `req.session` under a new id, as express-session does: call it at login (Passport does).
   */
  regenerate(callback: SessionCallback): this {
    const { core, req, config } = this.#shared;
    this.#run('regenerate', callback, async () => {
      this.#refuseRetired('regenerate');
      await core.restart(config.saveUninitialized);
      this.#retired = true;
      req.session = new ExpressSession(this.#shared, {}) as RequestSession;
      req.sessionID = core.sid;
    });
    return this;
  }

  /** Ends the session and removes `req.session`; the cookie is cleared. */
  destroy(callback?: SessionCallback): this {
    const { core, req } = this.#shared;
    this.#run('destroy', callback, async () => {
      this.#retired = true;
      if (req.session === this) delete req.session;
      await core.end();
    });
    return this;
  }

  /** Reads the session again from the database; changes not saved are dropped. */
  reload(callback: SessionCallback): this {
    this.#run('reload', callback, async () => {
      this.#refuseRetired('reload');
      const data = await this.#shared.core.data(true);
      for (const key of Object.keys(this)) delete (this as Record<string, unknown>)[key];
      this.#assign(data);
    });
    return this;
  }

  /** Writes the changed keys now (one atomic update), instead of at the end of the response. */
  save(callback?: SessionCallback): this {
    this.#run('save', callback, () => this.#commit());
    return this;
  }

  /** Extends the session from now by its lifetime (`cookie.originalMaxAge`), at the next save. */
  touch(): this {
    this.#cookie.maxAge = this.#cookie.originalMaxAge;
    return this;
  }

  /** The same as `touch()`, as in express-session. */
  resetMaxAge(): this {
    return this.touch();
  }

  /**
   * @internal What the end of the response saves: `session`'s changes, unless `regenerate()` or
   * `destroy()` retired it. Static, so that no data key can shadow it.
   */
  static commit(session: ExpressSession): Promise<void> {
    return session.#retired ? Promise.resolve() : session.#commit();
  }

  /**
   * Writes what changed since the read (or the last save): nothing when nothing did; else one
   * atomic `$set`/`$unset`, and a new lifetime if `cookie.maxAge`/`expires` was set.
   */
  async #commit(): Promise<void> {
    this.#refuseRetired('save');
    const { core } = this.#shared;
    const set: Record<string, unknown> = {};
    const written = new Map<string, string>();
    const del: string[] = [];
    for (const key of Object.keys(this)) {
      const value = (this as Record<string, unknown>)[key];
      if (value === undefined) {
        if (this.#snapshot.has(key)) del.push(key);
        continue;
      }
      if (key.includes('.')) {
        throw new MongoSess.MongoSessValidationError(
          `req.session key ${JSON.stringify(key)} contains '.', which mongosess would store as a path; rename it`,
        );
      }
      const json = jsonOf(value);
      if (json === undefined || this.#snapshot.get(key) !== json) {
        set[key] = value;
        if (json !== undefined) written.set(key, json);
      }
    }
    for (const key of this.#snapshot.keys()) if (!Object.hasOwn(this, key)) del.push(key);
    if (Object.keys(set).length > 0 || del.length > 0) {
      await core.update(set, del);
      for (const [key, json] of written) this.#snapshot.set(key, json);
      for (const key of del) this.#snapshot.delete(key);
    }
    const lifetime = this.#cookie.takeLifetime();
    if (lifetime !== undefined) await core.setLifetime(lifetime);
  }

  #assign(data: Record<string, unknown>): void {
    const snapshot: Snapshot = new Map();
    for (const [key, value] of Object.entries(data)) {
      // `id` and `cookie` are the session's own (read-only, as in express-session): a stored key
      // of that name stays stored, out of reach of req.session.
      if (key === 'id' || key === 'cookie') continue;
      (this as Record<string, unknown>)[key] = value;
      const json = jsonOf(value);
      if (json !== undefined) snapshot.set(key, json);
    }
    this.#snapshot = snapshot;
  }

  #refuseRetired(action: string): void {
    if (this.#retired) {
      throw new MongoSess.MongoSessEndedError(
        `${action}() on a session that regenerate() replaced or destroy() ended; use the current req.session`,
      );
    }
  }

  /**
   * Runs `work` and calls back once, on a fresh tick, as express-session's store callbacks do.
   * Without a callback, an error goes to connect's `warn` (nobody else can hear of it).
   */
  #run(operation: string, callback: SessionCallback | undefined, work: () => Promise<void>): void {
    let running: Promise<void>;
    try {
      running = work();
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      () => callback && process.nextTick(callback),
      (err: unknown) => {
        if (callback) process.nextTick(callback, err);
        else this.#shared.core.reportUnhandled(`req.session.${operation}()`, err);
      },
    );
  }
}

/**
 * `req.session.cookie`: what the session cookie says, in express-session's terms. `maxAge` and
 * `expires` read when the session expires; setting them gives the session its own lifetime
 * (mongosess's `setLifetime()`), written at save; `null` (or `expires = false`) makes the cookie a
 * browser-session cookie at once.
 */
export class SessionCookieView {
  readonly #shared: Shared;
  #lifetime: number | undefined;
  #browserSession = false;

  /** @internal */
  constructor(shared: Shared) {
    this.#shared = shared;
  }

  /** The session's lifetime in ms: its own (set through `maxAge`) or connect's `expires`. */
  get originalMaxAge(): number | null {
    return this.#browserSession ? null : (this.#lifetime ?? this.#shared.core.lifetime);
  }

  /** When the session expires, or null for a browser-session cookie. */
  get expires(): Date | null {
    if (this.#browserSession) return null;
    if (this.#lifetime !== undefined) return new Date(Date.now() + this.#lifetime);
    return this.#shared.core.expiresAt ?? null;
  }

  /** Sets the session's lifetime to end at `date`; `null` or `false` makes a browser-session cookie. */
  set expires(date: Date | null | false) {
    if (date === null || date === false) {
      this.maxAge = null;
      return;
    }
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      throw new MongoSess.MongoSessValidationError('cookie.expires takes a Date, null or false');
    }
    this.maxAge = date.getTime() - Date.now();
  }

  /** Ms until the session expires, or null for a browser-session cookie. */
  get maxAge(): number | null {
    const expires = this.expires;
    return expires ? expires.getTime() - Date.now() : null;
  }

  /** Gives the session a lifetime of its own, `ms` from now (saved with the response); `null` makes a browser-session cookie. */
  set maxAge(ms: number | null) {
    if (ms === null) {
      this.#browserSession = true;
      this.#lifetime = undefined;
      this.#shared.core.expire();
      return;
    }
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      throw new MongoSess.MongoSessValidationError(`cookie.maxAge takes a positive number of ms or null, got: ${String(ms)}`);
    }
    this.#lifetime = Math.round(ms);
  }

  /** The cookie's HttpOnly attribute (the middleware's `cookie.httpOnly`). */
  get httpOnly(): boolean {
    return this.#shared.config.cookie.httpOnly;
  }

  /** The cookie's Path (the middleware's `cookie.path`). */
  get path(): string {
    return this.#shared.config.cookie.path;
  }

  /** The cookie's Domain (the middleware's `cookie.domain`), if any. */
  get domain(): string | undefined {
    return this.#shared.config.cookie.domain;
  }

  /** The cookie's SameSite attribute, or false without one. */
  get sameSite(): string | false {
    return this.#shared.config.cookie.sameSite;
  }

  /** The cookie's Secure setting (the middleware's `cookie.secure`). */
  get secure(): boolean | 'auto' {
    return this.#shared.config.cookie.secure;
  }

  /** @internal The lifetime set since the last save, once. */
  takeLifetime(): number | undefined {
    const lifetime = this.#lifetime;
    this.#lifetime = undefined;
    return lifetime;
  }

  /** What express-session stores of the cookie: `originalMaxAge`, `expires`, `httpOnly` and `path`. */
  toJSON(): Record<string, unknown> {
    return { originalMaxAge: this.originalMaxAge, expires: this.expires, httpOnly: this.httpOnly, path: this.path };
  }
}

/** JSON of a value, to see whether it changed; undefined where it has none (a cycle, a bigint: then always written, and checked there). */
function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * express-session's middleware, stored by mongosess. Call `MongoSess.connect()` (or, with
 * `store`, that store's `connect()`) before serving; bad options throw here, and a request before
 * it goes to `next(err)`.
 */
export function session(options?: ExpressSessionOptions): ExpressSessionMiddleware {
  const config = resolveMiddlewareOptions(options);
  return (req, res, next) => {
    // Mounted twice (or on a router too): the first one serves the request.
    if (req.session) {
      next();
      return;
    }
    let core: Session;
    try {
      core = config.store ? config.store.session(req, res, config.session) : MongoSess(req, res, config.session);
    } catch (err) {
      next(err);
      return;
    }
    const shared: Shared = { core, req, config };
    const { adopt } = config;
    (adopt ? adoptOld(adopt, core, req.headers.cookie, res).then(() => core.data()) : core.data())
      .then((data) => {
        req.session = new ExpressSession(shared, data) as RequestSession;
        // A plain property, as express-session sets it (an accessor would slow every later read of req).
        req.sessionID = core.sid;
        saveBeforeEnd(shared, res, next);
      })
      // Outside the chain: an error the route throws is its framework's to handle, not next's twice.
      .then(() => next(), next);
  };
}

/**
 * Holds the response's `end()` until the session is saved, so a client (or a redirect to another
 * server) never sees the response before the write it depends on (expressjs/session#360). A save
 * that fails goes to `next(err)` if the headers are not out yet, so the client never hears of a
 * success that was not stored.
 */
function saveBeforeEnd(shared: Shared, res: ServerResponse, next: (err?: unknown) => void): void {
  const end = res.end;
  let ending = false;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (ending) return end.apply(this, args as Parameters<typeof end>);
    ending = true;
    finish(shared).then(
      () => {
        res.end = end;
        end.apply(res, args as Parameters<typeof end>);
      },
      (err: unknown) => {
        res.end = end;
        if (res.headersSent) end.apply(res, args as Parameters<typeof end>);
        next(err);
      },
    );
    return res;
  } as typeof res.end;
}

/** What the end of the response writes: the current `req.session`, or with `unset: 'destroy'`, the end of a removed one. */
async function finish({ core, req, config }: Shared): Promise<void> {
  const current = req.session;
  if (current instanceof ExpressSession) {
    await ExpressSession.commit(current);
    return;
  }
  // `req.session = null` or `delete req.session`: ended with `unset: 'destroy'` (again, harmlessly,
  // after destroy()), else kept as stored, this request's changes dropped (express-session's 'keep').
  if (config.unset === 'destroy') await core.end();
}
