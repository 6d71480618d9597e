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
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below only narrows then/catch/finally's return types.
export class CompatPromise<T> extends Promise<T> {
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
}

// Typing only: the runtime already returns CompatPromises from these (Symbol.species).
export interface CompatPromise<T> {
  /** As `Promise.prototype.then`, returning a CompatPromise. */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    // biome-ignore lint/suspicious/noExplicitAny: the reason is `any` in lib.es5.d.ts; unknown would break assignability to Promise.
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): CompatPromise<R1 | R2>;
  /** As `Promise.prototype.catch`, returning a CompatPromise. */
  // biome-ignore lint/suspicious/noExplicitAny: as in lib.es5.d.ts (see then).
  catch<R = never>(onRejected?: ((reason: any) => R | PromiseLike<R>) | null): CompatPromise<T | R>;
  /** As `Promise.prototype.finally`, returning a CompatPromise. */
  finally(onFinally?: (() => void) | null): CompatPromise<T>;
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
 * as a CompatPromise. A synchronous throw inside `work` becomes a rejection, never a throw.
 */
export function deliver<T>(work: () => Promise<T>, cb: unknown): CompatPromise<T> | undefined {
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
  return promise;
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
