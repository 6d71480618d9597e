#!/usr/bin/env node
// CPU overhead of mongosess against the raw driver, per operation, in one process:
// one MongoClient, sequential operations, real IncomingMessage/ServerResponse objects (no socket
// traffic, so no HTTP server in the numbers). Every round runs each case's raw and mongosess
// arms back to back, alternating which goes first (ABAB); a warm-up round is not recorded.
//
//   npm run bench:overhead                         # the table (markdown)
//   npm run bench:overhead -- --rounds 9 --ops 600 --json out.json
//   npm run bench:overhead -- --only read,set
//   npm run bench:overhead -- --profile read       # profile one case's mongosess arm in a loop
//   npm run bench:overhead -- --profile read --arm raw --seconds 8
//
// The encrypted cells (`enc-read`, `enc-set`) compare an encrypted key with one in clear, not
// with the raw driver: one connection with `encryption: { keys: [32 bytes], fields: ['s', 'e'] }`,
// the same operation on a key in `fields` (one AES-GCM operation) and on a key left out, each on
// a session of its own holding one small value. Their target is on that ratio: at most 1.15x.
//
// CPU is process.cpuUsage() (user + system) over N operations, divided by N; it includes the
// driver's own work (BSON, wire protocol) on both sides, so the ratio is mongosess's total
// over the driver's alone for the same database command.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { MongoClient } from 'mongodb';
import MongoSess from 'mongosess';
import {
  arg,
  connectMongoSess,
  countingClient,
  exchange,
  fmt,
  machine,
  median,
  rawSidOf,
  SESSION_OPTIONS,
  spread,
  storedSession,
  table,
  uri,
} from './harness.mjs';
import { summarizeProfile } from './profile-top.mjs';

const DB = 'mongosess_bench_overhead';
const DAY = 24 * 3600 * 1000;
const ROUNDS = Number(arg('rounds', 7));
const DB_OPS = Number(arg('ops', 400));
const LIGHT_OPS = Number(arg('light-ops', 20_000));
/** The connection a case runs on: `plain` (no encryption, every ordinary case) or `encrypted`. */
const ENCRYPTION = { encryption: { keys: [Buffer.alloc(32, 7)], fields: ['s', 'e'] } };
let connected = 'plain';

/** Switches the shared connection (outside the timed loop) when an arm needs the other one. */
async function ensureConnection(client, mode) {
  if (mode === connected) return;
  await connectMongoSess(client, DB, 'sessions', [], mode === 'encrypted' ? ENCRYPTION : {});
  connected = mode;
}

function check(condition, what) {
  if (!condition) throw new Error(`benchmark check failed: ${what}`);
}

/**
 * The cases. `db`: whether the operation reaches the database (target: mongosess CPU at most
 * 1.10x raw); otherwise the target is on mongosess's CPU minus the raw arm's (library CPU).
 * `commands`: the database commands one mongosess operation must send.
 */
