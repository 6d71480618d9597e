// The public API besides MongoSess itself, listed once. src/index.ts re-exports all of it as
// named exports, src/mongosess.ts spreads its values onto MongoSess (so that CommonJS users find
// them as properties), and the build derives the ESM entry and the CommonJS types from the result.
export { CompatPromise, type Callback } from './callback.js';
export { FOURTEEN_DAYS_MS, type AutoRemove, type ConnectOptions, type LegacyServer } from './connect-options.js';
export type { EncryptionOptions } from './encryption.js';
export {
  MongoSessConfigError,
  MongoSessDatabaseError,
  MongoSessDecryptionError,
  MongoSessEndedError,
  MongoSessError,
  MongoSessNotConnectedError,
  MongoSessReadOnlyError,
  MongoSessValidationError,
  type Warn,
} from './errors.js';
export type { SessionSummary } from './session-collection.js';
export type { ClientInfo } from './session-document.js';
export type { OnReplay } from './devices.js';
export {
  SESSION_EVENTS,
  type EndedEvent,
  type EndReason,
  type RefusedOperation,
  type SessionEventMap,
  type SessionEventName,
  type SessionListener,
} from './events.js';
export { isSessionHandle, type SessionHandle } from './session-handle.js';
export type { CookiePriority, CookieSigner, SameSite, SessionOptions, SignatureAlgorithm } from './session-options.js';
export { Session, type RegenerateOptions, type SessionData, type SessionUpdate, type SessionView } from './session.js';
export { MongoSessStore, type EndAllOptions, type ListSessionsOptions, type SessionOfRequest } from './store.js';
export type { EndingWriteConcern } from './write-concern.js';
