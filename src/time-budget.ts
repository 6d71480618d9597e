import { MongoSessDatabaseError } from './errors.js';

/**
 * The time one request may spend waiting on the database, all its calls together: connect's
 * `operationTimeout`. Only time inside database calls counts (not the app's own work between
 * them). The first call is bounded by the driver's own timeouts, which mongosess sets to
 * `operationTimeout` (so its errors keep the driver's as their cause); each later call may take
 * what is left, so a request that needs two calls cannot wait twice as long. A call still running
 * when the time is up is reported as failed, as a socket timeout would be: like any timed-out
 * write it may still be applied (atomically) or not at all.
 */
export class TimeBudget {
  readonly #total: number;
  #spent = 0;
  #calls = 0;

  constructor(ms: number) {
    this.#total = ms;
  }

  /** Runs `work`, failing with a MongoSessDatabaseError if the budget runs out first. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const first = this.#calls++ === 0;
    const left = this.#total - this.#spent;
    if (!first && left <= 0) return Promise.reject(this.#exhausted());
    const started = performance.now();
    const account = (): void => {
      this.#spent += performance.now() - started;
    };
    if (first) return work().finally(account);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(this.#exhausted()), left);
    });
    return Promise.race([work(), timeout]).finally(() => {
      clearTimeout(timer);
      account();
    });
  }

  #exhausted(): MongoSessDatabaseError {
    return new MongoSessDatabaseError(
      `this request spent its operationTimeout (${this.#total} ms) waiting for the database; check that MongoDB is reachable; the request can be retried`,
    );
  }
}