function defineCases(ctx) {
  const { raw, msCookie, rawCookie, enc } = ctx;
  let counter = 0;
  const rawSet = (sid, update, upsert) => raw.findOneAndUpdate({ _id: sid }, update, { upsert, returnDocument: 'after' });
  return [
    {
      name: 'read',
      label: 'read one key (`get(k)` vs `findOne`)',
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        const doc = await raw.findOne({ _id: rawSidOf(req) });
        check(doc?.d?.k === 'v', 'raw read');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check((await MongoSess(req, res, SESSION_OPTIONS).get('k')) === 'v', 'mongosess read');
      },
    },
    {
      name: 'set',
      label: 'blind set (`set({n})` vs `findOneAndUpdate` $set)',
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        check((await rawSet(rawSidOf(req), { $set: { 'd.n': ++counter } }, true)) !== null, 'raw set');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check((await MongoSess(req, res, SESSION_OPTIONS).set({ n: ++counter })) === true, 'mongosess set');
      },
    },
    {
      name: 'readset',
      label: 'read, then set',
      db: true,
      commands: 2,
      async raw() {
        const { req } = exchange(rawCookie);
        const sid = rawSidOf(req);
        const doc = await raw.findOne({ _id: sid });
        check(doc?.d?.k === 'v', 'raw read');
        await rawSet(sid, { $set: { 'd.n': ++counter } }, true);
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        const session = MongoSess(req, res, SESSION_OPTIONS);
        check((await session.get('k')) === 'v', 'mongosess read');
        await session.set({ n: ++counter });
      },
    },
    {
      name: 'setget',
      label: 'set, then get (`set` returns the document)',
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        const doc = await rawSet(rawSidOf(req), { $set: { 'd.n': ++counter } }, true);
        check(doc?.d?.n === counter, 'raw set then read');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        const session = MongoSess(req, res, SESSION_OPTIONS);
        await session.set({ n: ++counter });
        check((await session.get('n')) === counter, 'mongosess set then get');
      },
    },
    {
      name: 'del',
      label: 'del (`del(k)` vs `findOneAndUpdate` $unset)',
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        check((await rawSet(rawSidOf(req), { $unset: { 'd.gone': '' } }, false)) !== null, 'raw del');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check((await MongoSess(req, res, SESSION_OPTIONS).del('gone')) === true, 'mongosess del');
      },
    },
    {
      name: 'enc-read',
      label: 'encrypted: read one key (`get(k)`, encrypted vs in clear)',
      db: true,
      encrypted: true,
      commands: 1,
      async raw() {
        const { req, res } = exchange(enc.clearRead);
        check((await MongoSess(req, res, SESSION_OPTIONS).get('k')) === 'v', 'read in clear');
      },
      async mongosess() {
        const { req, res } = exchange(enc.sealedRead);
        check((await MongoSess(req, res, SESSION_OPTIONS).get('s')) === 'v', 'encrypted read');
      },
    },
    {
      name: 'enc-set',
      label: 'encrypted: blind set (`set({ key: n })`, encrypted vs in clear)',
      db: true,
      encrypted: true,
      commands: 1,
      async raw() {
        const { req, res } = exchange(enc.clearSet);
        check((await MongoSess(req, res, SESSION_OPTIONS).set({ n: ++counter })) === true, 'set in clear');
      },
      async mongosess() {
        const { req, res } = exchange(enc.sealedSet);
        check((await MongoSess(req, res, SESSION_OPTIONS).set({ e: ++counter })) === true, 'encrypted set');
      },
    },
    {
      name: 'returning',
      label: 'returning visitor, no database (`sid` vs cookie regex)',
      db: false,
      commands: 0,
      async raw() {
        const { req } = exchange(rawCookie);
        check(rawSidOf(req) !== undefined, 'raw sid');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check(MongoSess(req, res, SESSION_OPTIONS).sid.length === 43, 'mongosess sid');
      },
    },
    {
      name: 'new',
      label: 'new visitor, no database (constructor + Set-Cookie vs nothing)',
      db: false,
      commands: 0,
      async raw() {
        const { req } = exchange();
        check(rawSidOf(req) === undefined, 'raw new visitor');
      },
      async mongosess() {
        const { req, res } = exchange();
        MongoSess(req, res, SESSION_OPTIONS);
        check(res.hasHeader('set-cookie'), 'mongosess new visitor cookie');
      },
    },
  ];
}

