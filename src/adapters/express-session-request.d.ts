// The types `mongosess/express-session` gives Express's request, as express-session's own types
// do. Kept out of the repository's main program (tsconfig.json), where `mongosess/express` types
// `req.session` as the core Session; scripts/build-entries.mjs appends it to the entry's
// declarations, and test/types checks it.
declare namespace Express {
  interface Request {
    /** The request's session, in express-session's shape (from `mongosess/express-session`). */
    session: import('../express-session.js').RequestSession;
    /** The session id, as `req.session.id`. */
    sessionID: string;
  }
}
