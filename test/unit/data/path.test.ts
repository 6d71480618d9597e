// Key and path validation of set() / del(): depth limit, overlap detection, and large flat sets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PATH_SEGMENTS } from '../../../src/data/path.js';
import { MongoSessValidationError } from '../../../src/edge/errors.js';
import { buildSet, buildUnset } from '../../../src/data/session-data.js';

const MiB = 1024 * 1024;
const path = (segments: number, name = 'a') => Array.from({ length: segments }, () => name).join('.');

describe('key paths', () => {
  it("a path of 99 segments is accepted; 100 segments (past MongoDB's 100 levels) are refused, in set() and del()", () => {
    assert.equal(MAX_PATH_SEGMENTS, 99);
    assert.deepEqual(Object.keys(buildSet({ [path(99)]: 1 }, MiB).$set), [`d.${path(99)}`]);
    for (const run of [() => buildSet({ [path(100)]: 1 }, MiB), () => buildUnset([path(100)])]) {
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof MongoSessValidationError);
        assert.match(err.message, /^mongosess: key ".*" is a path of more than 99 segments; MongoDB nests documents at most 100 levels/);
        return true;
      });
    }
  });

  it('the depth limit is checked before the segments: a 64 KB path of 32,000 bad segments reports its depth', () => {
    const hostile = path(32_000, '$');
    assert.throws(() => buildSet({ [hostile]: 1 }, MiB), /path of more than 99 segments/);
    assert.throws(() => buildUnset(['ok', hostile]), /path of more than 99 segments/);
  });

  it('a value below a long path may only nest as deep as MongoDB has levels left', () => {
    const deep = (levels: number): unknown => (levels === 0 ? 1 : { x: deep(levels - 1) });
    // 90 segments: levels 3..91 of the document, leaving 9 for the value (100 in all).
    assert.doesNotThrow(() => buildSet({ [path(90)]: deep(9) }, MiB));
    assert.throws(() => buildSet({ [path(90)]: deep(10) }, MiB), /nested more than 9 levels deep/);
    // A short key keeps the 64-level limit on values.
    assert.throws(() => buildSet({ a: deep(65) }, MiB), /nested more than 64 levels deep/);
  });

  it('overlapping keys are found in either order, among many keys', () => {
    const many: Record<string, number> = {};
    for (let i = 0; i < 5000; i++) many[`k${i}.${path(50)}`] = i;
    assert.throws(() => buildSet({ ...many, 'k4999.a.a': 1 }, 64 * MiB), /keys "k4999\.a\.a" and "k4999\.a\.a\.a.*" overlap/);
    assert.throws(() => buildSet({ 'k7.a': 1, ...many }, 64 * MiB), /keys "k7\.a" and "k7\.a\.a.*" overlap/);
    assert.throws(() => buildUnset(['user.name', 'x', 'user']), /keys "user" and "user\.name" overlap/);
    assert.throws(() => buildUnset(['user', 'user.name']), /keys "user" and "user\.name" overlap/);
  });

  it('keys that share a prefix without overlapping are accepted, and the same key twice in del() is no overlap', () => {
    assert.doesNotThrow(() => buildSet({ 'a.b': 1, 'a.c': 2, 'a.bb': 3, ab: 4 }, MiB));
    assert.deepEqual(buildUnset(['a', 'a', 'b.c']), { 'd.a': '', 'd.b.c': '' });
  });

  it('a large flat set of keys is accepted whole', () => {
    const flat: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) flat[`key${i}`] = i;
    const update = buildSet(flat, 4 * MiB).$set;
    assert.equal(Object.keys(update).length, 20_000);
    assert.equal(update['d.key19999'], 19_999);
  });
});
