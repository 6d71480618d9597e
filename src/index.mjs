// ESM entry. It re-exports the CommonJS build rather than bundling a second copy, so that a
// process that both imports and requires mongosess has one MongoSess and one connection.
import MongoSess from './index.cjs';

export default MongoSess;
export { MongoSess };
export const {
  CompatPromise,
  FOURTEEN_DAYS_MS,
  MongoSessConfigError,
  MongoSessDatabaseError,
  MongoSessEndedError,
  MongoSessError,
  MongoSessNotConnectedError,
  MongoSessValidationError,
  Session,
} = MongoSess;