/** The stored sessions every case works on: one through mongosess, one raw document. */
async function prepare(client) {
  const db = client.db(DB);
  await db.dropDatabase();
  const raw = db.collection('raw');
  const now = Date.now();
  const rawId = 'raw-session-id-0123456789abcdefghijklmnopqr';
  await raw.insertOne({ _id: rawId, d: { k: 'v' }, createdAt: new Date(now), expiresAt: new Date(now + 14 * DAY) });
  const warnings = [];
  await connectMongoSess(client, DB, 'sessions', warnings);
  const msCookie = await storedSession({ k: 'v' });
  await connectMongoSess(client, DB, 'sessions', warnings, ENCRYPTION);
  const enc = {
    clearRead: await storedSession({ k: 'v' }),
    sealedRead: await storedSession({ s: 'v' }),
    clearSet: await storedSession({ n: 0 }),
    sealedSet: await storedSession({ e: 0 }),
  };
  const sealed = await db
    .collection('sessions')
    .countDocuments({ $or: [{ 'd.s': { $type: 'binData' } }, { 'd.e': { $type: 'binData' } }] });
  check(sealed === 2, 'the encrypted keys are stored encrypted');
  await connectMongoSess(client, DB, 'sessions', warnings);
  connected = 'plain';
  return { raw, msCookie, enc, rawCookie: `sid=${rawId}`, warnings };
}

async function runArm(fn, ops) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1000 / ops;
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / ops, wall };
}

/** The connection an arm of a case runs on. */
const modeOf = (c) => (c.encrypted ? 'encrypted' : 'plain');

/** Commands per operation of each arm, on a monitored client (a check, not timed). */
async function countCommands(cases, ctx) {
  const { client, commands } = await countingClient();
  await connectMongoSess(client, DB, 'sessions');
  connected = 'plain';
  const counting = { ...ctx, raw: client.db(DB).collection('raw'), msCookie: ctx.msCookie };
  const counted = defineCases(counting);
  const result = {};
  for (const c of cases) {
    const twin = counted.find((x) => x.name === c.name);
    const per = {};
    for (const armName of ['raw', 'mongosess']) {
      await ensureConnection(client, modeOf(c));
      const before = commands();
      for (let i = 0; i < 10; i++) await twin[armName]();
      per[armName] = (commands() - before) / 10;
    }
    result[c.name] = per;
  }
  await new Promise((resolve) => MongoSess.close(() => resolve()));
  await client.close();
  return result;
}

async function measure() {
  const client = new MongoClient(uri());
  await client.connect();
  const ctx = await prepare(client);
  const only = arg('only');
  const cases = defineCases(ctx).filter((c) => typeof only !== 'string' || only.split(',').includes(c.name));

  const commands = await countCommands(cases, ctx);
  await connectMongoSess(client, DB, 'sessions');
  connected = 'plain';

  const results = Object.fromEntries(cases.map((c) => [c.name, { raw: [], mongosess: [] }]));
  const started = Date.now();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [index, c] of cases.entries()) {
      const ops = c.db ? DB_OPS : LIGHT_OPS;
      const order = (round + index) % 2 === 0 ? ['raw', 'mongosess'] : ['mongosess', 'raw'];
      for (const armName of order) {
        await ensureConnection(client, modeOf(c));
        const sample = await runArm(c[armName], ops);
        if (round > 0) results[c.name][armName].push(sample); // round 0 is the warm-up
      }
    }
    process.stderr.write(round === 0 ? 'warm-up done\n' : `round ${round}/${ROUNDS}\n`);
  }
  const seconds = (Date.now() - started) / 1000;
  await new Promise((resolve) => MongoSess.close(() => resolve()));
  await client.db(DB).dropDatabase();
  await client.close();
  return { cases, results, commands, seconds, warnings: ctx.warnings };
}

