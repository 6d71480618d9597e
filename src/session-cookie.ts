import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import Cookies from 'cookies';
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
  readonly #res: ServerResponse;
  readonly #cookies: Cookies;
  readonly #secure: boolean;
  #browserSession = false;

  constructor(req: IncomingMessage, res: ServerResponse, config: CookieConfig) {
    this.#config = config;
    this.#res = res;
    this.#secure = config.secure ?? isSecureRequest(req, config.trustProxy);
    // Passing `secure` tells the cookies package what we decided, so it never throws
    // "Cannot send secure cookie over unencrypted connection" at a user.
    this.#cookies = new Cookies(req, res, { secure: this.#secure });
  }

  read(): IncomingId {
    const { name, sigName, signer, legacySigner } = this.#config;
    // Signatures are checked here, not by the cookies package (which is given no keys): it knows
    // one algorithm only, and we also accept 0.4's SHA-1 signatures.
    const value = this.#cookies.get(name);
    if (value === undefined || value === '') return { value: undefined, needsResign: false };
    if (!signer) return { value, needsResign: false };

    const signature = this.#cookies.get(sigName);
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
    const kept = lines.filter((line) => !line.startsWith(`${name}=`) && !line.startsWith(`${sigName}=`));
    if (kept.length === lines.length) return;
    if (kept.length === 0) this.#res.removeHeader('set-cookie');
    else this.#res.setHeader('set-cookie', kept);
  }

  /** Clears the cookie: an empty value expiring at the epoch, signed like any other. */
  clear(): void {
    this.#send('', new Date(0));
  }

  #send(value: string, expires: Date | undefined): void {
    if (this.#res.headersSent) return;
    const { name, sigName, signer, httpOnly, sameSite, path, domain } = this.#config;
    const attributes = {
      overwrite: true,
      secure: this.#secure,
      httpOnly,
      path,
      ...(expires ? { expires } : {}),
      ...(sameSite ? { sameSite } : {}),
      ...(domain ? { domain } : {}),
    };
    this.#cookies.set(name, value, attributes);
    // The signature cookie exactly as the cookies package writes it: `<name>.sig`, signing
    // "<name>=<value>", with the same attributes.
    if (signer) this.#cookies.set(sigName, signer.sign(`${name}=${value}`), attributes);
  }
}

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
