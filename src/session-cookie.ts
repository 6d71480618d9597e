import { OutgoingMessage, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { MongoSessConfigError } from './errors.js';
import { readCookie, setCookieLine, withCookies, withoutCookies } from './cookie-header.js';
import type { CookieConfig } from './session-options.js';

/** What the request's cookie said, before any database look-up. */
export interface IncomingId {
  /** The cookie value, if present and correctly signed (any format: the caller checks it). */
  value: string | undefined;
  /** Signed with an older key or the SHA-1 fallback: send it again signed with the newest key. */
  needsResign: boolean;
}

/** Reads and writes the session cookie (and its `.sig` twin) of one request. */
export class SessionCookie {
  readonly #config: CookieConfig;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #secure: boolean;
  #browserSession = false;

  constructor(req: IncomingMessage, res: ServerResponse, config: CookieConfig) {
    this.#config = config;
    this.#req = req;
    this.#res = res;
    this.#secure = config.secure ?? isSecureRequest(req, config.trustProxy);
  }

  read(): IncomingId {
    const { name, sigName, signer, legacySigner } = this.#config;
    // Signatures are checked here: besides the newest algorithm, 0.4's SHA-1 signatures count.
    const header = this.#req.headers.cookie;
    const value = readCookie(header, name);
    if (value === undefined || value === '') return { value: undefined, needsResign: false };
    if (!signer) return { value, needsResign: false };

    const signature = readCookie(header, sigName);
    if (!signature) return { value: undefined, needsResign: false };
    const data = `${name}=${value}`;
    const index = signer.index(data, signature);
    if (index === 0) return { value, needsResign: false };
    if (index > 0 || (legacySigner && legacySigner.index(data, signature) >= 0)) return { value, needsResign: true };
    return { value: undefined, needsResign: false };
  }

  /** False once the response headers are out: no cookie can be set any more. */
  get writable(): boolean {
    return !this.#res.headersSent;
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
    if (this.#res.headersSent) return;
    const lines = this.#res.getHeader('set-cookie');
    if (!Array.isArray(lines)) return;
    const { name, sigName } = this.#config;
    const kept = withoutCookies(lines, [name, sigName]);
    if (kept.length === lines.length) return;
    if (kept.length === 0) this.#res.removeHeader('set-cookie');
    else this.#res.setHeader('set-cookie', kept);
  }

  /** Clears the cookie: an empty value expiring at the epoch, signed like any other. */
  clear(): void {
    this.#send('', new Date(0));
  }

  #send(value: string, expires: Date | undefined): void {
    const res = this.#res;
    if (res.headersSent) return;
    const { name, sigName, signer } = this.#config;
    const attributes = this.#attributes(expires);
    const line = setCookieLine(name, value, attributes);
    // The signature cookie as the cookies package wrote it: `<name>.sig`, signing
    // "<name>=<value>", with the same attributes.
    const sigLine = signer ? setCookieLine(sigName, signatureValue(signer.sign(`${name}=${value}`)), attributes) : undefined;
    const lines = withCookies(res.getHeader('set-cookie'), name, line, sigName, sigLine);
    // As the cookies package did: past Express's res.set wrapper (present on its responses), straight to Node's.
    (typeof (res as { set?: unknown }).set === 'function' ? OutgoingMessage.prototype.setHeader : res.setHeader).call(
      res,
      'Set-Cookie',
      lines,
    );
  }

  /** The attributes after `name=value`, in the cookies package's order and spelling. */
  #attributes(expires: Date | undefined): string {
    const { httpOnly, sameSite, path, domain } = this.#config;
    let attributes = `; path=${path}`;
    if (expires) attributes += `; expires=${expires.toUTCString()}`;
    if (domain) attributes += `; domain=${domain}`;
    if (sameSite) attributes += `; samesite=${sameSite}`;
    if (this.#secure) attributes += '; secure';
    if (httpOnly) attributes += '; httponly';
    return attributes;
  }
}

/** A caller's Keygrip may return anything: only a cookie value may go into the header. */
function signatureValue(signature: string): string {
  if (typeof signature !== 'string' || !COOKIE_VALUE.test(signature)) {
    throw new MongoSessConfigError(
      'the keys signer returned a signature that cannot be a cookie value (a string without ";" or control characters)',
    );
  }
  return signature;
}

/** The cookies package's rule for values: visible characters, space, tab and Latin-1, no ';'. */
const COOKIE_VALUE = /^[\t\x20-\x3a\x3c-\x7e\x80-\xff]+$/;

function isSecureRequest(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as Partial<TLSSocket> | null)?.encrypted) return true;
  return trustProxy && forwardedProto(req) === 'https';
}

/**
 * The scheme the client used, from `X-Forwarded-Proto`: its first value. Node joins repeated
 * header lines with ", " in order, so this is the first value of the first line. Proxies that
 * append add their own hop's scheme after the client's, so the first value is the scheme seen
 * by the proxy nearest the client, the one the browser used; Express (`req.protocol`) and Koa
 * (`ctx.protocol`) read the header the same way.
 */
function forwardedProto(req: IncomingMessage): string | undefined {
  const header = req.headers['x-forwarded-proto'];
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined?.split(',', 1)[0]?.trim().toLowerCase();
}
