// Lifetime rules: pure functions of (policy, now).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  creationTimes,
  deadlineOf,
  endedDuring,
  expiryFrom,
  isLive,
  liveFilter,
  MOVE_GRACE_MS,
  movedRecently,
  rollingExpiry,
  SHORT_TOMBSTONE_MS,
  tombstoneExpiry,
  touchTarget,
  type LifetimePolicy,
} from '../../../src/session/lifetime.js';

const HOUR = 3_600_000;
const policy = (over: Partial<LifetimePolicy> = {}): LifetimePolicy => ({
  expires: HOUR,
  rolling: false,
  touchAfter: 0,
  absoluteTimeout: 0,
  ...over,
});
const at = (ms: number) => new Date(ms);

describe('lifetime', () => {
  it('a session is live until expiresAt, never as a tombstone, never without an expiry', () => {
    const p = policy();
    assert.equal(isLive(p, { expiresAt: at(10) }, 9), true);
    assert.equal(isLive(p, { expiresAt: at(10) }, 10), false);
    assert.equal(isLive(p, { expiresAt: at(10), ended: true }, 0), false);
    assert.equal(isLive(p, {}, 0), false);
  });

  it('absoluteTimeout caps sessions created before it was set, and lowering it shortens stored deadlines', () => {
    const p = policy({ absoluteTimeout: 8 * HOUR });
    const old = { createdAt: at(0), expiresAt: at(100 * HOUR) };
    assert.equal(isLive(p, old, 7 * HOUR), true);
    assert.equal(isLive(p, old, 9 * HOUR), false, 'no stored deadline: derived from createdAt');
    const stored = { createdAt: at(0), expiresAt: at(100 * HOUR), deadline: at(24 * HOUR) };
    assert.deepEqual(deadlineOf(p, stored), at(8 * HOUR), 'the smaller of stored and configured');
    assert.deepEqual(deadlineOf(policy(), stored), at(24 * HOUR));
    assert.equal(deadlineOf(policy(), { createdAt: at(0) }), undefined);
  });

  it('the live filter says what isLive says', () => {
    assert.deepEqual(liveFilter(policy(), 5), { ended: { $ne: true }, expiresAt: { $gt: at(5) } });
    const capped = liveFilter(policy({ absoluteTimeout: 10 }), 25);
    assert.deepEqual(capped['$or'], [{ createdAt: { $gt: at(15) } }, { createdAt: { $exists: false } }]);
    // Rolling without a cap: the stored deadline of a session made while one was set still holds.
    const rolling = liveFilter(policy({ rolling: true }), 5);
    assert.deepEqual(rolling['$or'], [{ deadline: { $exists: false } }, { deadline: { $gt: at(5) } }]);
  });

  it('expiry never passes the deadline; creation sets createdAt, expiresAt and (with a cap) deadline', () => {
    assert.deepEqual(expiryFrom(policy(), 0, undefined), at(HOUR));
    assert.deepEqual(expiryFrom(policy(), 0, at(10)), at(10));
    assert.deepEqual(creationTimes(policy(), 5), { createdAt: at(5), expiresAt: at(5 + HOUR) });
    assert.deepEqual(creationTimes(policy({ absoluteTimeout: 10 }), 5), { createdAt: at(5), expiresAt: at(15), deadline: at(15) });
  });

  it('rolling: writes extend without a read unless a cap needs the stored dates; reads extend past touchAfter', () => {
    assert.equal(rollingExpiry(policy(), 0, undefined), undefined);
    assert.deepEqual(rollingExpiry(policy({ rolling: true }), 7, undefined), at(7 + HOUR));
    assert.equal(rollingExpiry(policy({ rolling: true, absoluteTimeout: 5 }), 0, undefined), undefined);
    const p = policy({ rolling: true, touchAfter: 10 * 60_000 });
    assert.equal(touchTarget(p, { expiresAt: at(HOUR) }, 5 * 60_000), undefined, 'gains 5 min, under touchAfter');
    assert.deepEqual(touchTarget(p, { expiresAt: at(HOUR) }, 11 * 60_000), at(11 * 60_000 + HOUR));
    assert.equal(touchTarget(policy(), { expiresAt: at(0) }, HOUR), undefined, 'not rolling');
  });

  it('tombstones: one lifetime after data, a few minutes for ids that never held any', () => {
    assert.deepEqual(tombstoneExpiry(policy({ expires: 14 * 24 * HOUR }), 0, true), at(14 * 24 * HOUR));
    assert.deepEqual(tombstoneExpiry(policy({ expires: 14 * 24 * HOUR }), 0, false), at(SHORT_TOMBSTONE_MS));
    assert.deepEqual(tombstoneExpiry(policy({ expires: 1000 }), 0, false), at(1000));
  });

  it('a session ended after this request began was ended during it; an expired or older one is stale', () => {
    assert.equal(endedDuring({ ended: true, endedAt: at(11) }, 10), true);
    assert.equal(endedDuring({ ended: true, endedAt: at(10) }, 10), false);
    assert.equal(endedDuring({ ended: true }, 10), false);
    assert.equal(endedDuring({ expiresAt: at(11) }, 10), false);
  });
});

describe('movedRecently', () => {
  const moved = { ended: true as const, endedAt: new Date(1_000_000), expiresAt: new Date(9_000_000) };
  it('within MOVE_GRACE_MS by default, or the grace given; edges included', () => {
    assert.equal(movedRecently(moved, 1_000_000 + MOVE_GRACE_MS, 1_000_000 + MOVE_GRACE_MS), true);
    assert.equal(movedRecently(moved, 1_000_001 + MOVE_GRACE_MS, 1_000_001 + MOVE_GRACE_MS), false);
    assert.equal(movedRecently(moved, 1_030_000, 1_030_000, 30_000), true);
    assert.equal(movedRecently(moved, 1_030_001, 1_030_001, 30_000), false);
    assert.equal(movedRecently(moved, 1_090_000, 999_999, 30_000), true, 'moved during the request');
  });
});
