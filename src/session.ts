import type { IncomingMessage, ServerResponse } from 'node:http';
import { deliver, type Callback, type CompatPromise } from './callback.js';
import { MongoSessConfigError, MongoSessEndedError, MongoSessError, MongoSessValidationError } from './errors.js';
import { isDeepStrictEqual } from 'node:util';
import type { SessionCollection, SessionDocument } from './session-collection.js';
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
  /**
   * The cookie's session turned out to be gone and a new id was made without sending it yet:
   * it goes out with the first write. Sending it on a mere read would let a parallel request
   * (one that raced a login's regenerate(), or lost a 0.4 upgrade) overwrite the good cookie.
   */
  #cookiePending = false;
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
      const { $set, bytes } = buildSet(data, this.#sessions.config.maxDataBytes);
      return this.#enqueue(async () => {
        this.#checkNotEnded();
        if (Object.keys($set).length === 0) return true;
        await this.#upgradeLegacy();
        const known = this.#doc;
        const extendTo = this.#rollingExpiry(known);
        const doc = await this.#sessions.update(this.#hash, { $set, bytes }, !known, extendTo);
        if (!doc) this.#gone();
        if (this.#cookiePending) this.#cookie.send(this.#id, this.#sessions.now());
        this.#cookiePending = false;
        await this.#adopt(doc, extendTo !== undefined);
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
        const extendTo = this.#rollingExpiry(this.#doc);
        const doc = await this.#sessions.update(this.#hash, { $unset }, false, extendTo);
        if (doc) await this.#adopt(doc, extendTo !== undefined);
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
          this.#cookiePending = false;
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
            await this.#upgradeLegacy(); // a live 0.4 session moves to a fresh id (and cookie) here
            if (!this.#doc) this.#startOver(true);
            return true;
          }
          const current = await this.#load();
          const oldId = this.#hash;
          if (current) {
            await this.#moveToNewId(current, current.d ?? {}, async () => {
              const old = await this.#sessions.end(oldId);
              return old && this.#sessions.isLive(old, this.#sessions.now()) ? (old.d ?? {}) : null;
            });
            return true;
          }
          // Nothing stored: still kill the id (it may have been planted) and issue a new one.
          if (!this.#minted) await this.#sessions.end(oldId);
          this.#startOver(true);
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
    if (doc && !this.#sessions.isLive(doc, this.#sessions.now())) {
      this.#startOver(false);
      return null;
    }
    this.#doc = doc;
    if (doc) await this.#touch(doc);
    return doc;
  }

  /**
   * Takes a document the database returned as this session's state, and extends it if rolling
   * (unless the write that returned it already did).
   */
  async #adopt(doc: SessionDocument, extended: boolean): Promise<void> {
    this.#doc = doc;
    this.#minted = false;
    if (extended) this.#cookie.send(this.#id, this.#sessions.now());
    else await this.#touch(doc);
  }

  /**
   * The expiry a write should set on a rolling session, when it can be known without a read:
   * undefined leaves expiry to `$setOnInsert` and a later touch.
   */
  #rollingExpiry(known: SessionDocument | null | undefined): Date | undefined {
    const { config } = this.#sessions;
    if (!config.rolling || (config.absoluteTimeout > 0 && !known)) return undefined;
    return this.#sessions.expiryFrom(this.#sessions.now(), known ? this.#sessions.deadlineOf(known) : undefined);
  }

  /** Rolling sessions: push expiry (database and cookie) forward when that gains over touchAfter. */
  async #touch(doc: SessionDocument): Promise<void> {
    const { config } = this.#sessions;
    if (!config.rolling) return;
    const now = this.#sessions.now();
    const target = this.#sessions.expiryFrom(now, this.#sessions.deadlineOf(doc));
    const current = doc.expiresAt?.getTime() ?? 0;
    if (target.getTime() - current > config.touchAfter) {
      await this.#sessions.touch(this.#hash, target);
      doc.expiresAt = target;
    }
    this.#cookie.send(this.#id, now);
  }

  /**
   * A fresh, empty session under a new id, because the cookie's session is gone (ended, expired,
   * regenerated, or a 0.4 session another request moved). Its cookie goes out now, or with the
   * first write (see #cookiePending).
   */
  #startOver(sendCookie: boolean): void {
    this.#id = newSessionId();
    this.#digest = undefined;
    this.#minted = true;
    this.#doc = null;
    this.#cookiePending = !sendCookie;
    if (sendCookie) this.#cookie.send(this.#id, this.#sessions.now());
  }

  /**
   * A write found its session ended, regenerated or expired: it is never written back. The
   * response carries a fresh cookie, so a client holding a dead one is not stuck.
   */
  #gone(): never {
    this.#startOver(true);
    throw new MongoSessEndedError(
      'mongosess: the session was ended, regenerated or expired before this write, so nothing was written; ' +
        'this response starts a new, empty session',
    );
  }

  /**
   * Moves a live session to a fresh id without ever losing it (regenerate, 0.4 upgrade): the copy
   * is stored first, then `claim` ends the old id and returns the data it held at that instant
   * (null if another request ended or moved it meanwhile). The copy catches up if the data
   * changed in between; the new cookie goes out only once both writes are done.
   */
  async #moveToNewId(
    snapshot: SessionDocument,
    data: Record<string, unknown>,
    claim: () => Promise<Record<string, unknown> | null>,
  ): Promise<void> {
    const now = this.#sessions.now();
    const id = newSessionId();
    const digest = hashSessionId(id);
    const deadline = this.#sessions.deadlineOf(snapshot);
    const doc: SessionDocument = {
      _id: digest,
      d: data,
      createdAt: snapshot.createdAt ?? new Date(now),
      expiresAt:
        this.#sessions.config.rolling || !snapshot.expiresAt ? this.#sessions.expiryFrom(now, deadline) : snapshot.expiresAt,
      ...(deadline ? { deadline } : {}),
    };
    await this.#sessions.insert(doc);
    let latest: Record<string, unknown> | null;
    try {
      latest = await claim();
    } catch (err) {
      // The old session is untouched (or its fate unknown): drop the copy, keep the old cookie.
      await this.#sessions.discard(digest).catch(noop);
      throw err;
    }
    if (latest === null) {
      await this.#sessions.discard(digest);
      this.#startOver(false);
      return;
    }
    if (!isDeepStrictEqual(latest, data)) {
      await this.#sessions.replaceData(digest, latest);
      doc.d = latest;
    }
    this.#id = id;
    this.#digest = digest;
    this.#doc = doc;
    this.#minted = false;
    this.#cookiePending = false;
    this.#cookie.send(id, now);
  }

  /**
   * mongosess 0.4 ids are ObjectIds: guessable from one's own. On first use such a session moves
   * to a fresh id; the claim (findOneAndDelete) is atomic, so one request wins.
   */
  async #upgradeLegacy(): Promise<void> {
    const legacyId = this.#legacyId;
    if (!legacyId) return;
    this.#legacyId = undefined;
    const old = await this.#sessions.findLegacy(legacyId);
    const session = old && this.#fromLegacy(old);
    if (!old || !session || !this.#sessions.isLive(session, this.#sessions.now())) return this.#startOver(false);
    await this.#moveToNewId(session, legacyData(old), async () => {
      const claimed = await this.#sessions.claimLegacy(legacyId);
      return claimed && this.#sessions.isLive(this.#fromLegacy(claimed), this.#sessions.now()) ? legacyData(claimed) : null;
    });
  }

  /** A 0.4 document with the dates 1.x keeps: 0.4 expired sessions `expires` after `createdAt`. */
  #fromLegacy(doc: SessionDocument): SessionDocument {
    const createdAt = doc.createdAt ?? new Date(this.#sessions.now());
    return { ...doc, createdAt, expiresAt: doc.expiresAt ?? new Date(createdAt.getTime() + this.#sessions.config.expires) };
  }
}

/** 0.4 kept the data at the top level of the document. */
function legacyData(doc: SessionDocument): Record<string, unknown> {
  const { _id, createdAt, expiresAt, deadline, ended, ...data } = doc;
  return data;
}
