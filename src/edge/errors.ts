import { isClientClosedError, isServerError } from '../storage/driver-objects.js';

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

/** Where mongosess's warnings go (connect's `warn`): the message, and the error behind it if there is one. */
export type Warn = (message: string, error?: Error) => void;

/**
 * Passes a warning to `warn`. Nobody awaits the code that warns (a sweep, a promise nobody
 * handled), so if `warn` itself throws, the warning goes to `process.emitWarning` instead, saying
 * that `warn` threw (with its error's name only: its message could say anything), rather than
 * becoming an uncaught exception or an unhandled rejection.
 */
export function reportWarning(warn: Warn, message: string, error?: Error): void {
  try {
    warn(message, error);
  } catch (err) {
    const name = err instanceof Error ? err.name : typeof err;
    process.emitWarning(`${message}; reported here because the warn option threw (${name})`, 'MongoSessWarning');
  }
}

/**
 * Reports an operation's error that nobody handled (no callback, no await, no .catch): through
 * `warn`, with the error, instead of an unhandled rejection that would end the process.
 */
export function reportUnhandled(warn: Warn, operation: string, err: MongoSessError): void {
  const message = err.message.startsWith(PREFIX) ? err.message.slice(PREFIX.length) : err.message;
  const detail = /[.!?]$/.test(message) ? message : `${message}.`;
  reportWarning(
    warn,
    warning(
      `${operation} failed, and nothing handled its promise (no callback, await or .catch()): ${err.name} (status ${err.status}): ` +
        `${detail} Pass a callback or handle the promise to act on the error.`,
    ),
    err,
  );
}

/** Base class of every error mongosess raises. Its message is prefixed with `mongosess: `. */
export class MongoSessError extends Error {
  /** Always `'MongoSessError'`. */
  override get name(): string {
    return 'MongoSessError';
  }

  /**
   * The HTTP status a server should answer with: Express's, Koa's and Fastify's error handlers
   * read `status` (or `statusCode`). A plain property, as frameworks write it back (Koa does).
   */
  status: number;

  /** The same as `status`, under the name Fastify reads first. */
  statusCode: number;

  constructor(message: string, options?: { cause?: unknown }) {
    // One prefix, also for a message that already carries it (code written against earlier versions).
    super(message.startsWith(PREFIX) ? message : PREFIX + message, options);
    this.status = this.defaultStatus;
    this.statusCode = this.status;
  }

  /** The status of this kind of error: 500 unless a subclass says otherwise. */
  protected get defaultStatus(): number {
    return 500;
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

  /** 503 Service Unavailable: the database is not there yet. */
  protected override get defaultStatus(): number {
    return 503;
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

  /** 400 Bad Request: the input was refused; retrying it as is fails again. */
  protected override get defaultStatus(): number {
    return 400;
  }
}

/**
 * A write reached a session that another request ended or regenerated while this one ran (a
 * slow request writing after a concurrent logout), or one this object ended with `end()`. The
 * write was not applied and the session stays gone. (A cookie whose session was gone before the
 * request began is a new visitor instead, with no error.)
 */
export class MongoSessEndedError extends MongoSessError {
  /** Always `'MongoSessEndedError'`. */
  override get name(): string {
    return 'MongoSessEndedError';
  }

  /** 409 Conflict: another request ended the session first. */
  protected override get defaultStatus(): number {
    return 409;
  }
}

/**
 * A write to a read-only session: one made for an HTTP upgrade request (WebSockets,
 * `store.upgradeSession(req)`), which has no response to carry a new or extended cookie. Nothing
 * was written. Write to the session in an ordinary HTTP request (or `fetchSession()`) instead.
 */
export class MongoSessReadOnlyError extends MongoSessError {
  /** Always `'MongoSessReadOnlyError'`. */
  override get name(): string {
    return 'MongoSessReadOnlyError';
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

  /** 503 Service Unavailable: the database failed or could not be reached; the request can be retried. */
  protected override get defaultStatus(): number {
    return 503;
  }
}

/**
 * Wraps a driver error so that callers always see a MongoSessError with the original as cause.
 * A server's own message can quote stored session data, so for errors the server answered only
 * its code name goes into the message; the full error stays available as `cause`.
 */
export function databaseError(operation: string, cause: unknown): MongoSessError {
  if (cause instanceof MongoSessError) return cause;
  if (isServerError(cause)) {
    const code = cause.codeName ?? `code ${String(cause.code)}`;
    return new MongoSessDatabaseError(`${operation} failed: the server refused it (${code}); see this error's cause`, {
      cause,
    });
  }
  if (isClientClosedError(cause)) {
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
