// One request's database time: each call gets what is left.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoSessDatabaseError } from '../../../src/edge/errors.js';
import { TimeBudget } from '../../../src/storage/time-budget.js';

const after = (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('done'), ms));

describe('TimeBudget', () => {
  it('lets work finish within the budget, and fails work that outlasts what is left', async () => {
    const budget = new TimeBudget(200);
    assert.equal(await budget.run(() => after(10)), 'done');
    assert.equal(await budget.run(() => after(10)), 'done');
    await assert.rejects(
      budget.run(() => after(1000)),
      (err: unknown) => err instanceof MongoSessDatabaseError && /operationTimeout \(200 ms\)/.test(err.message),
    );
  });

  it("only time inside calls counts: the app's own work between calls does not spend it", async () => {
    const budget = new TimeBudget(100);
    await budget.run(() => after(10));
    await after(150);
    assert.equal(await budget.run(() => after(10)), 'done');
  });

  // Audit of d3b32e5, finding 4: the first call ran unbounded, and the driver's retry of a timed-out
  // read or write doubled it (2,013 ms measured at operationTimeout 1,000).
  it('finding 4: the first call is bounded by the budget too', async () => {
    const budget = new TimeBudget(50);
    const started = performance.now();
    await assert.rejects(
      budget.run(() => after(1000)),
      MongoSessDatabaseError,
    );
    assert.ok(performance.now() - started < 1000, 'failed when the budget ran out, not when the work ended');
  });

  it('a spent budget fails the next call at once, without running it', async () => {
    const budget = new TimeBudget(1);
    await budget.run(() => after(5)).catch(() => undefined);
    let ran = false;
    await assert.rejects(
      budget.run(async () => {
        ran = true;
      }),
      MongoSessDatabaseError,
    );
    assert.equal(ran, false);
  });
});
