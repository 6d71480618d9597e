import type { IncomingMessage, ServerResponse } from 'node:http';
import { deliver, type Callback, type CompatPromise } from './callback.js';
import { MongoSessConfigError, MongoSessEndedError, MongoSessError, MongoSessValidationError } from './errors.js';
import { isLive, type SessionCollection, type SessionDocument } from './session-collection.js';
import { SessionCookie } from './session-cookie.js';
import { buildSet, buildUnset, readPath } from './session-data.js';
import { hashSessionId, isLegacySessionId, isSessionId, newSessionId } from './session-id.js';
import { resolveSessionOptions, type SessionOptions } from './session-options.js';

/** What `get()` resolves to: the id, the creation date once stored, and the stored keys. */
export type SessionData = { _id: string; createdAt?: Date } & Record<string, unknown>;

const noop = (): void => undefined;

/**
 * One request's view of its session. Reads are cached for the request (one database read at
 * most, none for a visitor who never stores anything); every write is one atomic update of
 * only the keys it names; operations on one Session run in the order they were called.
 */
export class Session {
  readonly #sessions: SessionCollection;
  readonly #cookie: SessionCookie;
  #id: string;
  /** SHA-256 of #id, the document's _id: computed on first use, as many requests never need it. */
  #digest: string | undefined;
  /** A mongosess 0.4 id from the cookie, moved to a new id on first use. */
  #legacyId: string | undefined;
  /** The id was made in this request, so nothing can be stored under it but what we wrote. */
  #minted: boolean;
  /** undefined: not read yet; null: no live session stored; else the stored document. */
  #doc: SessionDocument | null | undefined;
  /** end() was called: this object writes nothing more. */
  #ended = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(sessions: SessionCollection, req: IncomingMessage, res: ServerResponse, options?: SessionOptions) {
    if (typeof req !== 'object' || req === null || typeof req.headers !== 'object') {
      throw new MongoSessConfigError('mongosess: the first argument must be the http request (IncomingMessage)');
    }
    if (typeof res !== 'object' || res === null || typeof res.setHeader !== 'function') {
      throw new MongoSessConfigError('mongosess: the second argument must be the http response (ServerResponse)');
    }
    this.#sessions = sessions;
    this.#cookie = new SessionCookie(req, res, resolveSessionOptions(options));

