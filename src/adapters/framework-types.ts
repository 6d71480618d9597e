// The public types the framework integrations need, taken from the default export of the main
// entry only. Its CommonJS declarations are `export = MongoSess`, so these aliases resolve the
// same way from the ESM and the CommonJS builds of the integrations.
import type MongoSess from 'mongosess';

/** A request's session: what `new MongoSess(req, res, options)` returns. */
export type Session = InstanceType<typeof MongoSess.Session>;

/** The options of `new MongoSess(req, res, options)`. */
export type SessionOptions = NonNullable<Parameters<typeof MongoSess>[2]>;

/** A session store (`new MongoSessStore(options)`), for the integrations' `store` option. */
export type MongoSessStore = InstanceType<typeof MongoSess.MongoSessStore>;
