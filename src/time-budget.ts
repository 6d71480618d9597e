import { MongoSessDatabaseError } from './errors.js';

/**
 * The time one request may spend waiting on the database, across all its calls: connect's
 * `operationTimeout`. The first call is bounded by the driver's own timeouts, which mongosess sets
 * to `operationTimeout` (so its errors keep the driver's as their cause); each later call may take
 * what is left, so a request that needs two calls cannot take twice as long. A call still running
 * when the time is up is reported as failed (as a socket timeout would be); like any timed-out
 * write it may still be applied, atomically, or not at all.
 */
export class TimeBudget {
  readonly #total: number;
  /** Set by the first call. */
  #deadline: number | undefined;

  constructor(ms: number) {
    this.#total = ms;
  }

  /** Runs `work`, failing with a MongoSessDatabaseError if the budget runs out first. */
  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#deadline === undefined) {
      this.#deadline = performance.now() + this.#total;
      return work();
    }
    const left = this.#deadline - performance.now();
    if (left <= 0) return Promise.reject(this.#spent());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(this.#spent()), left);
    });
    return Promise.race([work(), timeout]).finally(() => clearTimeout(timer));
  }

  #spent(): MongoSessDatabaseError {
    return new MongoSessDatabaseError(
      `this request spent its operationTimeout (${this.#total} ms) waiting for the database; check that MongoDB is reachable; the request can be retried`,
    );
  }
}
