/**
 * `mongosess/express`: Connect-style middleware (Express 4 and 5, Connect, Polka) that gives
 * every request its session as `req.session`. It imports the main entry by name, so it shares
 * the one MongoSess and connection with `require('mongosess')` / `import 'mongosess'`.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { frameworkSessions, type FrameworkOptions } from './adapters/framework-options.js';
import type { Session, SessionOptions } from './adapters/framework-types.js';

export type { MongoSessStore, Session, SessionOptions } from './adapters/framework-types.js';
export type { FrameworkOptions } from './adapters/framework-options.js';

/** The middleware's options: the session options, `store`, and `perRequest(req)`. */
export type SessionMiddlewareOptions = FrameworkOptions<IncomingMessage>;

declare global {
  // The namespace @types/express merges into its Request type (the way express-session types it).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request's mongosess session (from `mongosess/express`). */
      session: Session;
    }
  }
}

/** `(req, res, next)`: Connect's middleware signature, which Express, Connect and Polka call. */
export type SessionMiddleware = (req: IncomingMessage & { session?: Session }, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Middleware that sets `req.session = new MongoSess(req, res, options)`, or with `store`,
 * `store.session(req, res, options)`. `options` may also be a function of the request that
 * returns the session options (as `{ perRequest }`). Connect the store (`MongoSess.connect()`)
 * before serving; a request before that (or bad session options) goes to `next(err)`.
 */
export function session(options?: SessionMiddlewareOptions | ((req: IncomingMessage) => SessionOptions | undefined)): SessionMiddleware {
  const { optionsFor, open } = frameworkSessions(options);
  return (req, res, next) => {
    try {
      req.session = open(req, res, optionsFor(req));
    } catch (err) {
      next(err);
      return;
    }
    next();
  };
}
