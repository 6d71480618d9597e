import { deliver, splitCallback, type Callback, type CompatPromise } from '../edge/callback.js';
import {
  MongoSessConfigError,
  MongoSessEndedError,
  MongoSessError,
  MongoSessReadOnlyError,
  MongoSessValidationError,
  reportUnhandled,
} from '../edge/errors.js';
import { isLegacySessionId, MOVE_GRACE_MS, type LegacySessions } from '../legacy/legacy.js';
import {
  creationTimes,
  deadlineFrom,
  deadlineOf,
  expiryFrom,
  isLive,
  lifetimeOf,
  liveFilter,
  movedRecently,
  rollingExpiry,
  tombstoneExpiry,
  tombstoneTimes,
  touchTarget,
} from './lifetime.js';
import type { SessionCollection, WriteOps } from '../storage/collection.js';
import type { CookieExchange } from '../http/cookie-exchange.js';
import { SessionCookie } from '../http/cookie.js';
import { sizeFilter, tooLargeError } from '../data/size.js';
import { buildSet, buildUnset, readPath } from '../data/session-data.js';
import { hashSessionId, isSessionId, type SessionDigest, type SessionId } from './id.js';
import { moveToNewId } from './move.js';
import { resolveSessionOptions, type SessionOptions } from '../config/session-options.js';
import { TimeBudget } from '../storage/time-budget.js';
import { milliseconds } from '../config/validate-option.js';
import { afterLookup, freshSession, oldIdUse, type Judge, type SessionState } from './state.js';
import { endAll, type SessionStore } from '../storage/session-store.js';
import { clientOf, enforceUserLimit } from '../devices/devices.js';
import { handleOf } from './handle.js';
import { applySet, checkDataSize, regenerateChange } from '../data/change.js';
import type { RefusedOperation } from '../edge/events.js';
import { type SessionDocument, DATA_FIELD, type ClientInfo } from '../storage/document.js';

/**
 * The types of your session data, by declaration merging (as express-session users know it):
 *
 * ```ts
 * declare module 'mongosess' {
 *   interface SessionData { userId: number }
 * }
 * const id = await session.get('userId'); // number | undefined
 * await session.set({ userId: 'x' });     // compile error
 * ```
 *
 * Keys it does not name stay allowed, typed `unknown`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: the target of your declaration merging.
export interface SessionData {}

/**
 * What `get()` resolves to: the id, the creation date once stored, and the stored keys (each
 * possibly null: `set()` stores `undefined` as null, as 0.4 did).
 */
export type SessionView = {
  /** The session id (the cookie's value), an ordinary property as in 0.4; not enumerable with connect's `hideId`. */
  _id: string;
  /** When the session was first stored; absent before its first write. */
  createdAt?: Date;
} & { [K in keyof SessionData]?: SessionData[K] | null } & Record<string, unknown>;

/** What `set()` takes: the keys SessionData names, with their types, and any other keys or dotted paths. */
export type SessionUpdate = { [K in keyof SessionData]?: SessionData[K] } & Record<string, unknown>;

/** The keys SessionData names. */
type KnownKey = keyof SessionData & string;

/** How many moves during one request an end() follows: far more than parallel logins make. */
const MAX_MOVES_FOLLOWED = 8;

/** A key as get() and del() take it: one SessionData names (offered by editors), or any other key or dotted path. */
type SessionKey = KnownKey | (string & {});

const ENDED_HERE = 'this session was ended with end(); the next request starts a new one';
const GONE =
  'another request ended or regenerated this session while this one ran, so nothing was written ' +
  '(an ended session never comes back); the next request with this cookie starts a new session';
/** Why a write that needs a new cookie came too late, and when to write instead, by runtime. */
const TOO_LATE = {
  node: {
    sent: 'the response headers were already sent',
    before: 'before the headers are sent (res.writeHead, res.end, res.send)',
  },
  fetch: {
    sent: "this session's Response was already built (withSession() or session.responseHeaders() took its headers)",
    before: 'before building the Response with withSession(session, response) or session.responseHeaders()',
  },
} as const;

function newIdTooLate(runtime: keyof typeof TOO_LATE): string {
  const { sent, before } = TOO_LATE[runtime];
  return (
    'this write needs a new session cookie (a new visitor, cookieOnFirstWrite, or a session that ended or ' +
    `expired before this request), but ${sent}, so nothing was written: no client would hold its id. ` +
    `Write to the session ${before}`
  );
}

function regenerateTooLate(runtime: keyof typeof TOO_LATE): string {
  return runtime === 'node'
    ? 'regenerate() must be called before the response headers are sent, as it sets a new cookie'
    : `regenerate() must be called ${TOO_LATE[runtime].before}, as it sets a new cookie`;
}

const READ_ONLY =
  'this session belongs to an HTTP upgrade request (WebSocket, store.upgradeSession()), which has no response ' +
  'to carry its cookie, so it is read-only and nothing was written: write to the session in an ordinary HTTP ' +
  'request (or, with mongosess/fetch, a Request whose Response you return)';
const LEGACY_AFTER_HEADERS =
  'a mongosess 0.4 session moves to a new id (and cookie) on its first write, so write it before ' + 'the response headers are sent';

/**
 * One request's view of its session. Reads are cached for the request (one database read at
 * most, none for a visitor who never stores anything); every write is one atomic update of
 * only the keys it names; operations on one Session run in the order they were called.
 */
export class Session {
  readonly #store: SessionStore;
  readonly #cookie: SessionCookie;
  /** What the cookie twin that follows a per-session lifetime is made from (see #sendCookie). */
  /** The per-request cookie `expires` option: a session with a lifetime of its own (setLifetime()) overrides it. */
  readonly #expiresOption: number | undefined;
  /**
   * This session's cookie choice made in this request: 'browser' after expire(), 'lifetime' after
   * setLifetime() (the later call wins); both are also stored with the session.
   */
  #cookieChoice: 'browser' | 'lifetime' | undefined;
  readonly #requestStart: number;
  #state: SessionState;
  #digest: { id: SessionId; digest: SessionDigest } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Operations called and not yet settled. */
  #pending = 0;
  /**
   * The cookie came signed with an older key (or 0.4's SHA-1): re-sign it once a command of this
   * request proves the session live after its read (a write or a touch that matched, see #touch).
   */
  #resign = false;
  #bounded: { sessions: SessionCollection; legacy: LegacySessions | undefined } | undefined;
  /** With connect's `recordClient`: stored with the session when this request creates it. */
  readonly #client: ClientInfo | undefined;
  /** The cookie was accepted only with a valid signature (sessions with `keys`): its id was not guessed. */
  readonly #signed: boolean;

