// The callback adapter: promise-first work delivered to a Node callback or as a CompatPromise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompatPromise, deliver as deliverTo, splitCallback } from '../../../src/edge/callback.js';
import { MongoSessEndedError, type MongoSessError } from '../../../src/edge/errors.js';

/** deliver, with rejections nobody handles failing the test. */
function deliver<T>(work: () => Promise<T>, cb: unknown) {
  return deliverTo(work, cb, (err) => assert.fail(`reported as unhandled: ${err.message}`));
}

describe('deliver', () => {
  it('returns a CompatPromise without a callback, and turns a synchronous throw into a rejection', async () => {
    const ok = deliver(() => Promise.resolve(1), undefined);
    assert.ok(ok instanceof CompatPromise);
    assert.equal(await ok, 1);
    const bad = deliver(() => {
      throw new Error('boom');
    }, undefined);
    await assert.rejects(bad as Promise<unknown>, /boom/);
  });

  it('calls the callback once, on a later tick, and returns undefined', async () => {
    const calls: unknown[][] = [];
    let sync = true;
    const done = new Promise<void>((resolve) => {
      const returned = deliver(
        () => Promise.resolve('v'),
        (...args: unknown[]) => {
          calls.push([sync, ...args]);
          resolve();
        },
      );
      assert.equal(returned, undefined);
    });
    sync = false;
    await done;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [[false, null, 'v']]);
  });

  it('passes a non-Error rejection to the callback as an Error', async () => {
    const err = await new Promise<unknown>((resolve) =>
      deliver(
        () => Promise.reject('plain string'),
        (e: unknown) => resolve(e),
      ),
    );
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'plain string');
  });

  it('keeps .done and .nodeify on derived promises', async () => {
    const derived = deliver(() => Promise.resolve(2), undefined)!.then((n) => n * 2);
    assert.ok(derived instanceof CompatPromise);
    const viaNodeify = await new Promise((resolve) => derived.nodeify((_err, value) => resolve(value)));
    assert.equal(viaNodeify, 4);
  });
});

describe('a rejection nobody handles', () => {
  /** Runs `use` on an operation's promise that rejects with `error`; resolves what was reported and Node's unhandled rejections. */
  async function outcome(error: Error, use: (promise: CompatPromise<number>) => unknown, cb?: unknown) {
    const reported: MongoSessError[] = [];
    const unhandledRejections: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandledRejections.push(reason);
    // The test runner's own listener would fail the test: see Node's report here instead.
    const runners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', onUnhandled);
    try {
      const promise = deliverTo<number>(
        () => Promise.reject(error),
        cb,
        (err) => reported.push(err),
      );
      if (promise) await use(promise);
      // The guard looks one turn of the event loop later; Node reports unhandled rejections by then too.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
      for (const listener of runners) process.on('unhandledRejection', listener);
    }
    return { reported, unhandledRejections };
  }

  const ended = () => new MongoSessEndedError('gone');

  it('goes to the unhandled reporter, with the error, instead of becoming an unhandled rejection', async () => {
    const error = ended();
    const { reported, unhandledRejections } = await outcome(error, () => undefined);
    assert.deepEqual(reported, [error]);
    assert.deepEqual(unhandledRejections, []);
  });

  it('is reported down a chain that only passes the error on: .then(onFulfilled), .finally()', async () => {
    for (const use of [
      (p: CompatPromise<number>) => void p.then((n) => n + 1),
      (p: CompatPromise<number>) => void p.finally(() => undefined),
    ]) {
      const error = ended();
      const { reported, unhandledRejections } = await outcome(error, use);
      assert.deepEqual(reported, [error]);
      assert.deepEqual(unhandledRejections, []);
    }
  });

  it('is not reported once handled: await, .catch(), .then(_, onRejected), a handler attached later in the same turn, a callback', async () => {
    const uses: ((p: CompatPromise<number>) => unknown)[] = [
      (p) => p.then(undefined, () => 0),
      (p) => p.catch(() => 0),
      async (p) => {
        await assert.rejects(p, MongoSessEndedError);
      },
      async (p) => {
        await Promise.resolve();
        p.catch(() => 0);
      },
    ];
    for (const use of uses) assert.deepEqual(await outcome(ended(), use), { reported: [], unhandledRejections: [] });
    const called: unknown[] = [];
    assert.deepEqual(
      await outcome(
        ended(),
        () => undefined,
        (err: unknown) => called.push(err),
      ),
      { reported: [], unhandledRejections: [] },
    );
    assert.equal(called.length, 1, 'the callback gets the error');
  });

  it("a handled chain that rejects again is the caller's: .finally() passes it on, and it is reported only if that is not handled", async () => {
    const { reported } = await outcome(ended(), (p) => p.finally(() => undefined).catch(() => 0));
    assert.deepEqual(reported, []);
  });

  it('an error that is not a MongoSessError (a bug, a throw in your own .then) is left to Node', async () => {
    const bug = new TypeError('bug');
    const { reported, unhandledRejections } = await outcome(bug, () => undefined);
    assert.deepEqual(reported, []);
    assert.deepEqual(unhandledRejections, [bug]);
    const thrown = new Error('from your then');
    const chained = await outcome(ended(), (p) => {
      void p.then(undefined, () => {
        throw thrown;
      });
    });
    assert.deepEqual(chained.unhandledRejections, [thrown], 'your own rejection is not swallowed');
  });
});

describe('splitCallback', () => {
  const cb = (): void => undefined;
  it('takes a trailing function as the callback, except in a required place', () => {
    assert.deepEqual(splitCallback([cb]), [[], cb]);
    assert.deepEqual(splitCallback(['a', 'b', cb]), [['a', 'b'], cb]);
    assert.deepEqual(splitCallback(['a', undefined]), [['a', undefined], undefined]);
    assert.deepEqual(splitCallback([cb], 1), [[cb], undefined]);
    assert.deepEqual(splitCallback([{}, cb], 1), [[{}], cb]);
  });
});
