#!/usr/bin/env node
// How long set() / del() key validation takes on the worst keys of a given size.
// Run: npm run bench:keys   (node --import tsx bench/key-validation.mjs; no database needed)
// Each case runs RUNS times after one warm-up; prints the median and the slowest run, in ms.
import { performance } from 'node:perf_hooks';
import { buildSet, buildUnset } from '../src/session-data.ts';

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
