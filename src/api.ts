// The public API besides MongoSess itself, listed once. src/index.ts re-exports all of it as
// named exports, src/mongosess.ts spreads its values onto MongoSess (so that CommonJS users find
// them as properties), and the build derives the ESM entry and the CommonJS types from the result.
export { CompatPromise, type Callback } from './callback.js';
export { FOURTEEN_DAYS_MS, type AutoRemove, type ConnectOptions, type LegacyServer } from './connect-options.js';
export type { CookieSigner } from './cookie-signer.js';
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
export { Session, type SessionData, type SessionUpdate, type SessionView } from './session.js';
export { MongoSessStore } from './store.js';
