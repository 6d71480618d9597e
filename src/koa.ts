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
 * A write refused with a `MongoSessEndedError` (the session was ended or expired meanwhile) has
 * already put a fresh session cookie on the response. Koa's default error handling removes every
 * header set before an error except those in `err.headers`, so the Set-Cookie header is copied
 * there and the browser gets the fresh cookie with the error response.
 */
export function session(options?: SessionOptions): Middleware<DefaultState, DefaultContext> {
  return async (ctx, next) => {
    ctx.session = new MongoSess(ctx.req, ctx.res, options);
    try {
      await next();
    } catch (err) {
      if (err instanceof MongoSess.MongoSessEndedError) keepSetCookie(err, ctx.res.getHeader('set-cookie'));
      throw err;
    }
  };
}

/** Adds the response's Set-Cookie lines to `err.headers`, after any the error already carries. */
function keepSetCookie(err: Error & { headers?: Record<string, unknown> }, setCookie: unknown): void {
  if (setCookie === undefined) return;
  const headers = { ...err.headers };
  const existing = Object.keys(headers).find((name) => name.toLowerCase() === 'set-cookie');
  const kept = existing === undefined ? [] : [headers[existing]].flat();
  if (existing !== undefined) delete headers[existing];
  headers['set-cookie'] = [...kept, ...[setCookie].flat()].map(String);
  err.headers = headers;
}