function report({ cases, results, commands, seconds }) {
  const row = (c) => {
    const { raw, mongosess } = results[c.name];
    const rawCpu = raw.map((s) => s.cpu);
    const msCpu = mongosess.map((s) => s.cpu);
    const ratios = msCpu.map((v, i) => v / rawCpu[i]);
    const extra = msCpu.map((v, i) => v - rawCpu[i]);
    const counted = commands[c.name];
    const limit = c.encrypted ? 1.15 : 1.1;
    const target = c.db ? `<= ${limit.toFixed(2)}x` : c.name === 'new' ? '<= 12 µs library' : '–';
    const met = c.db ? median(ratios) <= limit : c.name === 'new' ? median(extra) <= 12 : undefined;
    return [
      c.label,
      spread(rawCpu),
      spread(msCpu),
      spread(ratios, 2, 'x'),
      spread(extra),
      `${fmt(median(raw.map((s) => s.wall)))} / ${fmt(median(mongosess.map((s) => s.wall)))}`,
      `${counted.mongosess} / ${counted.raw}${counted.mongosess === c.commands ? '' : ` (expected ${c.commands})`}`,
      target,
      met === undefined ? '–' : met ? 'yes' : '**no**',
    ];
  };
  const encrypted = cases.filter((c) => c.encrypted);
  const header = [
    'Case',
    'raw CPU µs/op',
    'mongosess CPU µs/op',
    'ratio',
    'library µs/op (difference)',
    'wall µs/op raw / mongosess',
    'commands/op mongosess / raw',
    'target',
    'met?',
  ];
  return [
    `Overhead against the raw driver: ${ROUNDS} rounds after a warm-up, ${DB_OPS} operations per arm and round with the database, ${LIGHT_OPS} without; medians (min–max over rounds); ratio and difference are per round (same round, arms alternating). ${machine()}. Took ${fmt(seconds, 0)} s.`,
    '',
    table(header, cases.filter((c) => !c.encrypted).map(row)),
    ...(encrypted.length === 0
      ? []
      : [
          '',
          'Encryption at rest (connect option `encryption`): one connection; the "in clear" columns use a key left out of `encryption.fields`, the "encrypted" columns a key in it, each on a session of its own holding one small value.',
          '',
          table(
            header.map((h) => h.replace('raw', 'in clear').replace('mongosess', 'encrypted')),
            encrypted.map(row),
          ),
        ]),
  ].join('\n');
}

/** Profiles one case's arm in a loop (the V8 sampling profiler, as `node --cpu-prof`, around the loop only). */
async function profile(caseName) {
  const armName = arg('arm', 'mongosess');
  const seconds = Number(arg('seconds', 6));
  const client = new MongoClient(uri());
  await client.connect();
  const ctx = await prepare(client);
  const c = defineCases(ctx).find((x) => x.name === caseName);
  if (!c)
    throw new Error(
      `no case ${caseName}; cases: ${defineCases(ctx)
        .map((x) => x.name)
        .join(', ')}`,
    );
  await ensureConnection(client, modeOf(c));
  await runArm(c[armName], c.db ? DB_OPS : LIGHT_OPS); // warm-up

  const inspector = new Session();
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: Number(arg('interval', 100)) });
  await inspector.post('Profiler.start');
  const end = Date.now() + seconds * 1000;
  let ops = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 100; i++) await c[armName]();
    ops += 100;
  }
  const { profile: cpuProfile } = await inspector.post('Profiler.stop');
  inspector.disconnect();

  const dir = String(arg('out', 'bench/profiles'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${caseName}-${armName}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify(cpuProfile));
  console.log(`${ops} operations of "${c.label}" (${armName}) profiled; ${file} opens in Chrome DevTools.\n`);
  console.log(summarizeProfile(cpuProfile, { ops, top: Number(arg('top', 15)) }));
  await new Promise((resolve) => MongoSess.close(() => resolve()));
  await client.db(DB).dropDatabase();
  await client.close();
}

const profiled = arg('profile');
if (typeof profiled === 'string') {
  await profile(profiled);
} else {
  const measured = await measure();
  const text = report(measured);
  console.log(text);
  const json = arg('json');
  if (typeof json === 'string') {
    writeFileSync(
      json,
      JSON.stringify(
        { date: new Date().toISOString(), machine: machine(), ...measured, cases: measured.cases.map((c) => c.name) },
        null,
        2,
      ),
    );
    console.log(`\nsaved ${json}`);
  }
}
