/**
 * `mongosess/koa`: Koa middleware that gives every request its session as `ctx.session`. It
 * imports the main entry by name, so it shares the one MongoSess and connection with it.
 * @packageDocumentation
 */
import { format } from 'node:util';
import type { Context, DefaultContext, DefaultState, Middleware, ParameterizedContext } from 'koa';
import { frameworkSessions, type FrameworkOptions } from './adapters/framework-options.js';
import type { Session, SessionOptions } from './adapters/framework-types.js';

export type { MongoSessStore, Session, SessionOptions } from './adapters/framework-types.js';
export type { FrameworkOptions } from './adapters/framework-options.js';

/** The middleware's options: the session options, `store`, and `perRequest(ctx)`. */
export type SessionMiddlewareOptions = FrameworkOptions<Context>;

declare module 'koa' {
  interface DefaultContext {
    /** The request's mongosess session (from `mongosess/koa`). */
    session: Session;
  }
}

/**
 * Middleware that sets `ctx.session = new MongoSess(ctx.req, ctx.res, options)`, or with `store`,
 * `store.session(ctx.req, ctx.res, options)`. `options` may also be a function of the context
 * that returns the session options (as `{ perRequest }`). Connect the store
 * (`MongoSess.connect()`) before serving; a request before that (or bad options) throws into Koa.
 *
 * Koa's default error handling removes every header set before an error except those in
 * `err.headers`. A session cookie set before the error must still reach the browser (the new
 * id of `regenerate()` or of a moved 0.4 session, whose old id is dead), so on any error this
 * session's own Set-Cookie lines (by its cookie names, so each store's middleware keeps its own)
 * are copied there (for a thrown value that is not an Error, to the Error Koa makes of it).
 */
export function session(
  options?: SessionMiddlewareOptions | ((ctx: Context) => SessionOptions | undefined),
): Middleware<DefaultState, DefaultContext> {
  const { optionsFor, open } = frameworkSessions(options);
  return async (ctx, next) => {
    const sessionOptions = optionsFor(ctx);
    ctx.session = open(ctx.req, ctx.res, sessionOptions);
    try {
      await next();
    } catch (err) {
      const name = sessionOptions?.cookieName ?? 'sess';
      const own = (line: string) => line.startsWith(`${name}=`) || line.startsWith(`${name}.sig=`);
      const setCookie = [ctx.res.getHeader('set-cookie') ?? []].flat().map(String).filter(own);
      if (setCookie.length > 0) {
        if (isError(err)) keepSetCookie(err, setCookie);
        else if (err != null) keepThroughNonError(ctx, err, setCookie);
      }
      throw err;
    }
  };
}

/** Koa's test for an error (it takes errors from other realms too). */
function isError(value: unknown): value is Error {
  return Object.prototype.toString.call(value) === '[object Error]' || value instanceof Error;
}

/**
 * Something other than an Error was thrown (`throw 'nope'`): Koa's error handling replaces it
 * with a new Error and removes every header, so `err.headers` cannot be set on it. The value
 * reaches the middleware above unchanged; if it reaches Koa's own handling, that handling gets
 * the Error Koa would have made, carrying the session's Set-Cookie lines.
 */
function keepThroughNonError(ctx: Pick<ParameterizedContext, 'onerror'>, thrown: unknown, setCookie: string[]): void {
  const onerror = ctx.onerror;
  ctx.onerror = function (this: unknown, err: Error): void {
    if (err !== thrown) {
      onerror.call(this, err);
      return;
    }
    const replaced = new Error(format('non-error thrown: %j', thrown));
    keepSetCookie(replaced, setCookie);
    onerror.call(this, replaced);
  };
}

/** Adds the response's Set-Cookie lines to `err.headers`, after any the error already carries (once each). */
function keepSetCookie(err: Error & { headers?: Record<string, unknown> }, setCookie: string[]): void {
  if (setCookie.length === 0) return;
  const headers = { ...err.headers };
  const existing = Object.keys(headers).find((name) => name.toLowerCase() === 'set-cookie');
  const kept = existing === undefined ? [] : [headers[existing]].flat().map(String);
  if (existing !== undefined) delete headers[existing];
  headers['set-cookie'] = [...kept, ...setCookie.filter((line) => !kept.includes(line))];
  err.headers = headers;
}
