// The session state machine's look-up transition.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashSessionId, isSessionId, newSessionId } from '../../../src/session/id.js';
import { afterLookup, freshSession, oldIdUse, type Judge } from '../../../src/session/state.js';
import type { SessionDocument } from '../../../src/storage/document.js';

const judge: Judge = { policy: { expires: 1000, rolling: false, touchAfter: 0, absoluteTimeout: 0 }, now: 100, requestStart: 50 };
const id = newSessionId();
const doc = (over: Partial<SessionDocument>): SessionDocument => ({ _id: hashSessionId(id), ...over });

describe('afterLookup', () => {
  it('live document: live', () => {
    const live = doc({ expiresAt: new Date(200), d: { a: 1 } });
    assert.deepEqual(afterLookup(id, live, judge, false), { kind: 'live', id, doc: live });
  });

  it('nothing stored: absent, or lost if this request had seen it live', () => {
    assert.deepEqual(afterLookup(id, null, judge, false), { kind: 'absent', id });
    assert.deepEqual(afterLookup(id, null, judge, true), { kind: 'lost', id });
  });

  it('ended by another request since this one began, or seen live before: lost (no new cookie)', () => {
    assert.deepEqual(afterLookup(id, doc({ ended: true, endedAt: new Date(60), expiresAt: new Date(999) }), judge, false), {
      kind: 'lost',
      id,
    });
    assert.deepEqual(afterLookup(id, doc({ expiresAt: new Date(90) }), judge, true), { kind: 'lost', id });
  });

  it('expired or ended before this request: a fresh id whose cookie waits for the first write', () => {
    for (const dead of [doc({ expiresAt: new Date(90) }), doc({ ended: true, endedAt: new Date(10), expiresAt: new Date(999) })]) {
      const next = afterLookup(id, dead, judge, false);
      assert.equal(next.kind, 'fresh');
      assert.ok(next.kind === 'fresh' && !next.cookieSent && next.id !== id && isSessionId(next.id));
    }
  });

  it('fresh ids are new each time', () => {
    assert.notEqual(freshSession(true).id, freshSession(true).id);
  });
});

describe('oldIdUse: the old id of a regenerate() with a grace window', () => {
  const to = hashSessionId(newSessionId());
  const GRACE = 10_000;
  const moved = (endedAt: number, expiresAt = endedAt + 3_600_000): SessionDocument =>
    doc({ ended: true, endedAt: new Date(endedAt), expiresAt: new Date(expiresAt), movedTo: to });
  const at = (now: number, requestStart = now): Judge => ({ ...judge, now, requestStart });

  it('forwarded within the window, both edges included; a replay one ms after it', () => {
    const tombstone = moved(1_000_000);
    assert.deepEqual(oldIdUse(tombstone, at(1_000_000), GRACE), { kind: 'forward', to }, 'at the move');
    assert.deepEqual(oldIdUse(tombstone, at(1_000_000 + GRACE), GRACE), { kind: 'forward', to }, 'at the last ms');
    assert.deepEqual(oldIdUse(tombstone, at(1_000_000 + GRACE + 1), GRACE), { kind: 'replay', to }, 'just after');
  });

  it('a request in flight during the move: forwarded within the window; after it, no replay but not forwarded either', () => {
    const tombstone = moved(1_000_000);
    assert.deepEqual(oldIdUse(tombstone, at(1_000_000 + GRACE, 999_999), GRACE), { kind: 'forward', to });
    assert.equal(oldIdUse(tombstone, at(1_000_001 + GRACE, 999_999), GRACE), undefined, 'held open past the window');
    assert.equal(afterLookup(id, tombstone, at(1_000_001 + GRACE, 999_999), true).kind, 'lost', 'refused, as without a window');
    assert.deepEqual(
      oldIdUse(tombstone, at(1_000_001 + GRACE, 1_000_000), GRACE),
      { kind: 'replay', to },
      'began at the move: not in flight',
    );
  });

  it('nothing to say: the window off, no tombstone, an end() without a move, an expired tombstone', () => {
    assert.equal(oldIdUse(moved(1_000_000), at(1_000_001), 0), undefined, 'regenerateGrace 0');
    assert.equal(oldIdUse(null, at(1_000_001), GRACE), undefined);
    assert.equal(oldIdUse(doc({ expiresAt: new Date(2_000_000) }), at(1_000_001), GRACE), undefined, 'a live session');
    const ended = doc({ ended: true, endedAt: new Date(1_000_000), expiresAt: new Date(2_000_000) });
    assert.equal(oldIdUse(ended, at(1_000_001), GRACE), undefined, 'ended, not moved');
    assert.equal(oldIdUse(moved(1_000_000, 1_500_000), at(1_500_000), GRACE), undefined, 'its tombstone expired');
  });
});
