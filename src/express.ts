/**
 * `mongosess/express`: Connect-style middleware (Express 4 and 5, Connect, Polka) that gives
 * every request its session as `req.session`. It imports the main entry by name, so it shares
 * the one MongoSess and connection with `require('mongosess')` / `import 'mongosess'`.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import MongoSess from 'mongosess';
import type { Session, SessionOptions } from './framework-types.js';

export type { Session, SessionOptions } from './framework-types.js';

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
 * Middleware that sets `req.session = new MongoSess(req, res, options)`. Call
 * `MongoSess.connect()` before serving; a request before that (or bad options) goes to `next(err)`.
 */
export function session(options?: SessionOptions): SessionMiddleware {
  return (req, res, next) => {
    try {
      req.session = new MongoSess(req, res, options);
    } catch (err) {
      next(err);
      return;
    }
    next();
  };
}
