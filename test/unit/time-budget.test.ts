// One request's database time: each call gets what is left.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoSessDatabaseError } from '../../src/errors.js';
import { TimeBudget } from '../../src/time-budget.js';

const after = (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('done'), ms));

describe('TimeBudget', () => {
  it('lets work finish within the budget, and fails work that outlasts what is left', async () => {
    const budget = new TimeBudget(200);
    assert.equal(await budget.run(() => after(10)), 'done', 'the first call is bounded by the driver alone');
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

  it('a spent budget fails the next call at once, without running it', async () => {
    const budget = new TimeBudget(1);
    await budget.run(() => after(5));
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