  /**
   * @internal Sessions are made with `new MongoSess(req, res, options)`, `store.session(req, res)`,
   * `store.fetchSession(request)` or `store.upgradeSession(req)`, each with its exchange.
   */
  constructor(store: SessionStore, exchange: CookieExchange, options?: SessionOptions) {
    this.#store = store;
    this.#requestStart = store.now();
    const config = resolveSessionOptions(options);
    this.#cookie = new SessionCookie(exchange, config);
    this.#client = store.devices.recordClient ? clientOf(exchange, config.trustProxy) : undefined;
    this.#signed = config.signer !== undefined;
    this.#expiresOption = config.expires;

    const incoming = this.#cookie.read();
    if (isSessionId(incoming.value)) {
      this.#state = { kind: 'unread', id: incoming.value };
      // Signed with an older key: re-signed once a write or touch of this request finds the session
      // live, never on a read alone nor for a dead id (either could overwrite the cookie a parallel
      // login has just set).
      this.#resign = incoming.needsResign;
    } else if (store.legacy && isLegacySessionId(incoming.value)) {
      this.#state = { kind: 'legacy', id: incoming.value };
    } else {
      // Absent, malformed or badly signed: a new session, with no database look-up. Its cookie
      // goes out in this response (clients of mongosess 0.4 rely on that), or with
      // `cookieOnFirstWrite` only once something is stored.
      this.#state = this.#startOver(!config.cookieOnFirstWrite);
    }
  }

  /** The session id, as in the cookie. */
  get sid(): string {
    return this.#state.id;
  }

  /**
   * @internal The digest of the session a request with a moved id was forwarded to (a 0.4
   * session's upgrade, a regenerate()'s grace window): the one `listSessions`' `current` and
   * `endAll`'s `except` mean, which the cookie's id no longer names.
   */
  get forwardedTo(): SessionDigest | undefined {
    return this.#state.kind === 'forwarded' ? this.#state.digest : undefined;
  }

  /**
   * For a session of `store.fetchSession(request)`: the headers its Response must carry, as
   * `[name, value]` pairs (one per Set-Cookie line; with the `header` option, the id header).
   * Call it once the session's writes have settled, when building the Response
   * (`withSession(session, response)` from `mongosess/fetch` does): from then on the headers
   * count as sent, and a write that needs a new cookie is refused, as after node's headers are
   * sent. An upgrade request's session has none (`[]`). A node session's cookie goes straight
   * onto its `res`, so this is a MongoSessConfigError for one.
   */
  responseHeaders(): [string, string][] {
    const { exchange } = this.#cookie;
    switch (exchange.kind) {
      case 'fetch':
        return exchange.response.close();
      case 'upgrade':
        return [];
      case 'node':
        throw new MongoSessConfigError(
          'responseHeaders() is for sessions of store.fetchSession(request): this session writes its cookie onto its node response (res) itself',
        );
    }
  }

