import { MongoNotConnectedError, MongoServerError, MongoTopologyClosedError } from 'mongodb';

/**
 * The errors mongosess raises. Each has a fixed `name`, a message that starts with
 * `mongosess:` and says how to fix the problem, and (where one exists) the underlying
 * error as `cause`. No message ever contains a session id, a signature or a key.
 */

/** What every message mongosess writes (errors and warnings) starts with, so logs can be searched for it. */
const PREFIX = 'mongosess: ';

/** A warning's text, prefixed like every message mongosess writes. */
export function warning(message: string): string {
  return PREFIX + message;
}

/** Base class of every error mongosess raises. Its message is prefixed with `mongosess: `. */
export class MongoSessError extends Error {
  /** Always `'MongoSessError'`. */
  override get name(): string {
    return 'MongoSessError';
  }

  constructor(message: string, options?: { cause?: unknown }) {
    // One prefix, also for a message that already carries it (code written against earlier versions).
    super(message.startsWith(PREFIX) ? message : PREFIX + message, options);
  }
}

/** An option passed to `connect()` or to the session constructor is invalid. */
export class MongoSessConfigError extends MongoSessError {
  /** Always `'MongoSessConfigError'`. */
  override get name(): string {
    return 'MongoSessConfigError';
  }
}

/** A session was created, or a static helper called, before `MongoSess.connect()` finished. */
export class MongoSessNotConnectedError extends MongoSessError {
  /** Always `'MongoSessNotConnectedError'`. */
  override get name(): string {
    return 'MongoSessNotConnectedError';
  }
}

/**
 * Bad input to `set`, `get`, `del` or a static helper: a reserved or hostile key, a value
 * that cannot be stored as plain data, a value over the size limit. Nothing was sent to the
 * database.
 */
export class MongoSessValidationError extends MongoSessError {
  /** Always `'MongoSessValidationError'`. */
  override get name(): string {
    return 'MongoSessValidationError';
  }
}

/**
 * A write reached a session that was ended, regenerated or has expired (for example a slow
 * request writing after a concurrent logout). The write was not applied and the old session
 * stays gone; the response carries a fresh, empty session cookie.
 */
export class MongoSessEndedError extends MongoSessError {
  /** Always `'MongoSessEndedError'`. */
  override get name(): string {
    return 'MongoSessEndedError';
  }
}

/**
 * A session holds a value encrypted at rest (connect's `encryption`) that does not decrypt: it
 * was written with a key no longer in `encryption.keys`, or it was tampered with or truncated.
 * Nothing of the session is served; the message names the data key and the reason, never a value
 * or key material.
 */
export class MongoSessDecryptionError extends MongoSessError {
  override get name(): string {
    return 'MongoSessDecryptionError';
  }
}

/** The database failed or could not be reached. The driver's error is the `cause`. */
export class MongoSessDatabaseError extends MongoSessError {
  /** Always `'MongoSessDatabaseError'`. */
  override get name(): string {
    return 'MongoSessDatabaseError';
  }
}

/**
 * Wraps a driver error so that callers always see a MongoSessError with the original as cause.
 * A server's own message can quote stored session data, so for errors the server answered only
 * its code name goes into the message; the full error stays available as `cause`.
 */
export function databaseError(operation: string, cause: unknown): MongoSessError {
  if (cause instanceof MongoSessError) return cause;
  if (cause instanceof MongoServerError) {
    const code = cause.codeName ?? `code ${String(cause.code)}`;
    return new MongoSessDatabaseError(`${operation} failed: the server refused it (${code}); see this error's cause`, {
      cause,
    });
  }
  if (cause instanceof MongoNotConnectedError || cause instanceof MongoTopologyClosedError) {
    return new MongoSessDatabaseError(
      `${operation} failed: the MongoDB client is closed (MongoSess.close() was called, or the client you passed was closed)`,
      { cause },
    );
  }
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new MongoSessDatabaseError(`${operation} failed: ${detail}. Check that MongoDB is reachable; the request can be retried.`, {
    cause,
  });
}
