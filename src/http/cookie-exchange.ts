import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import Cookies from 'cookies';
import type Keygrip from 'keygrip';

/**
 * The HTTP exchange port: everything a session reads of a request and writes to its response,
 * in one place. The `cookies` package gets `request`/`response` as its `(req, res)`. Three
 * implementations, one tagged union: node:http's request and response (`nodeExchange`), a Fetch
 * `Request` and the headers of the `Response` being built (`fetchExchange`), and an HTTP upgrade
 * request (WebSockets), which has no response to carry a cookie (`upgradeExchange`).
 */

/** What is read of a request: the Cookie header (through `cookies`) and X-Forwarded-Proto. */
export interface CookieRequest {
  readonly headers: {
    readonly cookie?: string | undefined;
    readonly 'x-forwarded-proto'?: string | readonly string[] | undefined;
  };
}

/** What is used of a response: its Set-Cookie header (or the id header), until the headers are sent. */
export interface CookieResponse {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | readonly string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  removeHeader(name: string): void;
}

/** What every exchange offers, whatever its runtime. */
interface ExchangeBase {
  readonly request: CookieRequest;
  readonly response: CookieResponse;
  /** The request reached this process over TLS (Fetch: its URL is https). */
  readonly encrypted: boolean;
  /** The client's address as the runtime knows it (Fetch: only as the caller supplies it). */
  readonly remoteAddress: string | undefined;
  /** A request header (`name` in lower case), its lines joined by ", "; undefined when absent. */
  header(name: string): string | undefined;
}

/** node:http's request and response. */
export interface NodeExchange extends ExchangeBase {
  readonly kind: 'node';
}

/** A Fetch `Request`, and the headers its `Response` will carry once built. */
export interface FetchExchange extends ExchangeBase {
  readonly kind: 'fetch';
  readonly response: PendingHeaders;
}

/** An HTTP upgrade request (WebSockets): no response to set a cookie on, so its session is read-only. */
export interface UpgradeExchange extends ExchangeBase {
  readonly kind: 'upgrade';
}

/** One request/response pair, as a session sees it. */
export type CookieExchange = NodeExchange | FetchExchange | UpgradeExchange;

/** node:http's request and response as an exchange. */
export function nodeExchange(req: IncomingMessage, res: ServerResponse): NodeExchange {
  return { kind: 'node', response: res, ...nodeRequest(req) };
}

/** An upgrade request (node:http's 'upgrade' event, `ws`'s 'connection') as an exchange. */
export function upgradeExchange(req: IncomingMessage): UpgradeExchange {
  return { kind: 'upgrade', response: NO_RESPONSE, ...nodeRequest(req) };
}

/** What an exchange reads of node:http's request. */
function nodeRequest(req: IncomingMessage): Omit<ExchangeBase, 'response'> {
  return {
    request: req,
    encrypted: (req.socket as Partial<TLSSocket> | null)?.encrypted === true,
    remoteAddress: req.socket?.remoteAddress,
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * A Fetch `Request` as an exchange. `remoteAddress`: the client's address when the caller knows
 * it (a Request carries none: Hono's `getConnInfo`, a platform header).
 */
export function fetchExchange(request: Request, remoteAddress: string | undefined): FetchExchange {
  const { headers } = request;
  const cookie = headers.get('cookie') ?? undefined;
  const proto = headers.get('x-forwarded-proto') ?? undefined;
  return {
    kind: 'fetch',
    request: { headers: { cookie, 'x-forwarded-proto': proto } },
    response: new PendingHeaders(),
    encrypted: request.url.startsWith('https:'),
    remoteAddress,
    header: (name) => headers.get(name) ?? undefined,
  };
}

/** An upgrade request's missing response: its headers count as sent, so nothing is ever set on it. */
const NO_RESPONSE: CookieResponse = {
  headersSent: true,
  getHeader: () => undefined,
  setHeader: () => undefined,
  removeHeader: () => undefined,
};

/**
 * The headers a session sets on the `Response` being built, kept until `close()` hands them
 * over: from then on they count as sent (a later write that needs a cookie is refused, as after
 * node's headers are sent).
 */
export class PendingHeaders implements CookieResponse {
  readonly #headers = new Map<string, string | readonly string[]>();
  #closed = false;

  get headersSent(): boolean {
    return this.#closed;
  }

  getHeader(name: string): string | readonly string[] | undefined {
    return this.#headers.get(name.toLowerCase());
  }

  setHeader(name: string, value: number | string | readonly string[]): void {
    if (this.#closed) return;
    this.#headers.set(name.toLowerCase(), typeof value === 'number' ? String(value) : value);
  }

  removeHeader(name: string): void {
    if (this.#closed) return;
    this.#headers.delete(name.toLowerCase());
  }

  /** The headers, one [name, value] pair per line (one per Set-Cookie); from now on they count as sent. */
  close(): [string, string][] {
    this.#closed = true;
    const lines: [string, string][] = [];
    for (const [name, value] of this.#headers) {
      if (typeof value === 'string') lines.push([name, value]);
      else for (const line of value) lines.push([name, line]);
    }
    return lines;
  }
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
