// A real http (or https) server whose every request runs one step of a test against a session.
// Used by the security tests.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import MongoSess, { type Session, type SessionOptions } from '../../src/index.js';
import { parseSetCookie, rawRequest, testJson, type Browser, type Reply } from './http.js';

/** What one request does with its session; its result is sent back as JSON. */
export type Step = (session: Session, req: IncomingMessage, res: ServerResponse) => unknown;

export interface RunOptions {
  /** Sends this browser's cookies and keeps the reply's (http only). Without it: no cookie at all. */
  browser?: Browser;
  /** Request headers (an array value sends the header once per item); a `cookie` here replaces the browser's. */
  headers?: Record<string, string | string[]>;
  /** The options of `new MongoSess(req, res, options)`; default: the app's. */
  options?: SessionOptions;
}

export interface SessionApp {
  url: string;
  /** Every error a step (or the session constructor) threw, in order. */
  errors: unknown[];
  /** Runs `step` in one request and returns the reply. A step that throws answers 500 `{ error, message }`. */
  run(step: Step, opts?: RunOptions): Promise<Reply>;
  close(): Promise<void>;
}

export interface TlsMaterial {
  key: string;
  cert: string;
}

export interface SessionAppDefaults {
  /** The options of `new MongoSess(req, res, options)` when a step gives none. */
  options?: SessionOptions;
  /** Serve https with this key and certificate. */
  tls?: TlsMaterial;
}

export async function sessionApp(defaults: SessionAppDefaults = {}): Promise<SessionApp> {
  const steps = new Map<string, { step: Step; options: SessionOptions | undefined }>();
  const errors: unknown[] = [];
  let counter = 0;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const entry = steps.get(req.url ?? '');
    steps.delete(req.url ?? '');
    Promise.resolve()
      .then(async () => {
        if (!entry) return reply(res, 404, 'no such step');
        const session = new MongoSess(req, res, entry.options);
        const result = await entry.step(session, req, res);
        if (!res.writableEnded) reply(res, 200, result);
      })
      .catch((err: unknown) => {
        errors.push(err);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (err as Error).name, message: (err as Error).message }));
      });
  };

  const server = defaults.tls
    ? https.createServer({ key: defaults.tls.key, cert: defaults.tls.cert }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `${defaults.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const ca = defaults.tls?.cert;

  return {
    url,
    errors,
    async run(step, opts = {}) {
      const path = `/step/${++counter}`;
      steps.set(path, { step, options: opts.options ?? defaults.options });
      if (opts.browser) return opts.browser.get(`${url}${path}`, opts.headers ?? {});
      return rawRequest(`${url}${path}`, opts.headers ?? {}, ca);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(testJson(body));
}

export type SetCookie = ReturnType<typeof parseSetCookie>;

/** The reply's Set-Cookie lines by cookie name (the last line of a name wins, as in a browser). */
export function cookiesOf(reply: Reply): Map<string, SetCookie> {
  const map = new Map<string, SetCookie>();
  for (const line of reply.setCookie) {
    const cookie = parseSetCookie(line);
    map.set(cookie.name, cookie);
  }
  return map;
}

/** The error a promise rejected with, as `{ name, message }`, or 'resolved'. */
export async function outcome(promise: Promise<unknown> | undefined): Promise<{ name: string; message: string } | 'resolved'> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
}
