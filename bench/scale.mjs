#!/usr/bin/env node
// Read and write latency as the collection grows: 100, 10,000 and 100,000 stored sessions, through
// mongosess and through the raw driver, on one collection of one server (so the raw rows show
// what is the server's). Filler documents have a session's shape and are bulk-inserted.
//
//   npm run bench:scale                                   # about 1-3 minutes on 2 shared CPUs
//   npm run bench:scale -- --sizes 100,10000 --ops 30 --rounds 3 --json out.json
//
// Every round measures a block of `ops` sequential operations per arm (raw read, mongosess read,
// raw write, mongosess write, order alternating between rounds); latency is per operation
// (wall time, awaited), pooled over the rounds.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import MongoSess from 'mongosess';
import {
  arg,
  connectMongoSess,
  exchange,
  fmt,
  machine,
  median,
  percentile,
  rawSidOf,
  SESSION_OPTIONS,
  storedSession,
  table,
  uri,
} from './harness.mjs';

const DB = 'mongosess_bench_scale';
const DAY = 24 * 3600 * 1000;
const SIZES = String(arg('sizes', '100,10000,100000')).split(',').map(Number);
const OPS = Number(arg('ops', 30));
const ROUNDS = Number(arg('rounds', 3));
const BATCH = 1000;

const client = new MongoClient(uri());
await client.connect();
const db = client.db(DB);
await db.dropDatabase();
const collection = db.collection('sessions');
await connectMongoSess(client, DB, 'sessions');

const started = Date.now();
const now = Date.now();
const rawId = randomBytes(32).toString('base64url');
await collection.insertOne({ _id: rawId, d: { k: 'v' }, createdAt: new Date(now), expiresAt: new Date(now + 14 * DAY) });
const rawCookie = `sid=${rawId}`;
const msCookie = await storedSession({ k: 'v' });

let counter = 0;
const arms = {
  'raw read': async () => {
    const { req } = exchange(rawCookie);
    await collection.findOne({ _id: rawSidOf(req) });
  },
  'mongosess read': async () => {
    const { req, res } = exchange(msCookie);
    await MongoSess(req, res, SESSION_OPTIONS).get('k');
  },
  'raw write': async () => {
    const { req } = exchange(rawCookie);
    await collection.findOneAndUpdate({ _id: rawSidOf(req) }, { $set: { 'd.n': ++counter } }, { upsert: true, returnDocument: 'after' });
  },
  'mongosess write': async () => {
    const { req, res } = exchange(msCookie);
    await MongoSess(req, res, SESSION_OPTIONS).set({ n: ++counter });
  },
};

/** Adds filler sessions until the collection holds `size` documents. */
async function fillTo(size) {
  let count = await collection.countDocuments();
  while (count < size) {
    const n = Math.min(BATCH, size - count);
    const at = Date.now();
    const docs = Array.from({ length: n }, (_, i) => ({
      _id: randomBytes(32).toString('base64url'),
      d: { user: `user${count + i}`, n: count + i },
      createdAt: new Date(at),
      expiresAt: new Date(at + 14 * DAY),
    }));
    await collection.insertMany(docs, { ordered: false });
    count += n;
  }
  return count;
}

const rows = [];
const results = [];
for (const size of SIZES) {
  const fillStart = Date.now();
  const stored = await fillTo(size);
  const fillSeconds = (Date.now() - fillStart) / 1000;
  const latencies = Object.fromEntries(Object.keys(arms).map((name) => [name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    const names = Object.keys(arms);
    for (const name of round % 2 ? names.reverse() : names) {
      for (let i = 0; i < OPS; i++) {
        const t0 = process.hrtime.bigint();
        await arms[name]();
        if (round > 0) latencies[name].push(Number(process.hrtime.bigint() - t0) / 1e6); // round 0 warms up
      }
    }
  }
  const ms = (name) => latencies[name];
  for (const op of ['read', 'write']) {
    const raw = ms(`raw ${op}`);
    const ours = ms(`mongosess ${op}`);
    rows.push([
      stored.toLocaleString('en-US'),
      op,
      fmt(median(raw), 2),
      fmt(percentile(raw, 95), 2),
      fmt(median(ours), 2),
      fmt(percentile(ours, 95), 2),
      `${fmt(median(ours) / median(raw), 2)}x`,
    ]);
  }
  results.push({ size: stored, fillSeconds, latencies });
  process.stderr.write(`${stored} stored: filled in ${fmt(fillSeconds)} s, measured\n`);
}
const seconds = (Date.now() - started) / 1000;

console.log(
  `Latency by stored sessions: ${ROUNDS} rounds after a warm-up, ${OPS} sequential operations per arm and round (${ROUNDS * OPS} per cell), ms. ${machine()}. Took ${fmt(seconds, 0)} s (bulk inserts included).\n`,
);
console.log(
  table(['Stored sessions', 'Operation', 'raw p50 ms', 'raw p95 ms', 'mongosess p50 ms', 'mongosess p95 ms', 'p50 mongosess/raw'], rows),
);
const json = arg('json');
if (typeof json === 'string') {
  writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), machine: machine(), seconds, results }, null, 2));
  console.log(`\nsaved ${json}`);
}
await new Promise((resolve) => MongoSess.close(() => resolve()));
await db.dropDatabase();
await client.close();
