/**
 * `mongosess/fetch`: sessions for Fetch-style handlers, `Request` in and `Response` out: Hono,
 * Next.js route handlers, or any runtime that speaks Request and Response. `fetchSession` gives a
 * Request its session, and `withSession` puts the session's cookie into the Response you
 * return; `honoSession` does both as a Hono middleware. It imports the main entry by name, so
 * it shares the one MongoSess and its stores with `import 'mongosess'`.
 * @packageDocumentation
 */
import MongoSess from 'mongosess';
import { frameworkSessions, type FrameworkOptions } from './adapters/framework-options.js';
import type { MongoSessStore, Session, SessionOptions } from './adapters/framework-types.js';

export type { MongoSessStore, Session, SessionOptions } from './adapters/framework-types.js';

/** Options of `fetchSession` and `honoSession`: the session options, the `store`, and `perRequest(request)`. */
export interface FetchSessionOptions extends FrameworkOptions<Request> {
  /** The store whose sessions the requests get (connect it before serving). Required here. */
  store: MongoSessStore;
}

/** Where a Request came from, which the Request itself does not say. */
export interface FetchClient {
  /**
   * The client's IP address, stored with a new session under connect's `recordClient` (the user
   * agent is read from the headers). Hono on Node: `getConnInfo(c).remote.address`; behind a
   * proxy, `trustProxy` reads `X-Forwarded-For` instead.
   * @default undefined (no address is stored unless `trustProxy` finds one)
   */
  ip?: string | undefined;
}

/** Each options object, read and checked once: options are usually one constant for every request. */
const prepared = new WeakMap<FetchSessionOptions, { store: MongoSessStore; optionsFor(request: Request): SessionOptions | undefined }>();

function prepare(options: FetchSessionOptions): { store: MongoSessStore; optionsFor(request: Request): SessionOptions | undefined } {
  if (typeof options !== 'object' || options === null || options.store === undefined) {
    throw new MongoSess.MongoSessConfigError(
      'fetchSession() takes the options { store, ...sessionOptions }, with store a connected MongoSessStore (new MongoSessStore(options))',
    );
  }
  let found = prepared.get(options);
  if (!found) {
    found = { store: options.store, optionsFor: frameworkSessions<Request>(options).optionsFor };
    prepared.set(options, found);
  }
  return found;
}

/**
 * The session of a Fetch `Request`: the same Session each time for one Request. Keep `options`
 * in one constant (they are checked once per options object). Put its cookie into the Response
 * with `withSession(session, response)`.
 *
 * ```ts
 * const options = { store, keys: [process.env.SESSION_KEY] };
 * export async function GET(request: Request) {
 *   const session = fetchSession(request, options);
 *   const views = ((await session.get('views')) ?? 0) + 1;
 *   await session.set({ views });
 *   return withSession(session, Response.json({ views }));
 * }
 * ```
 */
export function fetchSession(request: Request, options: FetchSessionOptions, client?: FetchClient): Session {
  const { store, optionsFor } = prepare(options);
  return store.fetchSession(request, optionsFor(request), client);
}

/**
 * Puts the session's Set-Cookie lines (or, with the `header` option, its id header) into
 * `response` and returns it; a Response whose headers cannot change (`Response.redirect()`, a
 * `fetch()` result) is copied, with the same body and status. Call it once the session's writes
 * have settled: from then on a write that needs a new cookie is refused (a MongoSessError that
 * says so), as after node's headers are sent.
 */
export function withSession(session: Session, response: Response): Response {
  const lines = session.responseHeaders();
  if (lines.length === 0) return response;
  try {
    addLines(response.headers, lines);
    return response;
  } catch (err) {
    // Immutable headers throw a TypeError on the first change, before any line went in.
    if (!(err instanceof TypeError)) throw err;
  }
  const copy = new Response(response.body, response);
  addLines(copy.headers, lines);
  return copy;
}

/** Adds the session's header lines; a Set-Cookie line the response has already (withSession() applied twice) is not added again. */
function addLines(headers: Headers, lines: readonly (readonly [string, string])[]): void {
  const present = new Set(headers.getSetCookie());
  for (const [name, value] of lines) {
    if (name !== 'set-cookie') headers.set(name, value);
    else if (!present.has(value)) headers.append(name, value);
  }
}

/**
 * What `honoSession` uses of Hono's Context: the raw Request, `c.set('session', …)` and
 * `c.header()`. Declare the variable on your app: `new Hono<{ Variables: { session: Session } }>()`.
 */
export interface HonoContextLike {
  /** Hono's request wrapper. */
  readonly req: {
    /** The Fetch Request. */
    readonly raw: Request;
  };
  /** Stores the session as the context variable `session`. */
  set(key: 'session', value: Session): void;
  /** Sets (or with `append`, adds) a response header. */
  header(name: string, value: string, options?: { append?: boolean }): void;
}

/**
 * Hono middleware: `c.get('session')` is the request's session, and its cookie goes into the
 * response once the handler is done. Hono is not a dependency of mongosess: this uses only the
 * Context members above. With connect's `recordClient`, write the three lines yourself to pass
 * `{ ip: getConnInfo(c).remote.address }` to `fetchSession`.
 *
 * ```ts
 * const app = new Hono<{ Variables: { session: Session } }>();
 * app.use(honoSession({ store, keys: [process.env.SESSION_KEY] }));
 * ```
 */
export function honoSession(options: FetchSessionOptions): (c: HonoContextLike, next: () => Promise<void>) => Promise<void> {
  prepare(options);
  return async (c, next) => {
    const session = fetchSession(c.req.raw, options);
    c.set('session', session);
    await next();
    for (const [name, value] of session.responseHeaders()) c.header(name, value, { append: name === 'set-cookie' });
  };
}