    const incoming = this.#cookie.read();
    if (isSessionId(incoming.value)) {
      this.#id = incoming.value;
      this.#minted = false;
      if (incoming.needsResign) this.#cookie.send(this.#id, sessions.now());
    } else if (sessions.config.upgradeLegacySessions && isLegacySessionId(incoming.value)) {
      this.#id = incoming.value;
      this.#legacyId = incoming.value;
      this.#minted = false;
    } else {
      // Absent, malformed or badly signed: a new session, with its cookie in this response
      // already (clients of mongosess 0.4 rely on that), and no database look-up.
      this.#id = newSessionId();
      this.#minted = true;
      this.#doc = null;
      this.#cookie.send(this.#id, sessions.now());
    }
  }

  /** The session id, as in the cookie. */
  get sid(): string {
    return this.#id;
  }

  /** The whole session (`{ _id, createdAt?, ...data }`), or the value of one (possibly dotted) key. */
  get(): CompatPromise<SessionData>;
  get(callback: Callback<SessionData>): undefined;
  get(key: string): CompatPromise<unknown>;
  get(key: string, callback: Callback<unknown>): undefined;
  get(keyOrCallback?: unknown, callback?: unknown): CompatPromise<unknown> | undefined {
    const cb = typeof keyOrCallback === 'function' ? keyOrCallback : callback;
    const key = typeof keyOrCallback === 'function' ? undefined : keyOrCallback;
    return deliver(() => {
      if (key !== undefined && typeof key !== 'string') {
        throw new MongoSessValidationError(`mongosess: get() takes a string key, got: ${typeof key}`);
      }
      return this.#enqueue(async () => {
        const view = this.#view(await this.#load());
        return key === undefined ? view : readPath(view, key.split('.'));
      });
    }, cb);
  }

  /** Stores the given keys in one atomic `$set`; other keys are untouched. Resolves true. */
  set(data: Record<string, unknown>): CompatPromise<boolean>;
  set(data: Record<string, unknown>, callback: Callback<boolean>): undefined;
  set(data: Record<string, unknown>, callback?: Callback<boolean>): CompatPromise<boolean> | undefined {
    return deliver(() => {
      const $set = buildSet(data, this.#sessions.config.maxDataBytes);
      return this.#enqueue(async () => {
        this.#checkNotEnded();
        if (Object.keys($set).length === 0) return true;
        await this.#upgradeLegacy();
        const known = this.#doc;
        const doc = await this.#sessions.update(this.#hash, { $set }, !known, this.#rollingExpiry(known));
        if (!doc) this.#gone();
        await this.#adopt(doc);
        return true;
      });
    }, callback);
  }

  /** Removes the given keys in one atomic `$unset`. Resolves true. */
  del(...keys: string[]): CompatPromise<boolean>;
  del(...keysThenCallback: [...keys: string[], callback: Callback<boolean>]): undefined;
  del(...args: unknown[]): CompatPromise<boolean> | undefined {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    return deliver(() => {
      const $unset = buildUnset(args);
      return this.#enqueue(async () => {
        this.#checkNotEnded();
        if (args.length === 0) return true;
        await this.#upgradeLegacy();
        // Nothing can be stored under an id made in this request that we never wrote to.
        if (this.#minted && !this.#doc) return true;
        const doc = await this.#sessions.update(this.#hash, { $unset }, false, this.#rollingExpiry(this.#doc));
        if (doc) await this.#adopt(doc);
        else this.#doc = null;
        return true;
      });
    }, callback);
  }

  /**
   * Deletes the session and clears its cookie. A tombstone stays behind for one lifetime, so a
   * concurrent request still holding the old cookie cannot write the session back. Resolves true.
   */
  end(): CompatPromise<boolean>;
  end(callback: Callback<boolean>): undefined;
  end(callback?: Callback<boolean>): CompatPromise<boolean> | undefined {
    return deliver(
      () =>
        this.#enqueue(async () => {
          if (this.#legacyId) {
            await this.#sessions.deleteLegacy(this.#legacyId);
            this.#legacyId = undefined;
          } else if (!(this.#minted && !this.#doc) && !this.#ended) {
            await this.#sessions.end(this.#hash);
          }
          this.#ended = true;
          this.#doc = null;
          this.#cookie.clear();
          return true;
        }),
      callback,
    );
  }

  /**
   * Moves the session to a new id: the data carries over, the old id is dead at once (a replay of
   * the old cookie finds nothing) and the new cookie goes out. Call it at login and on any
   * privilege change, against session fixation. Resolves true.
   */
  regenerate(): CompatPromise<boolean>;
  regenerate(callback: Callback<boolean>): undefined;
  regenerate(callback?: Callback<boolean>): CompatPromise<boolean> | undefined {
    return deliver(
      () =>
        this.#enqueue(async () => {
          this.#checkNotEnded();
          if (!this.#cookie.writable) {
            throw new MongoSessError('mongosess: regenerate() must be called before the response headers are sent, as it sets a new cookie');
          }
          if (this.#legacyId) {
            await this.#upgradeLegacy(); // already moves the session to a fresh id
            return true;
          }
          let previous: SessionDocument | null = null;
          if (!(this.#minted && !this.#doc)) {
            const old = await this.#sessions.end(this.#hash);
            if (old && isLive(old, this.#sessions.now())) previous = old;
          }
          await this.#moveToNewId(previous);
          return true;
        }),
      callback,
    );
  }

  /**
   * Makes the cookie a browser-session cookie (no expiry date) in this response; how long the
   * data lives in the database does not change.
   */
  expire(): void {
    this.#cookie.asBrowserSession(this.#id);
  }

  get #hash(): string {
    return (this.#digest ??= hashSessionId(this.#id));
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation);
    this.#queue = run.then(noop, noop);
    return run;
  }

  #view(doc: SessionDocument | null): SessionData {
    if (!doc) return { _id: this.#id };
    // _id last: it is always the cookie's id, whatever the stored data holds.
    return { ...(doc.createdAt ? { createdAt: doc.createdAt } : {}), ...doc.d, _id: this.#id };
  }

  #checkNotEnded(): void {
    if (this.#ended) {
      throw new MongoSessEndedError('mongosess: this session was ended with end(); the next request starts a new one');
    }
  }

  /** Reads the session once per request; an ended or expired one is replaced by a fresh id. */
  async #load(): Promise<SessionDocument | null> {
    if (this.#doc !== undefined) return this.#doc;
    if (this.#legacyId) {
      await this.#upgradeLegacy();
      return this.#doc ?? null;
    }
    const doc = await this.#sessions.find(this.#hash);
    if (doc && !isLive(doc, this.#sessions.now())) {
      this.#restart();
      return null;
    }
    this.#doc = doc;
    if (doc) await this.#touch(doc);
    return doc;
  }

  /** Takes a document the database returned as this session's state (and extends it if rolling). */
  async #adopt(doc: SessionDocument): Promise<void> {
    this.#doc = doc;
    this.#minted = false;
    await this.#touch(doc);
  }

  /**
   * The expiry a write should set on a rolling session, when it can be known without a read:
   * undefined leaves expiry to `$setOnInsert` and a later touch.
   */
  #rollingExpiry(known: SessionDocument | null | undefined): Date | undefined {
    const { config } = this.#sessions;
    if (!config.rolling || (config.absoluteTimeout > 0 && !known)) return undefined;
    return this.#sessions.expiryFrom(this.#sessions.now(), known?.deadline);
  }

  /** Rolling sessions: push expiry (database and cookie) forward when that gains over touchAfter. */
  async #touch(doc: SessionDocument): Promise<void> {
    const { config } = this.#sessions;
    if (!config.rolling) return;
    const now = this.#sessions.now();
    const target = this.#sessions.expiryFrom(now, doc.deadline);
    const current = doc.expiresAt?.getTime() ?? 0;
    if (target.getTime() - current > config.touchAfter) {
      await this.#sessions.touch(this.#hash, target);
      doc.expiresAt = target;
    }
    this.#cookie.send(this.#id, now);
  }

  /** A fresh, empty session with a new id and cookie (the old one was ended or expired). */
  #restart(): void {
    this.#id = newSessionId();
    this.#digest = undefined;
    this.#minted = true;
    this.#doc = null;
    this.#cookie.send(this.#id, this.#sessions.now());
  }

  /** A write found its session ended, regenerated or expired: never write it back. */
  #gone(): never {
    this.#restart();
    throw new MongoSessEndedError(
      'mongosess: the session was ended, regenerated or expired before this write, so nothing was written; ' +
        'this response starts a new, empty session',
    );
  }

  /** Stores `previous`'s data under a new random id and sends its cookie (regenerate, 0.4 upgrade). */
  async #moveToNewId(previous: SessionDocument | null, data?: Record<string, unknown>): Promise<void> {
    this.#restart();
    if (!previous) return;
    const now = this.#sessions.now();
    const deadline = previous.deadline;
    const doc: SessionDocument = {
      _id: this.#hash,
      d: data ?? previous.d ?? {},
      createdAt: previous.createdAt ?? new Date(now),
      expiresAt: this.#sessions.config.rolling || !previous.expiresAt ? this.#sessions.expiryFrom(now, deadline) : previous.expiresAt,
      ...(deadline ? { deadline } : {}),
    };
    await this.#sessions.insert(doc);
    this.#doc = doc;
    this.#minted = false;
  }

  /**
   * mongosess 0.4 ids are ObjectIds: guessable from one's own. On first use such a session is
   * taken out of the collection (atomically: one request wins) and stored under a fresh id.
   */
  async #upgradeLegacy(): Promise<void> {
    const legacyId = this.#legacyId;
    if (!legacyId) return;
    this.#legacyId = undefined;
    const old = await this.#sessions.claimLegacy(legacyId);
    const now = this.#sessions.now();
    const alive =
      old !== null &&
      old.ended !== true &&
      (old.expiresAt
        ? old.expiresAt.getTime() > now
        : (old.createdAt?.getTime() ?? now) + this.#sessions.config.expires > now);
    if (!alive) return this.#moveToNewId(null);
    // 0.4 kept the data at the top level of the document, and expired it by createdAt.
    const { _id, createdAt, expiresAt, ...data } = old;
    const created = createdAt ?? new Date(now);
    const expiry = expiresAt ?? new Date(created.getTime() + this.#sessions.config.expires);
    return this.#moveToNewId({ _id, createdAt: created, expiresAt: expiry }, data);
  }
}
