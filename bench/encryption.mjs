#!/usr/bin/env node
// CPU of encryption at rest alone, without the database: sealing and opening one small value
// (what a set() and the first get() of a request add per encrypted key), next to the HMAC that
// every signed cookie costs, for scale. The database cells are in bench/overhead.mjs
// (`enc-read`, `enc-set`).
//
//   node --import tsx bench/encryption.mjs [--ops 30000] [--reps 5]
import { createHmac, randomBytes } from 'node:crypto';
import { encryptingCodec } from '../src/data/codec.ts';
import { resolveEncryption } from '../src/data/encryption.ts';
import { buildSet } from '../src/data/session-data.ts';
import { arg, median } from './harness.mjs';

const OPS = Number(arg('ops', 30_000));
const REPS = Number(arg('reps', 5));
const MAX_BYTES = 1024 * 1024;

const codec = encryptingCodec(resolveEncryption({ keys: [randomBytes(32)] }), () => undefined);
const stored = { k: buildSet({ k: 'v' }, MAX_BYTES, codec).$set['d.k'] };
const hmacKey = randomBytes(32);

const cases = [
  ['set() of one small key, plain: buildSet', () => buildSet({ n: 1 }, MAX_BYTES)],
  ['set() of one small key, encrypted: buildSet (seal)', () => buildSet({ n: 1 }, MAX_BYTES, codec)],
  // A fresh object each time: decode caches per stored object, as a request reads its session once.
  ['first get() of a session of one encrypted key: decode (open)', () => codec.decode({ ...stored })],
  ['for scale: one HMAC-SHA-256 (a signed cookie)', () => createHmac('sha256', hmacKey).update('x'.repeat(43)).digest()],
];

const samples = cases.map(() => []);
for (let rep = 0; rep <= REPS; rep++) {
  for (const [index, [, run]] of cases.entries()) {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < OPS; i++) run();
    const cpu = process.cpuUsage(cpu0);
    if (rep > 0) samples[index].push((cpu.user + cpu.system) / OPS); // rep 0 warms up
  }
}
console.log(`CPU µs per call, median of ${REPS} runs of ${OPS} calls (min–max):\n`);
for (const [index, [label]] of cases.entries()) {
  const values = samples[index];
  console.log(`${median(values).toFixed(2).padStart(7)}  (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})  ${label}`);
}
