// `mongosess/koa`: Koa middleware that gives every request its session as `ctx.session`. It
// imports the main entry by name, so it shares the one MongoSess and connection with it.
import type { Context, DefaultContext, DefaultState, Middleware } from 'koa';
import { frameworkSessions, type FrameworkOptions } from './framework-options.js';
import type { Session, SessionOptions } from './framework-types.js';

export type { MongoSessStore, Session, SessionOptions } from './framework-types.js';

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
 * `err.headers`. A session cookie set before the error must still reach the browser (a refused
 * late write's fresh cookie, the new id of `regenerate()` or of a moved 0.4 session, whose old id
 * is dead), so on any error this session's own Set-Cookie lines (by its cookie names, so each
 * store's middleware keeps its own) are copied there.
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
      if (err instanceof Error) {
        const name = sessionOptions?.cookieName ?? 'sess';
        const own = (line: string) => line.startsWith(`${name}=`) || line.startsWith(`${name}.sig=`);
        keepSetCookie(err, [ctx.res.getHeader('set-cookie') ?? []].flat().map(String).filter(own));
      }
      throw err;
    }
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
