import { MongoSess } from './mongosess.js';

export default MongoSess;
export { MongoSess };
export { CompatPromise, type Callback } from './callback.js';
export { FOURTEEN_DAYS_MS, type AutoRemove, type ConnectOptions, type LegacyServer } from './connect-options.js';
export {
  MongoSessConfigError,
  MongoSessDatabaseError,
  MongoSessEndedError,
  MongoSessError,
  MongoSessNotConnectedError,
  MongoSessValidationError,
} from './errors.js';
export type { SessionSummary } from './session-collection.js';
export type { SameSite, SessionOptions, SignatureAlgorithm } from './session-options.js';
export { Session, type SessionData } from './session.js';
export type { MongoSessStatic } from './mongosess.js';
