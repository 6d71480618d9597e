import { MongoSessError } from './errors.js';

/**
 * The public edge between promise-first internals and the two calling styles of
 * mongosess 0.4: Node callbacks `(err, result)` and promises with `.done()` / `.nodeify()`.
 */

/**
 * A Node-style callback, typed as Node's own are (`fs.readFile`'s, for one): `result` is T, so
 * once `err` is checked it needs no further test. With an error it is `undefined`.
 * (A tuple-union typing would narrow more strictly, but refuses callbacks that take fewer
 * parameters, such as `(err) => …` or a promise's `resolve`.)
 */
export type Callback<T> = (err: Error | null, result: T) => void;

/**
 * A native Promise with the two helpers the old package's promises had. Promises derived
 * with `.then()` / `.catch()` / `.finally()` are CompatPromises too (via Symbol.species).
 *
 * 0.4's promises never crashed a process, and 0.4 code often calls a method and walks away
 * (`session.set({ lastSeen: Date.now() })`). So a mongosess operation's promise that rejects
 * with a MongoSessError while nobody has attached a rejection handler (no callback, no
 * `await`, no `.catch()`, no `.then(…, onRejected)`) by the next turn of the event loop is not
 * an unhandled rejection: the error goes to connect's `warn` instead. The same holds down a
 * chain that only passes the error on (`.then(onFulfilled)`, `.finally()`). Any other error
 * (say, one thrown by your own `.then` callback) is left to Node, as usual.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below only narrows catch/finally's return types.
export class CompatPromise<T> extends Promise<T> {
  /** A rejection handler was attached (by then, catch, finally, await, or a callback), or the error passed on to a derived promise. */
  #observed = false;
  /** Where an unobserved MongoSessError goes; set on an operation's promise and what it passes errors on to. */
  #unhandled: ((err: MongoSessError) => void) | undefined;

  /** As `Promise.prototype.then`, returning a CompatPromise. */
  // biome-ignore lint/suspicious/noThenProperty: a Promise subclass; then must be overridden to see who handles a rejection.
  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    // biome-ignore lint/suspicious/noExplicitAny: the reason is `any` in lib.es5.d.ts; unknown would break assignability to Promise.
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): CompatPromise<R1 | R2> {
    // Handled here, or (without onRejected) passed on to the derived promise, which then carries the guard.
    this.#observed = true;
    const derived = super.then(onFulfilled, onRejected) as CompatPromise<R1 | R2>;
    if (this.#unhandled && typeof onRejected !== 'function') derived.#guard(this.#unhandled);
    return derived;
  }

  /** As `Promise.prototype.finally`, returning a CompatPromise. */
  override finally(onFinally?: (() => void) | null): CompatPromise<T> {
    const derived = super.finally(onFinally) as CompatPromise<T>;
    // finally passes a rejection on, though it attaches a handler to this promise.
    if (this.#unhandled) derived.#guard(this.#unhandled);
    return derived;
  }

  /**
   * Ends a chain: like `then`, but a failure nobody handled is rethrown on a later tick
   * (as an uncaught exception) instead of vanishing.
   */
  done(onFulfilled?: ((value: T) => unknown) | null, onRejected?: ((reason: unknown) => unknown) | null): void {
    this.then(onFulfilled, onRejected).then(undefined, (err: unknown) => {
      setImmediate(() => {
        throw err;
      });
    });
  }

  /** Calls `cb(err, result)` when settled (on a fresh tick) and returns this promise. */
  nodeify(cb?: Callback<T> | null): this {
    if (typeof cb === 'function') settleInto(this, cb);
    return this;
  }

  /**
   * Watches for a rejection nobody handles: a MongoSessError goes to `unhandled`, another error
   * is rejected again for Node to report. The watcher is attached with the native `then`, so it
   * neither counts as a handler nor is guarded itself.
   */
  #guard(unhandled: (err: MongoSessError) => void): void {
    this.#unhandled = unhandled;
    Promise.prototype.then.call(
      this,
      undefined,
      (err: unknown) =>
        // A handler attached later in the same turn (after an `await` elsewhere) still counts.
        new Promise<void>((resolve, reject) =>
          setImmediate(() => {
            if (this.#observed) return resolve();
            if (!(err instanceof MongoSessError)) return reject(err);
            unhandled(err);
            resolve();
          }),
        ),
    );
  }

  /** @internal An operation's promise: rejections nobody handles go to `unhandled`. */
  static guarded<T>(promise: CompatPromise<T>, unhandled: (err: MongoSessError) => void): CompatPromise<T> {
    promise.#guard(unhandled);
    return promise;
  }
}

// Typing only: the runtime already returns CompatPromises from catch (Symbol.species).
export interface CompatPromise<T> {
  /** As `Promise.prototype.catch`, returning a CompatPromise. */
  // biome-ignore lint/suspicious/noExplicitAny: as in lib.es5.d.ts (see then).
  catch<R = never>(onRejected?: ((reason: any) => R | PromiseLike<R>) | null): CompatPromise<T | R>;
}

function settleInto<T>(promise: Promise<T>, cb: Callback<T>): void {
  // A fresh tick for each outcome: if cb throws, the throw surfaces as an uncaught exception
  // and cannot trigger the rejection handler, so cb is never called twice.
  promise.then(
    (value) => process.nextTick(cb, null, value),
    (err: unknown) => process.nextTick(cb, err instanceof Error ? err : new Error(String(err))),
  );
}

/**
 * Runs `work` and delivers its outcome: to `cb` when one is given (returning undefined), else
 * as a CompatPromise whose MongoSessError, if nobody handles it, goes to `unhandled` (see
 * CompatPromise). A synchronous throw inside `work` becomes a rejection, never a throw.
 */
export function deliver<T>(work: () => Promise<T>, cb: unknown, unhandled: (err: MongoSessError) => void): CompatPromise<T> | undefined {
  const promise = new CompatPromise<T>((resolve, reject) => {
    try {
      resolve(work());
    } catch (err) {
      reject(err);
    }
  });
  if (typeof cb === 'function') {
    settleInto(promise, cb as Callback<T>);
    return undefined;
  }
  return CompatPromise.guarded(promise, unhandled);
}

/**
 * Splits a public method's arguments into its own and a trailing callback, the one rule every
 * method follows: a function in last place is the callback (so `get(cb)`, `connect(cb)` and
 * `del('a', 'b', cb)` call back, and `endAll(cb)` reports its missing filter there), except in
 * the place of one of the `required` arguments (`set(fn)` is bad data, reported as usual).
 */
export function splitCallback(args: readonly unknown[], required = 0): [unknown[], unknown] {
  const last = args[args.length - 1];
  return typeof last === 'function' && args.length > required ? [args.slice(0, -1), last] : [[...args], undefined];
}
