import { MongoSessDatabaseError } from '../edge/errors.js';

/**
 * The time one request may spend waiting on the database, all its calls together: connect's
 * `operationTimeout`. Only time inside database calls counts (not the app's own work between
 * them). Every call, the first included, may take what is left: the driver's own timeouts (which
 * mongosess sets to `operationTimeout`) bound each attempt, but a retryable read or write that
 * times out is tried again, so one call alone could wait twice as long. (mongodb 7 ignores its
 * whole-operation `timeoutMS`, so the bound is kept here.) A driver error that comes first is the
 * cause; else the cause is a `TimeoutError`. A call still running when the time is up is
 * reported as failed, as a socket timeout would be: like any timed-out write it may still be
 * applied (atomically) or not at all.
 */
export class TimeBudget {
  readonly #total: number;
  #spent = 0;

  constructor(ms: number) {
    this.#total = ms;
  }

  /** Runs `work`, failing with a MongoSessDatabaseError if the budget runs out first. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const left = this.#total - this.#spent;
    if (left <= 0) return Promise.reject(this.#exhausted());
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.#spent = Number.POSITIVE_INFINITY; // whatever the timer's rounding, nothing is left
        reject(this.#exhausted());
      }, left);
    });
    return Promise.race([work(), timeout]).finally(() => {
      clearTimeout(timer);
      this.#spent += performance.now() - started;
    });
  }

  /** The budget ran out before the driver answered: the cause is the timeout itself (no driver error exists yet). */
  #exhausted(): MongoSessDatabaseError {
    return new MongoSessDatabaseError(
      `this request spent its operationTimeout (${this.#total} ms) waiting for the database; check that MongoDB is reachable; the request can be retried`,
      { cause: new DOMException(`no answer from the database within ${this.#total} ms`, 'TimeoutError') },
    );
  }
}
