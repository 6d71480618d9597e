// The session state machine's look-up transition.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashSessionId, isSessionId, newSessionId } from '../../src/session-id.js';
import { afterLookup, freshSession, type Judge } from '../../src/session-state.js';
import type { SessionDocument } from '../../src/session-document.js';

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
