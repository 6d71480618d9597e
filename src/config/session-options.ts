import Keygrip from 'keygrip';
import { MongoSessConfigError } from '../edge/errors.js';
import { warnIfUnsignedInProduction } from './unsigned-warning.js';
import {
  boolean,
  describe,
  fail,
  milliseconds,
  nonEmptyString,
  oneOf,
  option,
  raw,
  readOptions,
  type OptionSpec,
} from './validate-option.js';

/** The cookie's SameSite attribute (`'none'` implies Secure). */
export type SameSite = 'lax' | 'strict' | 'none';
/** The HMAC hash that signs the cookie with `keys`. `'sha1'` is what mongosess 0.4 (Keygrip's default) used. */
export type SignatureAlgorithm = 'sha256' | 'sha512' | 'sha1';
/** The cookie's Priority attribute (a Chromium extension: which cookies are evicted last when a domain has too many). */
export type CookiePriority = 'low' | 'medium' | 'high';

/**
 * Signs cookie data and says which key (0 = newest) made a signature, -1 for none: the shape of a
 * Keygrip, described here so that the published types need no `@types/keygrip`.
 */
export interface CookieSigner {
  /** The signature of `data` with the newest key. */
  sign(data: string): string;
  /** Which key made `signature` for `data`: 0 for the newest, -1 for none. */
  index(data: string, signature: string): number;
}

/** Options of `new MongoSess(req, res, options)`: how the session cookie is read and written. */
export interface SessionOptions {
  /**
   * Name of the session cookie. A `__Host-` name forces Secure, Path=/ and no Domain;
   * a `__Secure-` name forces Secure.
   * @default 'sess'
   */
  cookieName?: string;
  /**
   * Secrets that sign the cookie (newest first), or a Keygrip. With keys the signature travels
   * in a `<cookieName>.sig` cookie; a bad signature means a new session; a cookie signed with an
   * older key is accepted and re-signed with the newest once the request proves its session still
   * live (a write, or after a read one guarded touch: one more command, once per client).
   * @default undefined (unsigned cookies)
   */
  keys?: readonly (string | Buffer)[] | CookieSigner;
  /**
   * HMAC hash for signatures made from `keys` (ignored when `keys` is a Keygrip). Cookies signed
   * with Keygrip's SHA-1 default (as by mongosess 0.4) are still accepted, and re-signed.
   * @default 'sha256'
   */
  signatureAlgorithm?: SignatureAlgorithm;
  /**
   * Cookie lifetime in ms; `0` makes a browser-session cookie. Without it the cookie follows the
   * session: it expires when the session does in the database (connect's `expires`, a
   * per-session `setLifetime()`, rolling extensions, `absoluteTimeout`).
   * @default undefined (the session's own expiry)
   */
  expires?: number;
  /**
   * Send a new visitor's cookie only with the session's first write, like express-session's
   * `saveUninitialized: false`: responses to visitors who store nothing carry no cookie, so they
   * stay cacheable (health checks, static pages) and set nothing before consent. `false` sends
   * it on first contact, as mongosess 0.4 did.
   * @default false
   */
  cookieOnFirstWrite?: boolean;
  /**
   * Also accept cookies signed with SHA-1 by the same keys, as mongosess 0.4 (Keygrip's default)
   * signed them; each is re-signed with `signatureAlgorithm` on first use. Set `false` once the
   * migration from 0.4 is done. (With `signatureAlgorithm: 'sha1'` SHA-1 is the algorithm itself.)
   * @default true
   */
  legacySignatures?: boolean;
  /**
   * Force the Secure attribute on (`true`) or off (`false`).
   * @default undefined: Secure when the request came over TLS (or, with `trustProxy`, when
   * `X-Forwarded-Proto` says https)
   */
  secure?: boolean;
  /**
   * Believe the `X-Forwarded-Proto` header when deciding Secure. Only behind a proxy that sets it.
   * When the header holds several values (a proxy appended, or it came in several lines), the
   * first one counts: it is the scheme the browser used at the proxy nearest to it, as Express's
   * `req.protocol` and Koa's `ctx.protocol` read it (`https, http` is Secure, `http, https` is
   * not). A client can only claim a scheme for its own cookie this way; if your edge proxy keeps
   * a client's header, make it overwrite `X-Forwarded-Proto`, or set `secure: true`.
   * @default false
   */
  trustProxy?: boolean;
  /**
   * The HttpOnly attribute: keeps the cookie away from page scripts.
   * @default true
   */
  httpOnly?: boolean;
  /**
   * The SameSite attribute; `false` leaves it out. `'none'` implies Secure.
   * @default 'lax'
   */
  sameSite?: SameSite | false;
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
  /**
   * The Partitioned attribute (CHIPS): a cookie set while your site is embedded in another
   * (an iframe) is kept apart for each top-level site, so it works where third-party cookies
   * are blocked, and cannot track a visitor across sites. Implies Secure. Usually with
   * `sameSite: 'none'` and a `__Host-` name.
   * @default false
   */
  partitioned?: boolean;
  /**
   * The Priority attribute (`'low'`, `'medium'` or `'high'`): which cookies Chrome evicts last
   * when a site holds too many. Other browsers ignore it.
   * @default undefined (no attribute: the browser's default, medium)
   */
  priority?: CookiePriority;
  /**
   * Carry the session id in this request header instead of a cookie, for API and mobile clients
   * that keep no cookies (a lower-case header name such as `'x-session-id'`). The id is read from
   * the request's header and sent in the response's header of the same name whenever a cookie
   * would be (a new session, `regenerate()`, a rolling extension); `end()` sends it empty. With
   * `keys` it is signed as the cookie is: `<id>.<signature>`, and a bad signature means a new
   * session. No cookie is read or set. A browser page reading it from another origin needs
   * `Access-Control-Expose-Headers` naming it.
   * @default undefined (the id travels in the cookie)
   */
  header?: string;
}

