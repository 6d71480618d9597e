import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CookieJar } from 'tough-cookie';

export type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** A real http server on a free loopback port. A handler that throws or rejects answers 500. */
export async function serve(handler: Handler): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (err as Error).name, message: (err as Error).message }));
      });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends JSON (or text) with a status. */
export function send(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(testJson(body));
}

/**
 * JSON for the tests' replies. With connect's `hideId`, get()'s `_id` is not enumerable (so
 * that an app's `res.json(await session.get())` leaks no session id); the tests want to see it,
 * so here it is written out, last.
 */
export function testJson(body: unknown): string {
  return JSON.stringify(body === undefined ? null : body, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && Object.hasOwn(value, '_id') && !Object.prototype.propertyIsEnumerable.call(value, '_id')
      ? { ...value, _id: (value as { _id: unknown })._id }
      : value,
  );
}

export interface Reply {
  status: number;
  body: string;
  json: () => any;
  setCookie: string[];
}

/** A cookie-keeping client (RFC 6265 jar from tough-cookie) over plain http requests. */
export class Browser {
  readonly jar = new CookieJar();

  async get(url: string, headers: Record<string, string | string[]> = {}): Promise<Reply> {
    const cookie = await this.jar.getCookieString(url);
    const reply = await rawRequest(url, { ...(cookie ? { cookie } : {}), ...headers });
    for (const line of reply.setCookie) await this.jar.setCookie(line, url, { ignoreError: true });
    return reply;
  }

  /** A form POST (urlencoded `form`), as a browser submits one; redirects are not followed. */
  async post(
    url: string,
    form: Record<string, string> = {},
    extra: Record<string, string> = {},
  ): Promise<Reply & { location: string | undefined }> {
    const cookie = await this.jar.getCookieString(url);
    const body = new URLSearchParams(form).toString();
    const headers = { ...extra, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) };
    const reply = await new Promise<Reply & { location: string | undefined }>((resolve, reject) => {
      const options = { method: 'POST', headers: { ...headers, ...(cookie ? { cookie } : {}) }, agent: false };
      const req = http.request(url, options, (res) => readReply(res, (read) => resolve({ ...read, location: res.headers.location })));
      req.on('error', reject);
      req.end(body);
    });
    for (const line of reply.setCookie) await this.jar.setCookie(line, url, { ignoreError: true });
    return reply;
  }

  /** The value of a cookie the jar would send to `url`. */
  async cookie(url: string, name: string): Promise<string | undefined> {
    const cookies = await this.jar.getCookies(url);
    return cookies.find((c) => c.key === name)?.value;
  }
}

/**
 * One GET over http or https with exactly the given headers (an array value sends the header once
 * per item); `ca` is the certificate an https server is trusted by.
 */
export function rawRequest(url: string, headers: Record<string, string | string[]> = {}, ca?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => readReply(res, resolve);
    const req = url.startsWith('https:')
      ? https.get(url, { headers, agent: false, ...(ca ? { ca } : {}) }, onResponse)
      : http.get(url, { headers, agent: false }, onResponse);
    req.on('error', reject);
  });
}

/** Reads a response whole, then hands it to `done`. */
function readReply(res: IncomingMessage, done: (reply: Reply) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (body += chunk));
  res.on('end', () =>
    done({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body), setCookie: res.headers['set-cookie'] ?? [] }),
  );
}

/** Parses one Set-Cookie line into its name, value and lower-cased attributes. */
export function parseSetCookie(line: string): { name: string; value: string; attrs: Record<string, string | true> } {
  const [pair = '', ...parts] = line.split(';').map((p) => p.trim());
  const eq = pair.indexOf('=');
  const attrs: Record<string, string | true> = {};
  for (const part of parts) {
    const i = part.indexOf('=');
    if (i < 0) attrs[part.toLowerCase()] = true;
    else attrs[part.slice(0, i).toLowerCase()] = part.slice(i + 1);
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}
