// The public API besides MongoSess itself, listed once. src/index.ts re-exports all of it as
// named exports, src/store/mongosess.ts spreads its values onto MongoSess (so that CommonJS users find
// them as properties), and the build derives the ESM entry and the CommonJS types from the result.
export { CompatPromise, type Callback } from './edge/callback.js';
export { FOURTEEN_DAYS_MS, type AutoRemove, type ConnectOptions, type LegacyServer } from './config/connect-options.js';
export type { EncryptionOptions } from './data/encryption.js';
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
} from './edge/errors.js';
export type { SessionSummary } from './storage/collection.js';
export type { ClientInfo } from './storage/document.js';
export type { OnReplay } from './devices/devices.js';
export {
  SESSION_EVENTS,
  type EndedEvent,
  type EndReason,
  type RefusedOperation,
  type SessionEventMap,
  type SessionEventName,
  type SessionListener,
} from './edge/events.js';
export { isSessionHandle, type SessionHandle } from './session/handle.js';
export type { CookiePriority, CookieSigner, SameSite, SessionOptions, SignatureAlgorithm } from './config/session-options.js';
export { Session, type RegenerateOptions, type SessionData, type SessionUpdate, type SessionView } from './session/session.js';
export { MongoSessStore, type EndAllOptions, type ListSessionsOptions, type SessionOfRequest } from './store/store.js';
export type { EndingWriteConcern } from './storage/write-concern.js';
