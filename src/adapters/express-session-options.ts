// The options of `mongosess/express-session`: express-session's names, mapped onto mongosess's
// per-request options. Options whose job mongosess does elsewhere (a connect-mongo `store`, `rolling`,
// `cookie.maxAge`, `genid`) are refused with a message that says where it went. Errors are the
// main entry's classes (this entry is bundled apart from it), so `instanceof` works.
import MongoSess from 'mongosess';
import { resolveAdoption, type Adoption, type AdoptOptions } from './express-session-adopt.js';
import type { MongoSessStore, SessionOptions } from './framework-types.js';

/** The cookie's SameSite attribute, as express-session spells it. */
export type SameSite = 'lax' | 'strict' | 'none';

/** The `cookie` option: the attributes of the session cookie. */
export interface ExpressSessionCookieOptions {
  /**
   * The HttpOnly attribute.
   * @default true
   */
  httpOnly?: boolean;
  /**
   * The Secure attribute; `'auto'` sets it when the request came over TLS (or, with `proxy`,
   * when `X-Forwarded-Proto` says https).
   * @default 'auto'
   */
  secure?: boolean | 'auto';
  /**
   * The SameSite attribute: `true` is `'strict'`, `false` leaves it out.
   * @default 'lax' (express-session leaves it out)
   */
  sameSite?: boolean | SameSite;
  /**
   * The Path attribute.
   * @default '/'
   */
  path?: string;
  /**
   * The Domain attribute.
   * @default undefined (host-only cookie)
   */
  domain?: string;
}

/** Options of `session(options)` from `mongosess/express-session`. */
export interface ExpressSessionOptions {
  /**
   * Name of the session cookie (its signature travels in `<name>.sig`).
   * @default 'sess'
   */
  name?: string;
  /**
   * Secret(s) that sign the cookie, newest first; older ones still verify and are re-signed.
   * mongosess's own `keys` (secrets or a Keygrip) may be given instead.
   * @default undefined (unsigned cookies)
   */
  secret?: string | readonly string[];
  /**
   * mongosess's spelling of `secret`: secrets (newest first) or a Keygrip.
   * @default undefined
   */
  keys?: SessionOptions['keys'];
  /**
   * The cookie's attributes. Its lifetime is the session's: `MongoSess.connect({ expires })`, or
   * per session `req.session.cookie.maxAge = ms`.
   * @default {}
   */
  cookie?: ExpressSessionCookieOptions;
  /**
   * `false`: a new visitor's cookie goes out only once something is stored in the session.
   * `true`: with the first response (the session is still stored only once it holds data).
   * @default false (express-session's default is true)
   */
  saveUninitialized?: boolean;
  /**
   * Accepted for express-session compatibility, and has no effect: only changed keys are ever
   * written. Keeping sessions alive is `MongoSess.connect({ rolling, touchAfter })`.
   * @default false
   */
  resave?: boolean;
  /**
   * Trust `X-Forwarded-Proto` for `cookie.secure: 'auto'`.
   * @default false
   */
  proxy?: boolean;
  /**
   * What `req.session = null` (or `delete req.session`) does: `'keep'` leaves the stored session
   * as it was (this request's changes are dropped); `'destroy'` ends it at the end of the response.
   * @default 'keep'
   */
  unset?: 'keep' | 'destroy';
  /**
   * Switching from express-session + connect-mongo: a request with a live express-session cookie
   * (signed by `secret`) and no mongosess session moves into mongosess on first use (new id and
   * cookie, its data, the old document deleted, the old cookie cleared). See MIGRATING.md.
   * @default undefined (express-session cookies are ignored)
   */
  adopt?: AdoptOptions;
  /**
   * The store the sessions are kept in: a `MongoSessStore` (its own collection, lifetime and
   * connection). Not express-session's `store` (connect-mongo and the like), which mongosess replaces.
   * @default MongoSess's default store (`MongoSess.connect()`)
   */
  store?: MongoSessStore;
}

/** The options, checked, and the mongosess options they map to. */
export interface MiddlewareConfig {
  /** Passed to `new MongoSess(req, res, options)` (the same object every request: it is resolved once). */
  readonly session: SessionOptions;
  readonly saveUninitialized: boolean;
  readonly unset: 'keep' | 'destroy';
  readonly adopt: Adoption | undefined;
  /** Where sessions come from: `store.session(req, res, options)`, or MongoSess's default store. */
  readonly store: MongoSessStore | undefined;
  readonly cookie: { httpOnly: boolean; secure: boolean | 'auto'; sameSite: SameSite | false; path: string; domain: string | undefined };
}

/** Where each refused express-session option's job is done in mongosess. */
const REFUSED: Record<string, string> = {
  rolling: 'rolling sessions are MongoSess.connect({ rolling: true, touchAfter })',
  genid: 'session ids are made by mongosess (256 random bits, stored hashed); remove genid',
};