  /**
   * The whole session (`{ _id, createdAt?, ...data }`), or the value of one (possibly dotted) key:
   * `undefined` when absent, `null` when stored as null (or as `undefined`, which is stored as null).
   */
  get(): CompatPromise<SessionView>;
  get(callback: Callback<SessionView>): undefined;
  get<K extends KnownKey>(key: K): CompatPromise<SessionData[K] | null | undefined>;
  get<K extends KnownKey>(key: K, callback: Callback<SessionData[K] | null | undefined>): undefined;
  get(key: string): CompatPromise<unknown>;
  get(key: string, callback: Callback<unknown>): undefined;
  get(...args: unknown[]): CompatPromise<unknown> | undefined {
    const [[key], callback] = splitCallback(args);
    return deliver(
      () => {
        if (key !== undefined && typeof key !== 'string') {
          throw new MongoSessValidationError(`get() takes a string key, got: ${typeof key}`);
        }
        return this.#enqueue(async () => {
          const view = this.#view(await this.#settle());
          return key === undefined ? view : readPath(view, key.split('.'));
        });
      },
      callback,
      this.#unhandled('get()'),
    );
  }

  /** Stores the given keys in one atomic `$set`; other keys are untouched. Resolves true. */
  set(data: SessionUpdate): CompatPromise<boolean>;
  set(data: SessionUpdate, callback: Callback<boolean>): undefined;
  set(...args: unknown[]): CompatPromise<boolean> | undefined {
    const [[data], callback] = splitCallback(args, 1);
    return deliver(
      () => {
        const { $set, bytes } = buildSet(data, this.#store.policy.maxDataBytes, this.#store.codec, this.#store.bson);
        return this.#enqueue(async () => {
          const state = await this.#writable();
          if (Object.keys($set).length === 0) return true;
          await this.#write(state, { $set }, bytes);
          await this.#afterUserSet($set);
          return true;
        });
      },
      callback,
      this.#unhandled('set()'),
    );
  }

  /** Removes the given keys in one atomic `$unset`. Resolves true. */
  del(...keys: SessionKey[]): CompatPromise<boolean>;
  del(...keysThenCallback: [...keys: SessionKey[], callback: Callback<boolean>]): undefined;
  del(...args: unknown[]): CompatPromise<boolean> | undefined {
    const [keys, callback] = splitCallback(args);
    return deliver(
      () => {
        const $unset = buildUnset(keys, this.#store.codec);
        return this.#enqueue(async () => {
          const state = await this.#writable({ lostIsFine: true });
          // Nothing is stored under an id this object made and never wrote, nor under a lost one.
          if (keys.length === 0 || state.kind === 'fresh' || state.kind === 'lost') return true;
          await this.#write(state, { $unset });
          return true;
        });
      },
      callback,
      this.#unhandled('del()'),
    );
  }

  /**
   * Deletes the session and clears its cookie. A tombstone stays behind, so a concurrent request
   * still holding the old cookie cannot write the session back. Resolves true.
   */
  end(): CompatPromise<boolean>;
  end(callback: Callback<boolean>): undefined;
  end(callback?: Callback<boolean>): CompatPromise<boolean> | undefined {
    return deliver(
      () => {
        this.#refuseReadOnly();
        return this.#enqueue(() => this.#end());
      },
      callback,
      this.#unhandled('end()'),
    );
  }

  /**
   * Moves the session to a new id: the data carries over, the old id is dead at once (a replay of
   * the old cookie finds nothing; with connect's `regenerateGrace`, it is forwarded to the new
   * session for that window, and a later use is a `replay`) and the new cookie goes out. Call it
   * at login and on any privilege change, against session fixation. Resolves true.
   */
  regenerate(options?: RegenerateOptions): CompatPromise<boolean>;
  regenerate(callback: Callback<boolean>): undefined;
  regenerate(options: RegenerateOptions, callback: Callback<boolean>): undefined;
  regenerate(...args: unknown[]): CompatPromise<boolean> | undefined {
    const [[options], callback] = splitCallback(args);
    return deliver(
      () => {
        const change = regenerateChange(options, this.#store.policy.maxDataBytes, this.#store.codec, this.#store.bson);
        return this.#enqueue(async () => {
          await this.#regenerate(change);
          if (change) await this.#afterUserSet(change.$set);
          return true;
        });
      },
      callback,
      this.#unhandled('regenerate()'),
    );
  }

  /**
   * Makes this session live `ms` instead of connect's `expires` ("remember me", or a shorter
   * session for a sensitive role): from now, and with `rolling` from each use; never past
   * `absoluteTimeout`. The database expiry and the cookie change together, and the lifetime
   * stays with the session (across `regenerate()` too). Creates the session if needed. Resolves true.
   */
  setLifetime(ms: number): CompatPromise<boolean>;
  setLifetime(ms: number, callback: Callback<boolean>): undefined;
  setLifetime(...args: unknown[]): CompatPromise<boolean> | undefined {
    const [[ms], callback] = splitCallback(args, 1);
    return deliver(
      () => {
        const lifetime = checkLifetime(ms);
        return this.#enqueue(async () => {
          // Its dates must be known: the new expiry never passes the session's stored deadline.
          const state = refuseWrites((await this.#writable()).kind === 'unread' ? await this.#settle() : this.#state, false);
          const { policy } = this.#store;
          const now = this.#store.now();
          const known = state.kind === 'live' || state.kind === 'forwarded' ? state.doc : undefined;
          const deadline = known ? deadlineOf(policy, known) : deadlineFrom(policy, now);
          this.#cookieChoice = 'lifetime';
          // The later choice wins over an earlier expire(): the cookie follows the lifetime again.
          const ops = { $set: { lifetime }, $unset: { browserSession: '' as const } };
          await this.#write(state, ops, undefined, expiryFrom(policy, now, deadline, lifetime));
          return true;
        });
      },
      callback,
      this.#unhandled('setLifetime()'),
    );
  }

  /**
   * @internal For `mongosess/express-session`: sets and removes top-level keys in one atomic
   * update (`$set` and `$unset` together), so a request's changes land all or nothing. With
   * nothing to set it is a `del()` (never creates the session). Resolves true.
   */
  update(set: SessionUpdate, del: readonly string[]): Promise<boolean> {
    let write: WriteOps;
    try {
      const { $set, bytes } = buildSet(set, this.#store.policy.maxDataBytes, this.#store.codec, this.#store.bson);
      const $unset = buildUnset(del, this.#store.codec);
      const both = del.find((key) => Object.hasOwn($set, `${DATA_FIELD}.${key}`));
      if (both !== undefined) throw new MongoSessValidationError(`update() both sets and removes ${JSON.stringify(both)}`);
      write = { ...(Object.keys($set).length > 0 ? { $set, bytes } : {}), ...(del.length > 0 ? { $unset } : {}) };
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueue(async () => {
      const { bytes, ...ops } = write;
      const state = await this.#writable({ lostIsFine: !ops.$set });
      if (!ops.$set && (!ops.$unset || state.kind === 'fresh' || state.kind === 'lost')) return true;
      await this.#write(state, ops, bytes);
      if (ops.$set) await this.#afterUserSet(ops.$set);
      return true;
    });
  }

  /**
   * @internal For `mongosess/express-session`: an error of a `req.session` method called without
   * a callback (`req.session.save()`, as connect-flash calls it), which nobody can handle, goes to
   * connect's `warn` as the core's own unhandled errors do, instead of being lost.
   */
  reportUnhandled(operation: string, err: unknown): void {
    const error =
      err instanceof MongoSessError ? err : new MongoSessError(err instanceof Error ? err.message : String(err), { cause: err });
    reportUnhandled(this.#store.warn, operation, error);
  }

  /**
   * @internal For `mongosess/express-session`'s `regenerate()`: ends this session (a tombstone,
   * as `end()`) and carries on under a new id with no data, whose cookie goes out now (or with
   * the first write under `cookieOnFirstWrite`). Resolves true.
   */
  restart(cookieNow: boolean): Promise<boolean> {
    return this.#enqueue(async () => {
      refuseWrites(this.#state, false);
      if (!this.#cookie.writable) throw new MongoSessError(regenerateTooLate(this.#runtime()));
      await this.#end();
      this.#state = this.#startOver(cookieNow);
      return true;
    });
  }

  /**
   * @internal For `mongosess/express-session`'s `adopt`: a request with no session of its own
   * takes over the session `id` (derived from an express-session cookie, so parallel requests
   * with one old cookie derive the same): served if already stored (another request adopted it),
   * else created from `load()`'s data, insert-only, so a parallel adoption never overwrites it.
   * Resolves false where nothing was adopted (this request has a session, `load()` found nothing,
   * the id was ended (adopted, then logged out), or adopted before this request and longer ago
   * than MOVE_GRACE_MS, so a replayed old cookie no longer opens it).
   */
  adopt(id: string, load: () => Promise<Record<string, unknown> | undefined>): Promise<boolean> {
    return this.#enqueue(async () => {
      if (this.#state.kind !== 'fresh' || !isSessionId(id)) return false;
      const { policy } = this.#store;
      const { sessions } = this.#db();
      const digest = this.#digestOf(id);
      // Found: a parallel request adopted it. Only as 0.4 moves forward: during this request or
      // within MOVE_GRACE_MS of it; later the old cookie is dead, whatever it derives.
      const tooLate = (found: SessionDocument) => {
        const adoptedAt = found.createdAt?.getTime() ?? 0;
        return adoptedAt < this.#requestStart && this.#store.now() - adoptedAt > MOVE_GRACE_MS;
      };
      let doc = await sessions.find(digest);
      if (!doc) {
        const data = await load();
        if (data) {
          // Checked and encoded (encrypted) as one set() of the whole data would be, and stored whole.
          const { $set } = buildSet(data, policy.maxDataBytes, this.#store.codec, this.#store.bson);
          const stored = Object.fromEntries(Object.entries($set).map(([path, value]) => [path.slice(DATA_FIELD.length + 1), value]));
          const now = this.#store.now();
          // As a first write stores a session: where it was created from, when it was seen.
          const created: SessionDocument = {
            _id: digest,
            d: stored,
            ...creationTimes(policy, now),
            ...(this.#client ? { client: this.#client } : {}),
            seenAt: new Date(now),
          };
          if (await sessions.insertIfAbsent(created)) {
            doc = created;
            this.#created(digest);
            this.#enter({ kind: 'live', id, doc }, true);
            await this.#afterUserSet($set);
          } else {
            doc = await sessions.find(digest);
          }
        } else {
          // Gone from the old store: a parallel request may have adopted it between the look-up
          // above and this load (and deleted the old document): look again.
          doc = await sessions.find(digest);
        }
      }
      if (!doc || tooLate(doc) || !isLive(policy, doc, this.#store.now())) return false;
      this.#enter({ kind: 'live', id, doc });
      this.#sendCookie(id, doc);
      return true;
    });
  }

  /**
   * @internal For `mongosess/express-session`: the stored data alone (no `_id`, no
   * `createdAt`), from this request's one read; with `again`, read anew (its `reload()`).
   */
  data(again = false): Promise<Record<string, unknown>> {
    return this.#enqueue(async () => {
      const state = this.#state;
      if (again && (state.kind === 'live' || state.kind === 'absent')) {
        const doc = await this.#db().sessions.find(this.#digestOf(state.id));
        this.#enter(await this.#lookedUp(state.id, doc, state.kind === 'live'));
      }
      const settled = await this.#settle();
      switch (settled.kind) {
        case 'live':
        case 'forwarded':
          return this.#store.codec.decode(settled.doc.d ?? {});
        case 'legacyServed':
          return settled.data;
        default:
          return {};
      }
    });
  }

  /**
   * @internal When the session expires, as its cookie says: the stored expiry, or that of a
   * session created now; undefined once it is ended or lost.
   */
  get expiresAt(): Date | undefined {
    const state = this.#state;
    switch (state.kind) {
      case 'live':
      case 'forwarded':
        return state.doc.expiresAt;
      case 'fresh':
      case 'unread':
      case 'absent':
        return this.#newExpiry();
      default:
        return undefined;
    }
  }

  /** @internal The session's lifetime in ms: its own (`setLifetime()`) or connect's `expires`. */
  get lifetime(): number {
    const state = this.#state;
    const doc = state.kind === 'live' || state.kind === 'forwarded' ? state.doc : undefined;
    return lifetimeOf(this.#store.policy, doc);
  }

  /**
   * Makes the cookie a browser-session cookie (no expiry date), in this response and, stored with
   * the session, in later ones (rolling extensions, re-signing) until `setLifetime()`; how long
   * the data lives in the database does not change.
   */
  expire(): void {
    this.#refuseReadOnly();
    const state = this.#state;
    // At once for the cookie's own id (as 0.4 did); a 0.4 id waits for its move, a new id for its
    // first write, and a forwarded, lost or ended session's cookie is another response's.
    const sendsNow =
      state.kind === 'live' || state.kind === 'unread' || state.kind === 'absent' || (state.kind === 'fresh' && state.cookieSent);
    this.#cookie.asBrowserSession(sendsNow ? state.id : undefined);
    this.#cookieChoice = 'browser';
    // Stored in the background (expire() returns nothing to wait on; later calls queue behind it).
    this.#enqueue(() => this.#storeBrowserSession()).catch((err: unknown) => {
      // Nobody can handle it: a MongoSessError goes to warn; anything else (a bug) to Node, as usual.
      if (!(err instanceof MongoSessError)) throw err;
      reportUnhandled(this.#store.warn, 'session.expire()', err);
    });
  }

  /** Stores expire()'s choice with a session already stored (a new one gets it with its first write). */
  async #storeBrowserSession(): Promise<void> {
    const state = this.#state;
    switch (state.kind) {
      case 'live':
      case 'unread':
      case 'absent': {
        if (state.kind === 'live' && state.doc.browserSession) return;
        // Only onto a live session: never creates one, nor touches a gone one.
        const live = liveFilter(this.#store.policy, this.#store.now());
        const doc = await this.#db().sessions.update(this.#digestOf(state.id), { $set: { browserSession: true } }, { live });
        if (doc && this.#state === state && state.kind === 'live') this.#state = { kind: 'live', id: state.id, doc };
        return;
      }
      case 'fresh': // stored with the first write
      case 'legacy': // a 0.4 session moves on first use; its cookie waits for that
      case 'forwarded': // another request moved it, and sets its cookie
      case 'legacyServed':
      case 'lost':
      case 'ended':
        return;
      default:
        return unreachable(state);
    }
  }

  /** Where `operation`'s error goes when nobody handles its promise: connect's `warn`, not an unhandled rejection. */
  #unhandled(operation: string): (err: MongoSessError) => void {
    return (err) => reportUnhandled(this.#store.warn, `session.${operation}`, err);
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    // Nothing queued: start at once (a promise and a microtask less per call); else after the last.
    const run = this.#pending === 0 ? operation() : this.#queue.then(operation);
    this.#pending++;
    this.#queue = run.then(this.#settled, this.#settled);
    return run;
  }

  readonly #settled = (): void => {
    this.#pending--;
  };

  #digestOf(id: SessionId): SessionDigest {
    if (this.#digest?.id !== id) this.#digest = { id, digest: hashSessionId(id) };
    return this.#digest.digest;
  }

  /**
   * The storage this request uses: with `operationTimeout` (a client mongosess made), every call
   * bounded by one budget for the whole request, started at its first database call.
   */
  #db(): { sessions: SessionCollection; legacy: LegacySessions | undefined } {
    if (this.#bounded) return this.#bounded;
    const { sessions, legacy, requestTimeout } = this.#store;
    if (requestTimeout === undefined) return this.#store;
    const budget = new TimeBudget(requestTimeout);
    this.#bounded = { sessions: sessions.within(budget), legacy: legacy?.within(budget) };
    return this.#bounded;
  }

  #judge(): Judge {
    return { policy: this.#store.policy, now: this.#store.now(), requestStart: this.#requestStart };
  }

  #view(state: SessionState): SessionView {
    const { hideId } = this.#store.policy;
    switch (state.kind) {
      case 'live':
      case 'forwarded':
        return withId(
          {
            _id: state.id,
            ...(state.doc.createdAt ? { createdAt: state.doc.createdAt } : {}),
            ...(state.doc.d && this.#store.codec.decode(state.doc.d)),
          },
          state.id,
          hideId,
        );
      case 'legacyServed':
        return withId(
          { _id: state.id, ...(state.times.createdAt ? { createdAt: state.times.createdAt } : {}), ...state.data },
          state.id,
          hideId,
        );
      default:
        return withId({ _id: state.id }, state.id, hideId);
    }
  }

  /** Looks the session up if that has not happened yet (one read per request), and returns its state. */
  async #settle(): Promise<SessionState> {
    const state = this.#state;
    switch (state.kind) {
      case 'unread': {
        const doc = await this.#db().sessions.find(this.#digestOf(state.id));
        // Seen expired (not ended): the app hears of it here, as no request will see it again once removed.
        if (doc && doc.ended !== true && !isLive(this.#store.policy, doc, this.#store.now())) {
          this.#ended(this.#digestOf(state.id), 'expired');
        }
        const found = await this.#lookedUp(state.id, doc, false);
        this.#enter(found);
        if (found.kind !== 'live') return found;
        await this.#touch(found, false);
        // Gone by the touch (expired and removed, ended, moved): the read that found it is still
        // served what it found; from now on the session is lost (writes refused, no cookie).
        return this.#state.kind === 'lost' ? found : this.#state;
      }
      case 'legacy':
        return this.#upgradeLegacy(state.id);
      default:
        return state;
    }
  }

  /** Refuses every write to a read-only session (an upgrade request's: no response to carry a cookie). */
  #refuseReadOnly(): void {
    if (this.#cookie.exchange.kind === 'upgrade') throw new MongoSessReadOnlyError(READ_ONLY);
  }

  /** Whose wording says a write needing a cookie came too late; a read-only session refuses the write outright. */
  #runtime(): keyof typeof TOO_LATE {
    const { kind } = this.#cookie.exchange;
    switch (kind) {
      case 'node':
      case 'fetch':
        return kind;
      case 'upgrade':
        throw new MongoSessReadOnlyError(READ_ONLY);
    }
  }

  /** The state a write starts from (a 0.4 session is moved first); throws where this object may not write. */
  async #writable({ lostIsFine = false } = {}): Promise<SessionState> {
    this.#refuseReadOnly();
    refuseWrites(this.#state, lostIsFine);
    return refuseWrites(this.#state.kind === 'legacy' ? await this.#settle() : this.#state, lostIsFine);
  }

  /**
   * One atomic update of a session's data. A session not known to be stored is created by a
   * `$set` (never recreated once ended or expired). `bytes`, for a `$set`, is the most it adds
   * to the stored data: where the server can, the update only matches while that fits in
   * maxDataBytes (data/size.ts).
   */
  async #write(state: SessionState, ops: WriteOps, bytes?: number, setExpiry?: Date): Promise<void> {
    switch (state.kind) {
      case 'forwarded':
        return this.#writeForwarded(state, ops, bytes, setExpiry);
      case 'fresh':
        // A new id whose cookie has not gone out can no longer get one: its data would be stored
        // under an id no client holds.
        if (!state.cookieSent && !this.#cookie.writable) throw new MongoSessError(newIdTooLate(this.#runtime()));
        break;
      case 'unread':
      case 'absent':
      case 'live':
        break;
      case 'legacy':
      case 'legacyServed':
      case 'lost':
      case 'ended':
        // Never written under this id: callers refuse these first (refuseWrites) or move a 0.4
        // session to a new id before writing.
        return;
      default:
        return unreachable(state);
    }
    const { policy } = this.#store;
    const { sessions } = this.#db();
    const now = this.#store.now();
    const known = state.kind === 'live' ? state.doc : undefined;
    const expiresAt = setExpiry ?? rollingExpiry(policy, now, known);
    const create = ops.$set !== undefined && state.kind !== 'live';
    // expire() before the session was stored: the choice is stored with it.
    if (create && this.#cookieChoice === 'browser') ops = { ...ops, $set: { ...ops.$set, browserSession: true } };
    const { live, guarded } = this.#writeFilter(now, bytes);
    // A rolling write that cannot know the stored lifetime extends by connect's `expires`, so it
    // only matches sessions without a lifetime of their own; the others take the path below.
    const blindRolling = !setExpiry && expiresAt !== undefined && (state.kind === 'unread' || state.kind === 'absent');
    const digest = this.#digestOf(state.id);
    const doc = await sessions.update(digest, ops, {
      live: blindRolling ? { ...live, lifetime: { $exists: false } } : live,
      ...(create ? { insert: { ...creationTimes(policy, now), ...(this.#client ? { client: this.#client } : {}) } } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      seenAt: new Date(now),
      created: () => this.#created(digest),
    });
    if (doc) {
      this.#enter({ kind: 'live', id: state.id, doc }, true);
      if (expiresAt || (state.kind === 'fresh' && !state.cookieSent)) this.#sendCookie(state.id, doc);
      if (!expiresAt && this.#state.kind === 'live') await this.#touch(this.#state, true);
      return;
    }
    // Nothing matched: the session is gone (or, guarded, too large; or, rolling blind, it has a
    // lifetime of its own). Find out which, on this path only.
    const found = await sessions.find(this.#digestOf(state.id));
    const stillLive = found && isLive(policy, found, this.#store.now()) ? found : undefined;
    if (blindRolling && stillLive?.lifetime !== undefined) return this.#write({ kind: 'live', id: state.id, doc: stillLive }, ops, bytes);
    if (guarded && stillLive) throw tooLargeError(policy.maxDataBytes);
    this.#enter(await this.#lookedUp(state.id, found, state.kind === 'live'));
    const next = this.#state;
    // A del on a gone session: the keys are gone either way.
    if (ops.$set === undefined && next.kind !== 'forwarded') return;
    switch (next.kind) {
      case 'forwarded':
        // The old id of a regenerate() within its grace: the write lands on the session it became.
        return this.#writeForwarded(next, ops, bytes, setExpiry);
      case 'fresh':
        // Gone before this request began (ended, regenerated, expired, endAll): the client holds a
        // stale cookie and is a new visitor, as it would be had it read first. Written under a
        // new id (which no document can block), with its cookie.
        return this.#write(next, ops, bytes, setExpiry);
      case 'absent':
        // Removed meanwhile (a sweep of the expired document): a new visitor too.
        this.#state = this.#startOver(false);
        return this.#write(this.#state, ops, bytes, setExpiry);
      case 'lost': // ended or moved by another request while this one ran: the no-resurrection guarantee
      case 'live': // live again, yet the write did not match: refused rather than retried without end
      case 'unread':
      case 'legacy':
      case 'legacyServed':
      case 'ended':
        this.#refused(digest, 'write');
        throw new MongoSessEndedError(GONE);
      default:
        return unreachable(next);
    }
  }

  /**
   * A write to a 0.4 session another request moved (or to a regenerated session through its old
   * id, within `regenerateGrace`): to its new document, by digest, never creating it, and with
   * no cookie (the moving request's response sets the new one).
   */
  async #writeForwarded(
    state: Extract<SessionState, { kind: 'forwarded' }>,
    ops: WriteOps,
    bytes?: number,
    setExpiry?: Date,
  ): Promise<void> {
    const { policy } = this.#store;
    const { sessions } = this.#db();
    const now = this.#store.now();
    const { live, guarded } = this.#writeFilter(now, bytes);
    const expiresAt = setExpiry ?? rollingExpiry(policy, now, state.doc);
    const doc = await sessions.update(state.digest, ops, {
      live,
      ...(expiresAt ? { expiresAt } : {}),
      seenAt: new Date(now),
    });
    if (doc) {
      this.#state = { ...state, doc };
      return;
    }
    const found = await sessions.find(state.digest);
    if (guarded && found && isLive(policy, found, this.#store.now())) throw tooLargeError(policy.maxDataBytes);
    this.#enter({ kind: 'lost', id: state.id });
    if (ops.$set === undefined) return;
    this.#refused(state.digest, 'write');
    throw new MongoSessEndedError(GONE);
  }

  /**
   * The filter a write matches: a live session and, where the server can guard the stored size
   * and the write adds `bytes`, one whose data still has room for them (data/size.ts).
   */
  #writeFilter(now: number, bytes: number | undefined): { live: Record<string, unknown>; guarded: boolean } {
    const { policy, sizeGuard } = this.#store;
    if (!sizeGuard || bytes === undefined) return { live: liveFilter(policy, now), guarded: false };
    return { live: { ...liveFilter(policy, now), ...sizeFilter(DATA_FIELD, policy.maxDataBytes, bytes) }, guarded: true };
  }

  /**
   * Rolling sessions: push expiry (database and cookie) forward when that gains over touchAfter.
   * A cookie signed with an older key, after a read: touch the session anyway, to prove it still
   * live before re-signing (once per client after a rotation). The cookie goes out only for an
   * id proven live by a write of this request (`written`, or the touch matched): a read alone
   * proves nothing about the time after it, and a `regenerate()` that ran since must not have its
   * new cookie replaced by this response's old one.
   */
  async #touch(state: Extract<SessionState, { kind: 'live' }>, written: boolean): Promise<void> {
    const { policy } = this.#store;
    const { sessions } = this.#db();
    // An upgrade request's session is read-only: no response would carry the cookie.
    if (this.#cookie.exchange.kind === 'upgrade') return;
    const now = this.#store.now();
    const target = policy.rolling ? touchTarget(policy, state.doc, now) : undefined;
    // No proof is needed where a write proved it, nor spent where no cookie can go out any more.
    const resign = this.#resign && !written && this.#cookie.writable;
    if (target || resign) {
      const matched = await sessions.touch(this.#digestOf(state.id), liveFilter(policy, now), new Date(now), target);
      if (!matched) {
        // Ended or moved since it was read: the cookie now belongs to another request's response.
        // Moved by a regenerate() with a grace window: the rest of this request follows it there.
        const grace = this.#store.devices.regenerateGrace > 0;
        const found = grace ? await sessions.find(this.#digestOf(state.id)) : null;
        this.#enter(grace ? await this.#lookedUp(state.id, found, true) : { kind: 'lost', id: state.id });
        return;
      }
      if (target) state.doc.expiresAt = target;
      // The cookie sent below is signed with the newest key.
      this.#resign = false;
    } else if (!written || !policy.rolling) {
      // Nothing to extend: the cookie the client holds already expires with the session.
      return;
    }
    this.#sendCookie(state.id, state.doc);
  }

  async #end(): Promise<boolean> {
    const state = this.#state;
    const { policy } = this.#store;
    const { sessions, legacy } = this.#db();
    switch (state.kind) {
      case 'lost':
        // Another request ended or moved it, and set the cookie; if it moved it, that session ends too.
        if (isSessionId(state.id)) await this.#endMovedRecently(await sessions.find(this.#digestOf(state.id)), this.#store.now());
        else await legacy?.end(sessions, state.id, this.#store.now(), this.#requestStart);
        return true;
      case 'forwarded':
        if (isSessionId(state.id)) {
          // The old id of a regenerate(), within its grace: the end wins over the move, so the
          // session it became ends (and any it moved on to since). The old id stays a tombstone.
          const now = this.#store.now();
          const before = await sessions.end(state.digest, tombstoneTimes(policy, now, true));
          if (before && isLive(policy, before, now)) this.#ended(state.digest, 'end');
          await this.#endMovedRecently(before, now);
          break;
        }
        await legacy?.end(sessions, state.id, this.#store.now(), this.#requestStart);
        break;
      case 'legacy':
      case 'legacyServed':
        await legacy?.end(sessions, state.id, this.#store.now(), this.#requestStart);
        break;
      case 'unread':
      case 'absent':
      case 'live': {
        const now = this.#store.now();
        const digest = this.#digestOf(state.id);
        // A session this request never saw live may never have held data: if so, its tombstone
        // only needs to outlive requests already in flight.
        const before = await sessions.end(digest, tombstoneTimes(policy, now, state.kind !== 'absent'));
        if (state.kind === 'unread' && !before?.ended && !(before?.d && isLive(policy, before, now))) {
          await sessions.keepTombstoneUntil(digest, tombstoneExpiry(policy, now, false));
        }
        if (before && isLive(policy, before, now)) this.#ended(digest, 'end');
        const use = oldIdUse(before, { policy, now, requestStart: this.#requestStart }, this.#store.devices.regenerateGrace);
        // After the window it is a replay (reported); within MOVE_GRACE_MS an end still wins over the move.
        if (use?.kind === 'replay') await this.#replayed(digest, use.to);
        await this.#endMovedRecently(before, now);
        break;
      }
      case 'fresh':
      case 'ended':
        break;
      default:
        return unreachable(state);
    }
    this.#state = { kind: 'ended', id: state.id };
    this.#cookie.clear();
    return true;
  }

  /**
   * An end() racing a regenerate() always wins, as it does for 0.4 sessions: if the id was moved
   * during this request or within MOVE_GRACE_MS (a logout the browser sent in parallel with a
   * login), or within connect's longer `regenerateGrace`, the session it moved to, and any it
   * moved on to since, is ended too.
   */
  async #endMovedRecently(before: SessionDocument | null, now: number): Promise<void> {
    const { policy } = this.#store;
    const { sessions } = this.#db();
    const grace = Math.max(MOVE_GRACE_MS, this.#store.devices.regenerateGrace);
    for (let hops = 0, at = before; hops < MAX_MOVES_FOLLOWED && at?.movedTo && movedRecently(at, now, this.#requestStart, grace); hops++) {
      at = await sessions.end(at.movedTo, tombstoneTimes(policy, now, true));
    }
  }

  /**
   * The state a look-up of the cookie's `id` leaves (session/state.ts `afterLookup`), where the
   * id may be the old one of a `regenerate()` (connect's `regenerateGrace`): within the window the
   * request is forwarded to the session it became; after it, it is a replay, and starts over.
   */
  async #lookedUp(id: SessionId, doc: SessionDocument | null, seenLive: boolean): Promise<SessionState> {
    const judge = this.#judge();
    const use = oldIdUse(doc, judge, this.#store.devices.regenerateGrace);
    if (use?.kind === 'replay') {
      await this.#replayed(this.#digestOf(id), use.to);
      return freshSession(false);
    }
    if (use?.kind === 'forward') {
      const forwarded = await this.#followMoves(use.to, judge);
      if (forwarded) return { kind: 'forwarded', id, digest: forwarded._id, doc: forwarded };
    }
    // Not forwarded (its new session ended since: an end() always wins) or no move at all.
    return afterLookup(id, doc, judge, seenLive);
  }

  /**
   * The live session at the end of a chain of moves from `digest` (a regenerate() of a session
   * moved on again): each further move followed only within its own grace. Undefined when the
   * chain ends in an ended, expired or missing session.
   */
  async #followMoves(digest: SessionDigest, judge: Judge): Promise<SessionDocument | undefined> {
    const { sessions } = this.#db();
    const grace = this.#store.devices.regenerateGrace;
    let at = await sessions.find(digest);
    for (let hops = 0; hops < MAX_MOVES_FOLLOWED && at; hops++) {
      if (isLive(judge.policy, at, judge.now)) return at;
      const next = oldIdUse(at, judge, grace);
      if (next?.kind !== 'forward') return undefined;
      at = await sessions.find(next.to);
    }
    return undefined;
  }

  /**
   * The old id of a regenerate() (`from`, which moved to `to`), used after its grace window:
   * the `replay` event, and with `onReplay: 'endAll'` the end of every session of the user
   * whose session it became. The request itself goes on with a fresh, empty session.
   */
  async #replayed(from: SessionDigest, to: SessionDigest): Promise<void> {
    const { events, devices, codec, policy } = this.#store;
    const endAllOfUser = devices.onReplay === 'endAll' && devices.userKey !== undefined;
    if (!endAllOfUser && !events.heard('replay')) return;
    // Where the session is now: the end of its chain of moves, whenever they were.
    const { sessions } = this.#db();
    const now = this.#store.now();
    let at = await sessions.find(to);
    for (let hops = 0; hops < MAX_MOVES_FOLLOWED && at?.ended && at.movedTo; hops++) at = await sessions.find(at.movedTo);
    const live = at && isLive(policy, at, now) ? at : undefined;
    if (events.heard('replay')) events.emit('replay', { handle: handleOf(from), to: live && handleOf(live._id) });
    if (!endAllOfUser || !live || devices.userKey === undefined) return;
    const user = codec.decode(live.d ?? {})[devices.userKey];
    if (user === undefined || user === null) return;
    try {
      await endAll(this.#store, { [devices.userKey]: user });
    } catch (err) {
      // The replayed request itself is served (a fresh session); the failure is the app's to hear.
      events.reportError(err as Error, "ending the sessions of a replayed id's user (onReplay: 'endAll')");
    }
  }

  /**
   * regenerate() through the old id of a regenerate() within its grace (a login sent twice, two
   * tabs): the session has its new id already, whose cookie the other request's response carries.
   * Moving it again would leave one of the two responses' cookies on a dead id (a replay once the
   * window passes); only the data is written, there, and no cookie goes out.
   */
  async #regenerated(
    state: Extract<SessionState, { kind: 'forwarded' }>,
    change: { $set: Record<string, unknown>; bytes: number } | undefined,
  ): Promise<boolean> {
    this.#enter(state);
    if (change) await this.#write(state, { $set: change.$set }, change.bytes);
    return true;
  }

  /** `change`, when given (`regenerate({ set })`), is stored with the new id in the same write that creates it. */
  async #regenerate(change?: { $set: Record<string, unknown>; bytes: number }): Promise<boolean> {
    const $set = change?.$set;
    this.#refuseReadOnly();
    refuseWrites(this.#state, false);
    if (!this.#cookie.writable) throw new MongoSessError(regenerateTooLate(this.#runtime()));
    const wasLegacy = this.#state.kind === 'legacy';
    // Whatever happens, the old id's cookie is not re-signed: a new one replaces it, or another
    // request moved or ended the session. Nor is its read then followed by a touch to prove it.
    this.#resign = false;
    const state = refuseWrites(await this.#settle(), false);
    const { policy } = this.#store;
    const { sessions } = this.#db();
    const now = this.#store.now();
    const grace = this.#store.devices.regenerateGrace;
    if (state.kind === 'forwarded' && isSessionId(state.id)) return this.#regenerated(state, change);
    if (state.kind === 'live' && wasLegacy) {
      // Moving a 0.4 session to a fresh id was the regeneration; only the data is left to store.
      if (change) await this.#write(state, { $set: change.$set }, change.bytes);
      return true;
    }
    if (state.kind === 'live' || state.kind === 'forwarded') {
      const oldDigest = state.kind === 'live' ? this.#digestOf(state.id) : state.digest;
      if ($set) checkDataSize(applySet(state.doc.d ?? {}, $set), policy.maxDataBytes, this.#store.bson);
      const source = {
        times: state.doc,
        deadline: deadlineOf(policy, state.doc),
        data: state.doc.d ?? {},
        ...($set ? { change: (data: Record<string, unknown>) => applySet(data, $set) } : {}),
      };
      const moved = await moveToNewId(sessions, policy, now, source, {
        run: async (newDigest) => {
          // Never over a tombstone: a regenerate() that lost the race must not point the winner's
          // forwarding (movedTo) at its own copy, which it is about to discard.
          const tombstone = { ...tombstoneTimes(policy, now, true), movedTo: newDigest };
          const old = await sessions.endOne({ _id: oldDigest, ended: { $ne: true } }, tombstone);
          return old && isLive(policy, old, now) ? (old.d ?? {}) : null;
        },
        landed: async (newDigest) => (await sessions.recheck(oldDigest))?.movedTo === newDigest,
      });
      if (!moved) {
        // Another regenerate() moved it meanwhile, within a grace window: as if forwarded before.
        const next = state.kind === 'live' && grace > 0 ? await this.#lookedUp(state.id, await sessions.find(oldDigest), true) : undefined;
        if (next?.kind === 'forwarded') return this.#regenerated(next, change);
        // Another request ended or moved it meanwhile: its data is gone, and its cookie is theirs.
        this.#enter({ kind: 'lost', id: state.id });
        this.#refused(oldDigest, 'regenerate');
        throw new MongoSessEndedError(GONE);
      }
      this.#state = { kind: 'live', id: moved.id, doc: moved.doc };
      this.#sendCookie(moved.id, moved.doc);
      this.#ended(oldDigest, 'regenerate');
      if (this.#store.events.heard('regenerated')) {
        this.#store.events.emit('regenerated', { from: handleOf(oldDigest), to: handleOf(moved.doc._id) });
      }
      return true;
    }
    // Nothing stored: still kill the id (it may have been planted) and issue a new one.
    if (state.kind === 'absent') await sessions.end(this.#digestOf(state.id), tombstoneTimes(policy, now, false));
    this.#state = this.#startOver(true);
    // The new session is created with the data by its first write, before anyone knows its id.
    if (change) await this.#write(this.#state, { $set: change.$set }, change.bytes);
    return true;
  }

  /** `maxSessionsPerUser`: once this session gained a user (connect's `userKey` in `$set`), end that user's oldest sessions. */
  async #afterUserSet($set: Record<string, unknown>): Promise<void> {
    const { userKey, maxSessionsPerUser } = this.#store.devices;
    const state = this.#state;
    if (userKey === undefined || maxSessionsPerUser === 0 || state.kind !== 'live') return;
    const path = `${DATA_FIELD}.${userKey}`;
    const segments = userKey.split('.');
    // The user came with this write: its path, or one above it (`set({ passport: { user } })`,
    // as Passport through the express-session middleware writes it, for userKey 'passport.user').
    const gained = Object.keys($set).some((key) => {
      const written = key.slice(DATA_FIELD.length + 1).split('.');
      return written.length <= segments.length && written.every((segment, i) => segment === segments[i]);
    });
    if (!gained) return;
    const user = Object.hasOwn($set, path) ? $set[path] : readPath(state.doc.d ?? {}, segments);
    if (user === undefined) return;
    try {
      await enforceUserLimit(this.#store, handleOf(this.#digestOf(state.id)), user);
    } catch (err) {
      // The user was stored: the write succeeded. The limit's failure is the app's to hear, not this request's.
      this.#store.events.reportError(err as Error, 'ending sessions over maxSessionsPerUser');
    }
  }

  // The events of one session, by its handle: computed (a hash) only when someone listens.
  #created(digest: SessionDigest): void {
    const { events } = this.#store;
    if (events.heard('created')) events.emit('created', { handle: handleOf(digest) });
  }

  #ended(digest: SessionDigest, reason: 'end' | 'regenerate' | 'expired'): void {
    const { events } = this.#store;
    if (events.heard('ended')) events.emit('ended', { reason, handle: handleOf(digest) });
  }

  #refused(digest: SessionDigest, operation: RefusedOperation): void {
    const { events } = this.#store;
    if (events.heard('refused')) events.emit('refused', { handle: handleOf(digest), operation });
  }

  /**
   * First use of a 0.4 cookie: the session moves to a fresh id (or, after the headers, is served
   * in place). A failed look-up leaves the 0.4 state, so a retry looks again.
   */
  async #upgradeLegacy(id: Extract<SessionState, { kind: 'legacy' }>['id']): Promise<SessionState> {
    const { legacy, sessions } = this.#db();
    const outcome = legacy
      ? await legacy.upgrade(sessions, id, this.#store.now, { start: this.#requestStart, signed: this.#signed }, this.#cookie.writable)
      : { kind: 'gone' as const };
    switch (outcome.kind) {
      case 'gone':
        this.#state = this.#startOver(false);
        break;
      case 'served':
        this.#state = { kind: 'legacyServed', id, data: outcome.data, times: outcome.times };
        break;
      case 'moved':
        this.#state = { kind: 'live', id: outcome.moved.id, doc: outcome.moved.doc };
        this.#sendCookie(outcome.moved.id, outcome.moved.doc);
        break;
      case 'forwarded':
        this.#state = { kind: 'forwarded', id, digest: outcome.digest, doc: outcome.doc };
        break;
      case 'movedAway':
        this.#enter({ kind: 'lost', id });
        break;
      default:
        return unreachable(outcome);
    }
    return this.#state;
  }

  /**
   * Moves to `next`. Entering `lost` takes back any session cookie this response was going to
   * send (a rolling read's extension, a re-signing): another request has just set the cookie.
   * `proven`: a write of this request has just matched `next` live, so an older-key cookie is
   * re-signed now. A read alone never re-signs: a regenerate() may have run since it.
   */
  #enter(next: SessionState, proven = false): void {
    this.#state = next;
    if (next.kind === 'lost') this.#cookie.withdraw();
    if (proven && this.#resign && next.kind === 'live') {
      this.#resign = false;
      this.#sendCookie(next.id, next.doc);
    }
  }

  /**
   * A fresh, empty session under a new id, because there was none or the cookie's is gone. Its
   * cookie goes out now, or with the first write.
   */
  #startOver(sendCookie: boolean): SessionState {
    // After the headers no cookie can go out: the state says so, and a write is then refused.
    const sends = sendCookie && this.#cookie.writable;
    const state = freshSession(sends);
    if (sends) this.#cookie.send(state.id, this.#store.now(), this.#newExpiry());
    return state;
  }

  /**
   * Sends the cookie of a stored session, as the session's own choice says: a browser-session
   * cookie after expire(); expiring with the session when it has a lifetime of its own
   * (setLifetime(), "remember me"), whatever the per-request `expires` says; else as `expires`
   * says (by default, expiring with the session).
   */
  #sendCookie(id: SessionId, doc: SessionDocument): void {
    const choice = this.#cookieChoice ?? (doc.browserSession ? 'browser' : doc.lifetime !== undefined ? 'lifetime' : undefined);
    if (choice === 'browser') {
      this.#cookie.asBrowserSession(id);
      return;
    }
    const now = this.#store.now();
    const expiry = doc.expiresAt ?? this.#newExpiry();
    // The request's cookie follows `expires` (and, after expire() in this request, stays a
    // browser-session one); a lifetime of the session's own overrides both.
    const overridden = choice === 'lifetime' && (this.#expiresOption !== undefined || this.#cookieChoice === 'lifetime');
    if (overridden) this.#cookie.sendUntil(id, expiry);
    else this.#cookie.send(id, now, expiry);
  }

  /** When a session created now would expire: the cookie's expiry before anything is stored. */
  #newExpiry(): Date {
    const { policy } = this.#store;
    const now = this.#store.now();
    return expiryFrom(policy, now, deadlineFrom(policy, now));
  }
}

/** Throws where a session in `state` may not be written; returns the state otherwise. */
function refuseWrites(state: SessionState, lostIsFine: boolean): SessionState {
  switch (state.kind) {
    case 'ended':
      throw new MongoSessEndedError(ENDED_HERE);
    case 'lost':
      if (lostIsFine) return state;
      throw new MongoSessEndedError(GONE);
    case 'legacyServed':
      throw new MongoSessError(LEGACY_AFTER_HEADERS);
    default:
      return state;
  }
}

/** A lifetime given to setLifetime(): a positive number of ms that gives a valid date. */
function checkLifetime(ms: unknown): number {
  if (typeof ms !== 'number') throw new MongoSessValidationError(`setLifetime() takes a number of ms, got: ${typeof ms}`);
  try {
    // The rule of every duration option; refused here as bad input, not configuration.
    return milliseconds('setLifetime() ms', ms, 0, { allowZero: false });
  } catch (err) {
    throw new MongoSessValidationError((err as Error).message);
  }
}

/** Makes a switch exhaustive: a new state or outcome kind not handled is a compile error. */
function unreachable(value: never): never {
  throw new Error(`mongosess: unhandled case ${JSON.stringify(value)}`);
}

/**
 * The whole session as get() gives it. `_id` is the session id, an ordinary property as in 0.4
 * (whose apps and tests send `JSON.stringify(session)` and read its `_id`); with `hideId` it is
 * not enumerable, so `res.json(await session.get())`, a spread or a log line cannot hand the
 * cookie to page scripts. It comes first (`data` starts with it) and is always the cookie's id,
 * whatever the stored data holds.
 */
function withId(data: { _id: string } & Record<string, unknown>, id: string, hide: boolean): SessionView {
  Object.defineProperty(data, '_id', { value: id, enumerable: !hide, writable: true, configurable: true });
  return data as SessionView;
}

/** What `regenerate()` takes. */
export interface RegenerateOptions {
  /**
   * Data to store with the new id, in the same write that creates it (login: `{ set: { userId } }`),
   * so that no request sees the new id without it, nor the old id with it. As `set()` takes it.
   */
  set?: SessionUpdate;
}
