/**
 * `mongosess`: sessions for Node.js `http` servers, stored in MongoDB. The default export,
 * {@link MongoSess}, is the session constructor (`new MongoSess(req, res, options)` gives a
 * request's {@link Session}) and the connection manager (`MongoSess.connect(options)`); the named
 * exports are the option types, the error classes and the rest of the public API.
 * `require('mongosess')` is the same `MongoSess`.
 * @packageDocumentation
 */
import { MongoSess } from './store/mongosess.js';

export default MongoSess;
export { MongoSess };
export * from './api.js';
export type { MongoSessStatic } from './store/mongosess.js';
