// `mongosess/koa`: Koa middleware that gives every request its session as `ctx.session`. It
// imports the main entry by name, so it shares the one MongoSess and connection with it.
import type { DefaultContext, DefaultState, Middleware } from 'koa';
import MongoSess from 'mongosess';
import type { Session, SessionOptions } from './framework-types.js';

export type { Session, SessionOptions } from './framework-types.js';

declare module 'koa' {
  interface DefaultContext {
    /** The request's mongosess session (from `mongosess/koa`). */
    session: Session;
  }
}

/**
 * Middleware that sets `ctx.session = new MongoSess(ctx.req, ctx.res, options)`. Call
 * `MongoSess.connect()` before serving; a request before that (or bad options) throws into Koa.
 *
 * Koa's default error handling removes every header set before an error except those in
 * `err.headers`. A session cookie set before the error must still reach the browser (the new
 * id of `regenerate()` or of a moved 0.4 session, whose old id is dead), so on any error this
 * session's own Set-Cookie lines are copied there.
 */
export function session(options?: SessionOptions): Middleware<DefaultState, DefaultContext> {
  const name = options?.cookieName ?? 'sess';
  const own = (line: string) => line.startsWith(`${name}=`) || line.startsWith(`${name}.sig=`);
  return async (ctx, next) => {
    ctx.session = new MongoSess(ctx.req, ctx.res, options);
    try {
      await next();
    } catch (err) {
      if (err instanceof Error) keepSetCookie(err, [ctx.res.getHeader('set-cookie') ?? []].flat().map(String).filter(own));
      throw err;
    }
  };
}

/** Adds the response's Set-Cookie lines to `err.headers`, after any the error already carries. */
function keepSetCookie(err: Error & { headers?: Record<string, unknown> }, setCookie: string[]): void {
  if (setCookie.length === 0) return;
  const headers = { ...err.headers };
  const existing = Object.keys(headers).find((name) => name.toLowerCase() === 'set-cookie');
  const kept = existing === undefined ? [] : [headers[existing]].flat();
  if (existing !== undefined) delete headers[existing];
  headers['set-cookie'] = [...kept.map(String), ...setCookie];
  err.headers = headers;
}