const KNOWN = ['name', 'secret', 'keys', 'cookie', 'saveUninitialized', 'resave', 'proxy', 'unset', 'adopt', 'store'];
const STORE_REFUSED =
  'mongosess is the store: remove store (connect-mongo) and call MongoSess.connect({ uri }) once at startup, ' +
  'or pass a MongoSessStore (new MongoSessStore({ uri, collection }))';
const COOKIE_KNOWN = ['httpOnly', 'secure', 'sameSite', 'path', 'domain'];
const COOKIE_LIFETIME =
  'the session lifetime is MongoSess.connect({ expires }) (the cookie expires with the session), or per session ' +
  'req.session.cookie.maxAge = ms; remove cookie.maxAge / cookie.expires from the middleware options';

function fail(message: string): never {
  throw new MongoSess.MongoSessConfigError(`mongosess/express-session: ${message}`);
}

function check<T>(name: string, value: unknown, ok: (value: unknown) => boolean, expected: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!ok(value)) fail(`${name} must be ${expected}, got: ${value === null ? 'null' : typeof value}`);
  return value as T;
}

const isBoolean = (value: unknown): boolean => typeof value === 'boolean';
const isString = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

export function resolveMiddlewareOptions(input: unknown): MiddlewareConfig {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) fail('options must be an object');
  const options = (input ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    const refused = REFUSED[key];
    if (refused) fail(`the ${key} option is not supported: ${refused}`);
    if (!KNOWN.includes(key)) fail(`unknown option "${key}"; the options are: ${KNOWN.join(', ')}`);
  }
  const store = options['store'];
  if (store !== undefined && !(store instanceof MongoSess.MongoSessStore)) fail(`the store option is not supported: ${STORE_REFUSED}`);
  const cookie = (options['cookie'] ?? {}) as Record<string, unknown>;
  if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) fail('cookie must be an object');
  for (const key of Object.keys(cookie)) {
    if (key === 'maxAge' || key === 'expires') fail(COOKIE_LIFETIME);
    if (!COOKIE_KNOWN.includes(key)) fail(`unknown cookie option "${key}"; the cookie options are: ${COOKIE_KNOWN.join(', ')}`);
  }

  const secret = options['secret'];
  const keys = options['keys'];
  if (secret !== undefined && keys !== undefined) fail('give secret or keys, not both');
  let signing: SessionOptions['keys'];
  if (secret !== undefined) {
    const list = typeof secret === 'string' ? [secret] : secret;
    if (!Array.isArray(list) || list.length === 0 || !list.every(isString)) fail('secret must be a non-empty string or array of strings');
    signing = list as string[];
  } else {
    signing = keys as SessionOptions['keys'];
  }

  const secure = check<boolean | 'auto'>(
    'cookie.secure',
    cookie['secure'],
    (v) => isBoolean(v) || v === 'auto',
    "true, false or 'auto'",
    'auto',
  );
  const rawSameSite = check<boolean | SameSite>(
    'cookie.sameSite',
    cookie['sameSite'],
    (v) => isBoolean(v) || v === 'lax' || v === 'strict' || v === 'none',
    "true, false, 'lax', 'strict' or 'none'",
    'lax',
  );
  const sameSite: SameSite | false = rawSameSite === true ? 'strict' : rawSameSite;
  const httpOnly = check('cookie.httpOnly', cookie['httpOnly'], isBoolean, 'true or false', true);
  const path = check('cookie.path', cookie['path'], isString, 'a non-empty string', '/');
  const domain = check<string | undefined>('cookie.domain', cookie['domain'], isString, 'a non-empty string', undefined);
  const saveUninitialized = check('saveUninitialized', options['saveUninitialized'], isBoolean, 'true or false', false);
  check('resave', options['resave'], isBoolean, 'true or false', false);
  const proxy = check('proxy', options['proxy'], isBoolean, 'true or false', false);
  const unset = check<'keep' | 'destroy'>('unset', options['unset'], (v) => v === 'keep' || v === 'destroy', "'keep' or 'destroy'", 'keep');
  const name = check<string | undefined>('name', options['name'], isString, 'a non-empty string', undefined);
  const adopt = resolveAdoption(options['adopt']);
  if (adopt && adopt.name === (name ?? 'sess')) {
    fail(`adopt.name and name are both "${adopt.name}": give the mongosess cookie another name, so the two cookies can coexist`);
  }

  const session: SessionOptions = {
    ...(name !== undefined ? { cookieName: name } : {}),
    ...(signing !== undefined ? { keys: signing } : {}),
    cookieOnFirstWrite: !saveUninitialized,
    ...(secure === 'auto' ? {} : { secure }),
    trustProxy: proxy,
    httpOnly,
    sameSite,
    path,
    ...(domain !== undefined ? { domain } : {}),
  };
  return { session, saveUninitialized, unset, adopt, store, cookie: { httpOnly, secure, sameSite, path, domain } };
}
