// The callback adapter: promise-first work delivered to a Node callback or as a CompatPromise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompatPromise, deliver, splitCallback } from '../../src/callback.js';

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