/**
 * Every per-request option: its default and its check, tied to SessionOptions by the compiler;
 * the known names, defaults and checks derive from it. Rules between options follow in
 * `resolveFresh`.
 */
export const SESSION_OPTIONS = {
  cookieName: option('sess', nonEmptyString),
  keys: raw<SessionOptions['keys']>(),
  signatureAlgorithm: option<SignatureAlgorithm>('sha256', (name, value, fallback) =>
    oneOf(name, value, ['sha256', 'sha512', 'sha1'] as const, fallback),
  ),
  expires: option<number | undefined>(undefined, (name, value) => (value === undefined ? undefined : milliseconds(name, value, 0))),
  cookieOnFirstWrite: option(false, boolean),
  legacySignatures: option(true, boolean),
  secure: option<boolean | undefined>(undefined, (name, value) => (value === undefined ? undefined : boolean(name, value, false))),
  trustProxy: option(false, boolean),
  httpOnly: option(true, boolean),
  sameSite: option<SameSite | false>('lax', (name, value, fallback) =>
    value === false ? false : oneOf(name, value, ['lax', 'strict', 'none'] as const, fallback || 'lax'),
  ),
  path: option('/', nonEmptyString),
  domain: option<string | undefined>(undefined, (name, value) => (value === undefined ? undefined : nonEmptyString(name, value, ''))),
  partitioned: option(false, boolean),
  priority: option<CookiePriority | undefined>(undefined, (name, value) =>
    value === undefined ? undefined : oneOf(name, value, ['low', 'medium', 'high'] as const, 'medium'),
  ),
  header: option<string | undefined>(undefined, (name, value) => (value === undefined ? undefined : nonEmptyString(name, value, ''))),
} satisfies { readonly [K in keyof Required<SessionOptions>]: OptionSpec<SessionOptions[K]> };

/** RFC 6265 cookie-name: an RFC 7230 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * A Path attribute: starts with '/', printable ASCII without ';' (which would end the attribute)
 * or '<' (which the cookies package refuses in a path).
 */
const COOKIE_PATH = /^\/[\x21-\x3a\x3d-\x7e]*$/;
/** A Domain attribute: dot-separated labels of letters, digits and hyphens, of 63 characters at most (as the cookies package checks). */
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The per-request options, complete and checked. */
export interface CookieConfig {
  name: string;
  sigName: string;
  /** Signs new cookies (handed to the cookies package) and verifies them; undefined for unsigned cookies. */
  signer: Keygrip | undefined;
  /** Also accepted when verifying: the same keys with SHA-1, as mongosess 0.4 signed. */
  legacySigner: Keygrip | undefined;
  /** undefined: the cookie expires with the session. */
  expires: number | undefined;
  cookieOnFirstWrite: boolean;
  /** undefined: decided per request from the connection. */
  secure: boolean | undefined;
  trustProxy: boolean;
  httpOnly: boolean;
  sameSite: SameSite | false;
  path: string;
  domain: string | undefined;
  partitioned: boolean;
  priority: CookiePriority | undefined;
  /** The request/response header that carries the id instead of the cookie; undefined: the cookie. */
  header: string | undefined;
}

/** An id header's name: a lower-case RFC 7230 token, not one HTTP or the cookie itself uses. */
const ID_HEADER = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const RESERVED_HEADERS = new Set([
  'cookie',
  'set-cookie',
  'authorization',
  'host',
  'content-type',
  'content-length',
  'connection',
  'upgrade',
]);

/** Options objects are usually reused for every request: resolve each one once. */
const resolved = new WeakMap<object, CookieConfig>();
let defaults: CookieConfig | undefined;

export function resolveSessionOptions(input: unknown): CookieConfig {
  if (input === undefined || input === null) {
    defaults ??= resolveFresh({});
    return defaults;
  }
  if (typeof input !== 'object') return resolveFresh(input);
  let config = resolved.get(input);
  if (!config) {
    config = resolveFresh(input);
    resolved.set(input, config);
  }
  return config;
}

