import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import Cookies from 'cookies';
import type Keygrip from 'keygrip';

/**
 * Everything the session cookie reads of a request and writes to its response, in one place:
 * the `cookies` package gets this pair as its `(req, res)`. node:http's own objects are such a
 * pair; another runtime (Fetch's Request and Headers) provides a small object of these shapes.
 */

/** What is read of a request: the Cookie header (through `cookies`) and X-Forwarded-Proto. */
export interface CookieRequest {
  readonly headers: {
    readonly cookie?: string | undefined;
    readonly 'x-forwarded-proto'?: string | readonly string[] | undefined;
  };
}

/** What is used of a response: its Set-Cookie header, until the headers are sent. */
export interface CookieResponse {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | readonly string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  removeHeader(name: string): void;
}

/** One request/response pair, as the session cookie sees it. */
export interface CookieExchange {
  readonly request: CookieRequest;
  readonly response: CookieResponse;
  /** The request reached this process over TLS. */
  readonly encrypted: boolean;
}

/** node:http's request and response as a cookie exchange. */
export function nodeExchange(req: IncomingMessage, res: ServerResponse): CookieExchange {
  return { request: req, response: res, encrypted: (req.socket as Partial<TLSSocket> | null)?.encrypted === true };
}

/**
 * The `cookies` package on an exchange, signing with `keys` (none: unsigned). `secure` is always
 * given, so the package never inspects the connection itself (and never throws "Cannot send
 * secure cookie over unencrypted connection" at a user): it reads the request's `headers.cookie`
 * and calls the response's `getHeader` and `setHeader` (node:http's own `setHeader` when the
 * response has Express's `res.set`), nothing else.
 */
export function cookiesOn(exchange: CookieExchange, keys: Keygrip | undefined, secure: boolean): Cookies {
  // @types/cookies names node:http's classes for the pair; the package uses only the parts above.
  return new Cookies(exchange.request as IncomingMessage, exchange.response as ServerResponse, { keys, secure });
}

/**
 * Takes the lines of the cookies `names` out of the response's Set-Cookie header, if the headers
 * are not out yet (the `cookies` package can add and replace lines, not remove them).
 */
export function withdrawCookies(response: CookieResponse, names: readonly string[]): void {
  if (response.headersSent) return;
  const lines = response.getHeader('set-cookie');
  if (typeof lines !== 'object') return;
  const prefixes = names.map((name) => `${name}=`);
  const kept = lines.filter((line) => !prefixes.some((prefix) => line.startsWith(prefix)));
  if (kept.length === lines.length) return;
  if (kept.length === 0) response.removeHeader('set-cookie');
  else response.setHeader('set-cookie', kept);
}

/**
 * Whether the client used https: over TLS to this process, or, with `trustProxy`, as the
 * `X-Forwarded-Proto` header says: its first value. Node joins repeated header lines with ", "
 * in order, so this is the first value of the first line. Proxies that append add their own
 * hop's scheme after the client's, so the first value is the scheme seen by the proxy nearest
 * the client, the one the browser used; Express (`req.protocol`) and Koa (`ctx.protocol`) read
 * the header the same way.
 */
export function isSecureExchange(exchange: CookieExchange, trustProxy: boolean): boolean {
  if (exchange.encrypted) return true;
  if (!trustProxy) return false;
  const header = exchange.request.headers['x-forwarded-proto'];
  const joined = typeof header === 'string' ? header : header?.join(',');
  return joined?.split(',', 1)[0]?.trim().toLowerCase() === 'https';
}
