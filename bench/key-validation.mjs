#!/usr/bin/env node
// How long set() / del() key validation takes on the worst keys of a given size; then what
// validating a set() body costs beside JSON.parse of the same body (target: at most 2x), and
// what refusing a body over maxDataBytes costs (it stops at the limit, whatever the body's size).
// Run: npm run bench:keys   (node --import tsx bench/key-validation.mjs; no database needed)
// Each case runs RUNS times after one warm-up; prints medians (and the slowest run), in ms.
import { performance } from 'node:perf_hooks';
import { buildSet, buildUnset } from '../src/data/session-data.ts';

const RUNS = Number(process.env.RUNS ?? 9);
const KB = 1024;
const MAX_BYTES = 64 * 1024 * 1024; // the size cap is not what is measured here

/** `count` segments named `name`, joined by dots. */
const dotted = (count, name = 'a') => Array.from({ length: count }, () => name).join('.');

/** As many keys of `segments` segments as fit in `bytes`, each distinct in its first segment. */
function manyKeys(bytes, segments) {
  const keys = [];
  for (let size = 0, i = 0; size < bytes; i++) {
    const key = segments === 1 ? `k${i}` : `k${i}.${dotted(segments - 1)}`;
    keys.push(key);
    size += key.length;
  }
  return keys;
}

const deep64 = dotted(32 * KB); // 64 KB: 32,768 one-letter segments
const deep16 = dotted(8 * KB); //  16 KB:  8,192 segments
const wide64 = `${'x'.repeat(32 * KB)}.${'y'.repeat(32 * KB - 1)}`; // 64 KB, 2 segments
const nested = manyKeys(64 * KB, 99); // ~330 keys of 99 segments: the deepest accepted
const flat = manyKeys(64 * KB, 1); // ~10,000 one-segment keys
// The set() arguments are built once, outside the timed runs (validation never changes them).
const nestedSet = Object.fromEntries(nested.map((k) => [k, 1]));
const flatSet = Object.fromEntries(flat.map((k) => [k, 1]));

const cases = [
  ['set(): 64 KB key, 32,768 segments (refused)', () => buildSet({ [deep64]: 1 }, MAX_BYTES), true],
  ['del(): 64 KB key, 32,768 segments (refused)', () => buildUnset([deep64]), true],
  ['set(): 16 KB key, 8,192 segments (refused)', () => buildSet({ [deep16]: 1 }, MAX_BYTES), true],
  ['set(): 64 KB key, 2 long segments (accepted)', () => buildSet({ [wide64]: 1 }, MAX_BYTES), false],
  ['set(): 64 KB of 99-segment keys (accepted)', () => buildSet(nestedSet, MAX_BYTES), false],
  ['del(): 64 KB of 99-segment keys (accepted)', () => buildUnset(nested), false],
  ['set(): 64 KB of one-segment keys (accepted)', () => buildSet(flatSet, MAX_BYTES), false],
];

function timeOnce(run, refused) {
  const start = performance.now();
  let threw = false;
  try {
    run();
  } catch {
    threw = true;
  }
  const ms = performance.now() - start;
  if (threw !== refused) throw new Error(`expected ${refused ? 'a refusal' : 'acceptance'}`);
  return ms;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

console.log(`key validation, ${RUNS} runs per case (node ${process.version})`);
console.log('case'.padEnd(48), 'median ms'.padStart(10), 'max ms'.padStart(10));
for (const [name, run, refused] of cases) {
  timeOnce(run, refused); // warm-up
  const times = Array.from({ length: RUNS }, () => timeOnce(run, refused));
  console.log(
    name.padEnd(48),
    median(times).toFixed(3).padStart(10),
    Math.max(...times)
      .toFixed(3)
      .padStart(10),
  );
}

// set() bodies as an app receives them (JSON), of several shapes: validation beside JSON.parse.
/** As many items made by `item(i)` as fill about `bytes` of JSON. */
function filled(bytes, item) {
  const items = [];
  for (let size = 0, i = 0; size < bytes; i++) {
    const value = item(i);
    items.push(value);
    size += JSON.stringify(value).length + 1;
  }
  return items;
}
const nest = (levels, leaf) => (levels === 0 ? leaf : { n: nest(levels - 1, leaf) });
const SHAPES = [
  ['records', (bytes) => ({ list: filled(bytes, (i) => ({ id: i, name: `user${i}`, tags: ['a', 'b'], ok: true, score: i * 1.5 })) })],
  ['flat keys', (bytes) => ({ obj: Object.fromEntries(filled(bytes, (i) => [`key${i}`, `value${i}`])) })],
  ['numbers', (bytes) => ({ nums: filled(bytes, (i) => i) })],
  ['nested 30 deep', (bytes) => ({ deep: filled(bytes, (i) => nest(30, { v: i })) })],
];
const MB = 1024 * KB;

console.log('');
console.log(`set() body validation beside JSON.parse, ${RUNS} runs per case (medians)`);
console.log('body'.padEnd(28), 'JSON.parse ms'.padStart(14), 'validate ms'.padStart(12), 'ratio'.padStart(7));
for (const bytes of [100 * KB, MB]) {
  for (const [shape, make] of SHAPES) {
    const body = JSON.stringify(make(bytes));
    const parse = [];
    const validate = [];
    for (let run = 0; run <= RUNS; run++) {
      let start = performance.now();
      const data = JSON.parse(body);
      const parsed = performance.now() - start;
      start = performance.now();
      buildSet(data, MAX_BYTES);
      const validated = performance.now() - start;
      if (run === 0) continue; // warm-up
      parse.push(parsed);
      validate.push(validated);
    }
    const [p, v] = [median(parse), median(validate)];
    console.log(
      `${(body.length / KB).toFixed(0)} KB ${shape}`.padEnd(28),
      p.toFixed(2).padStart(14),
      v.toFixed(2).padStart(12),
      `${(v / p).toFixed(2)}x`.padStart(7),
    );
  }
}

// A body over maxDataBytes is refused once the limit is passed: the cost follows the limit.
console.log('');
console.log(`refusing a body over maxDataBytes (1 MiB), ${RUNS} runs per case (medians)`);
console.log('body'.padEnd(28), 'refuse ms'.padStart(14));
for (const bytes of [2 * MB, 16 * MB]) {
  const data = JSON.parse(JSON.stringify(SHAPES[0][1](bytes)));
  const times = Array.from({ length: RUNS + 1 }, () => timeOnce(() => buildSet(data, MB), true)).slice(1);
  console.log(`${bytes / MB} MB records`.padEnd(28), median(times).toFixed(3).padStart(14));
}
