import { timingSafeEqual } from 'node:crypto';
import type Cookies from 'cookies';
import { cookiesOn, isSecureExchange, withdrawCookies, type CookieExchange } from './cookie-exchange.js';
import type { CookieConfig } from '../config/session-options.js';

/** What the request's cookie said, before any database look-up. */
export interface IncomingId {
  /** The cookie value, if present and correctly signed (any format: the caller checks it). */
  value: string | undefined;
  /** Signed with an older key or the SHA-1 fallback: send it again signed with the newest key. */
  needsResign: boolean;
}

/**
 * Reads and writes the session cookie (and its `.sig` twin) of one request, through the
 * `cookies` package, signed by a Keygrip.
 */
export class SessionCookie {
  readonly #config: CookieConfig;
  readonly #exchange: CookieExchange;
  readonly #cookies: Cookies;
  readonly #secure: boolean;
  #browserSession = false;

  constructor(exchange: CookieExchange, config: CookieConfig) {
    this.#config = config;
    this.#exchange = exchange;
    this.#secure = config.secure ?? isSecureExchange(exchange, config.trustProxy);
    this.#cookies = cookiesOn(exchange, config.signer, this.#secure);
  }

  read(): IncomingId {
    const { name, sigName, signer, legacySigner, header } = this.#config;
    if (header !== undefined) return this.#readHeader(header);
    // Both cookies are read unsigned and the signature checked here, with the same Keygrip:
    // a signed get() of the cookies package would, on its own, clear the `.sig` cookie of a
    // signature it does not know (0.4's SHA-1 ones, accepted below) and re-sign an older key's
    // cookie at once, even for a dead id (whose cookie could overwrite a parallel login's).
    const value = this.#cookies.get(name, UNSIGNED);
    if (value === undefined || value === '') return { value: undefined, needsResign: false };
    if (!signer) return { value, needsResign: false };

    const signature = this.#cookies.get(sigName, UNSIGNED);
    if (!signature) return { value: undefined, needsResign: false };
    const data = `${name}=${value}`;
    // The newest key's signature, by far the most common, costs one HMAC: Keygrip's sign() and a
    // constant-time compare. Keygrip's index() compares through tsscmp, which spends a random key
    // and two more HMACs on each key it tries; it only runs for any other signature.
    if (sameSignature(signer.sign(data), signature)) return { value, needsResign: false };
    if (signer.index(data, signature) > 0 || (legacySigner && legacySigner.index(data, signature) >= 0)) {
      return { value, needsResign: true };
    }
    return { value: undefined, needsResign: false };
  }

  /** The id in the `header` option's request header: `<id>`, or signed `<id>.<signature>`. */
  #readHeader(header: string): IncomingId {
    const { signer, legacySigner } = this.#config;
    const given = this.#exchange.header(header)?.trim();
    if (!given) return { value: undefined, needsResign: false };
    if (!signer) return { value: given, needsResign: false };
    const dot = given.lastIndexOf('.');
    if (dot <= 0) return { value: undefined, needsResign: false };
    const value = given.slice(0, dot);
    const signature = given.slice(dot + 1);
    const data = `${header}=${value}`;
    if (sameSignature(signer.sign(data), signature)) return { value, needsResign: false };
    if (signer.index(data, signature) > 0 || (legacySigner && legacySigner.index(data, signature) >= 0)) {
      return { value, needsResign: true };
    }
    return { value: undefined, needsResign: false };
  }

  /** The exchange: what kind of runtime the session's request came from. */
  get exchange(): CookieExchange {
    return this.#exchange;
  }

  /** False once the response headers are out: no cookie can be set any more. */
  get writable(): boolean {
    return !this.#exchange.response.headersSent;
  }

  /**
   * Sends the cookie for `id`: expiring with the session (`sessionExpiry`), or the per-request
   * `expires` from `now` when that option is set (a browser-session cookie for `expires: 0` or
   * after `asBrowserSession()`). Does nothing once the headers are out.
   */
  send(id: string, now: number, sessionExpiry: Date): void {
    const { expires } = this.#config;
    if (this.#browserSession || expires === 0) this.#send(id, undefined);
    else this.#send(id, expires === undefined ? sessionExpiry : new Date(now + expires));
  }

  /**
   * Sends the cookie for `id` expiring with the session, at `sessionExpiry`, whatever `expires`
   * and asBrowserSession() say: for a session with a lifetime of its own (setLifetime()).
   */
  sendUntil(id: string, sessionExpiry: Date): void {
    this.#send(id, sessionExpiry);
  }

  /**
   * From now on, this response sends the cookie as a browser-session cookie (no Expires); with
   * `id`, sends it so at once.
   */
  asBrowserSession(id: string | undefined): void {
    this.#browserSession = true;
    if (id !== undefined) this.#send(id, undefined);
  }

  /**
   * Takes back the session cookie (and its signature) this response was going to send, if the
   * headers are not out yet: the session turned out to be rotated by another request, whose
   * response carries the cookie that must win.
   */
  withdraw(): void {
    const { header } = this.#config;
    if (header !== undefined) {
      if (!this.#exchange.response.headersSent) this.#exchange.response.removeHeader(header);
      return;
    }
    withdrawCookies(this.#exchange.response, [this.#config.name, this.#config.sigName]);
  }

  /** Clears the cookie: an empty value expiring at the epoch, signed like any other. */
  clear(): void {
    this.#send('', new Date(0));
  }

  #send(value: string, expires: Date | undefined): void {
    if (this.#exchange.response.headersSent) return;
    const { name, signer, httpOnly, header } = this.#config;
    if (header !== undefined) {
      // The id header: empty to clear, else the id (signed as the cookie would be).
      const line = value === '' || !signer ? value : `${value}.${signer.sign(`${header}=${value}`)}`;
      this.#exchange.response.setHeader(header, line);
      return;
    }
    const { sameSite, path, domain, priority, partitioned } = this.#config;
    // `overwrite`: this line (and, signed, its `.sig` line, signing "<name>=<value>" with the
    // same attributes) replaces any earlier one of the same name in this response.
    this.#cookies.set(name, value, {
      signed: signer !== undefined,
      overwrite: true,
      path,
      expires,
      domain,
      priority,
      sameSite,
      secure: this.#secure,
      httpOnly,
      partitioned,
    });
  }
}

/** Compares two signatures in constant time (their length is no secret: the algorithm gives it). */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads a cookie's value as it is: signatures are checked by SessionCookie.read(). */
const UNSIGNED = { signed: false } as const;