function resolveFresh(input: unknown): CookieConfig {
  const options = readOptions('session', input, SESSION_OPTIONS);
  const { cookieName: name, path, domain, sameSite, partitioned } = options;
  if (!COOKIE_NAME.test(name)) fail(`cookieName must be a cookie token (letters, digits, !#$%&'*+-.^_\`|~), got: ${describe(name)}`);
  if (!COOKIE_PATH.test(path)) fail(`path must start with / and hold no ';', '<', space or control character, got: ${describe(path)}`);
  if (domain !== undefined && !COOKIE_DOMAIN.test(domain)) fail(`domain must be a host name, got: ${describe(domain)}`);
  const { header } = options;
  if (header !== undefined && (!ID_HEADER.test(header) || RESERVED_HEADERS.has(header))) {
    fail(`header must be a lower-case header name of your own, such as 'x-session-id', got: ${describe(header)}`);
  }

  // Browsers drop these cookies unless they are Secure (and, for __Host-, path / without domain).
  let { secure } = options;
  // Browsers match these prefixes case-insensitively (RFC 6265bis), so `__HOST-` counts too.
  const lower = name.toLowerCase();
  const hostPrefix = lower.startsWith('__host-');
  const mustBeSecure = hostPrefix || lower.startsWith('__secure-') || sameSite === 'none' || partitioned;
  if (mustBeSecure) {
    const why = partitioned
      ? 'partitioned: true'
      : sameSite === 'none'
        ? "sameSite: 'none'"
        : `a cookie named ${hostPrefix ? '__Host-' : '__Secure-'}…`;
    if (secure === false) fail(`${why} requires Secure; remove secure: false`);
    secure = true;
  }
  if (hostPrefix && (path !== '/' || domain !== undefined)) {
    fail('a cookie named __Host-… requires path "/" and no domain');
  }
  if (options.keys === undefined) warnIfUnsignedInProduction();

  return {
    name,
    sigName: `${name}.sig`,
    ...resolveKeys(options.keys, options.signatureAlgorithm, options.legacySignatures),
    expires: options.expires,
    cookieOnFirstWrite: options.cookieOnFirstWrite,
    secure,
    trustProxy: options.trustProxy,
    httpOnly: options.httpOnly,
    sameSite,
    path,
    domain,
    partitioned,
    priority: options.priority,
    header,
  };
}

function resolveKeys(
  keys: unknown,
  algorithm: SignatureAlgorithm,
  legacySignatures: boolean,
): Pick<CookieConfig, 'signer' | 'legacySigner'> {
  if (keys === undefined) return { signer: undefined, legacySigner: undefined };
  if (isKeygripLike(keys)) return { signer: checkedSigner(keys), legacySigner: undefined };
  // Never echo the value: a secret passed in the wrong shape must not end up in logs.
  if (typeof keys === 'string') fail('keys must be an array of secrets, got a string; wrap it: keys: [secret]');
  if (!Array.isArray(keys) || keys.length === 0) {
    fail(`keys must be a non-empty array of secrets or a Keygrip, got: ${Array.isArray(keys) ? 'an empty array' : typeof keys}`);
  }
  for (const [index, key] of keys.entries()) {
    if (!(typeof key === 'string' || Buffer.isBuffer(key)) || key.length === 0) {
      fail(`keys[${index}] must be a non-empty string or Buffer`);
    }
  }
  // @types/keygrip lists string keys only; Keygrip hands each key to crypto.createHmac, which
  // takes a Buffer as well.
  const list = [...keys] as string[];
  return {
    signer: new Keygrip(list, algorithm),
    // 0.4 signed through `new Keygrip(keys)`: SHA-1, Keygrip's default.
    legacySigner: algorithm === 'sha1' || !legacySignatures ? undefined : new Keygrip(list, 'sha1'),
  };
}

/** A Keygrip, or any object with its `sign` and `index`. */
function isKeygripLike(value: unknown): value is CookieSigner {
  const grip = value as Partial<CookieSigner> | null;
  return typeof grip === 'object' && grip !== null && typeof grip.sign === 'function' && typeof grip.index === 'function';
}

/**
 * A caller's Keygrip, as the cookies package takes it, with its signatures checked: the package
 * puts whatever `sign` returns into the header, and only a cookie value may go there.
 */
function checkedSigner(grip: CookieSigner): Keygrip {
  return {
    sign: (data: string) => signatureValue(grip.sign(data)),
    index: (data: string, signature: string) => grip.index(data, signature),
    verify: (data: string, signature: string) => grip.index(data, signature) >= 0,
  };
}

function signatureValue(signature: unknown): string {
  if (typeof signature !== 'string' || !COOKIE_VALUE.test(signature)) {
    throw new MongoSessConfigError(
      'the keys signer returned a signature that cannot be a cookie value (a string without ";" or control characters)',
    );
  }
  return signature;
}

/** The cookies package's rule for values: visible characters, space, tab and Latin-1, no ';'. */
const COOKIE_VALUE = /^[\t\x20-\x3a\x3c-\x7e\x80-\xff]+$/;
