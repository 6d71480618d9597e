#!/usr/bin/env node
// CPU overhead of mongosess against the raw driver, per operation, in one process:
// one MongoClient, sequential operations, real IncomingMessage/ServerResponse objects (no socket
// traffic, so no HTTP server in the numbers). Each case belongs to a kind, which names its arms,
// the connection they run on and the arm its target is judged against (see KINDS):
//
// driver: mongosess against the raw driver, three arms, on a plain connection:
//   raw:       the raw driver sending the same command, the cookie value being the document's _id;
//   floor:     the raw driver sending the same commands as mongosess (captured from mongosess on a
//              monitored client, and replayed with the floor's own document id), plus the
//              `cookies` and `keygrip` packages doing the same cookie work as mongosess (reading
//              and verifying the signed cookie, or setting a new signed one);
//   mongosess: the library.
//   The targets are judged against the floor.
// encryption (cases `enc-read`, `enc-set`): an encrypted key against one in clear, two arms, both
// mongosess on one connection with `encryption: { keys: [32 bytes], fields: ['s', 'e'] }`:
//   clear:     the operation on a key left out of `fields`;
//   encrypted: the same operation on a key in `fields` (one AES-GCM operation);
//   each on a session of its own holding one small value. The target: at most 1.15x in clear.
//
// Every round runs each case's arms back to back, in an order that rotates from round to round;
// a warm-up round is not recorded. The kinds run one after the other, each with all its rounds on
// its own connection (the shared connection is switched once, before the next kind's warm-up).
// Each kind reports in a table of its own.
//
//   npm run bench:overhead                         # the table (markdown)
//   npm run bench:overhead -- --rounds 9 --ops 600 --json out.json
//   npm run bench:overhead -- --only read,set
//   npm run bench:overhead -- --only enc-read,enc-set   # the encryption cells alone
//   npm run bench:overhead -- --profile read       # profile one case's mongosess (or encrypted) arm in a loop
//   npm run bench:overhead -- --profile read --arm floor --seconds 8   # arms: raw, floor, mongosess
//   npm run bench:overhead -- --profile enc-read --arm clear           # arms: clear, encrypted
//
// CPU is process.cpuUsage() (user + system) over N operations, divided by N; it includes the
// driver's own work (BSON, wire protocol) in every arm, so for the driver kind the ratio is
// mongosess's total over the driver's alone for the same database commands.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import Cookies from 'cookies';
import Keygrip from 'keygrip';
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
import { NOT_COUNTED } from './servers/common.mjs';

const DB = 'mongosess_bench_overhead';
const DAY = 24 * 3600 * 1000;
const ROUNDS = Number(arg('rounds', 7));
const DB_OPS = Number(arg('ops', 400));
const LIGHT_OPS = Number(arg('light-ops', 20_000));
/** A new visitor's target: at most this many µs of CPU more than the floor (database cases have their kind's `ratio`). */
const TARGET_NEW_US = 10;
/**
 * The kinds of case. `arms`: the arms in table order, each a method of the case; `labels`: how the
 * report names an arm (its name otherwise); `subject` is judged against `baseline` (`ratio`: the
 * target for database cases), and also compared with `alsoAgainst` when given; `connect`: the
 * options the shared mongosess connection needs for this kind's cases.
 */
const KINDS = {
  driver: {
    arms: ['raw', 'floor', 'mongosess'],
    labels: {},
    subject: 'mongosess',
    baseline: 'floor',
    alsoAgainst: 'raw',
    ratio: 1.1,
    connect: {},
    title:
      'Overhead against the floor (the raw driver sending the same command, plus cookies + keygrip doing the same cookie work) and the raw driver alone:',
  },
  encryption: {
    arms: ['clear', 'encrypted'],
    labels: { clear: 'in clear' },
    subject: 'encrypted',
    baseline: 'clear',
    ratio: 1.15,
    connect: { encryption: { keys: [Buffer.alloc(32, 7)], fields: ['s', 'e'] } },
    title:
      'Encryption at rest (connect option `encryption: { keys: [32 bytes], fields: [\'s\', \'e\'] }`), both arms mongosess on that one connection: "in clear" is the operation on a key left out of `encryption.fields`, "encrypted" the same operation on a key in it, each on a session of its own holding one small value.',
  },
};
const labelOf = (kind, armName) => kind.labels[armName] ?? armName;
/** The floor's signer: the benchmark's key with mongosess's default algorithm, built once (as mongosess resolves its options once). */
const GRIP = new Keygrip(SESSION_OPTIONS.keys, 'sha256');
/** The attributes mongosess sets on a new visitor's cookie by default (overwrite: it replaces an earlier line of the same name). */
const NEW_COOKIE = { signed: true, overwrite: true, httpOnly: true, path: '/', sameSite: 'lax' };
/** The value the floor sets for a new visitor (mongosess makes a random one: that is not cookie work). */
const NEW_ID = 'floor-new-visitor-0123456789abcdefghijklmno';

function check(condition, what) {
  if (!condition) throw new Error(`benchmark check failed: ${what}`);
}

/** The client and kind the shared mongosess connection is on (undefined: closed). */
let connected;

/** Connects mongosess on `client` as `kind`'s cases need it, unless it already is (never inside a timed loop). */
async function connectFor(client, kind, warnings = []) {
  if (connected?.client === client && connected.kind === kind) return;
  await connectMongoSess(client, DB, 'sessions', warnings, kind.connect);
  connected = { client, kind };
}

async function disconnect() {
  await new Promise((resolve) => MongoSess.close(() => resolve()));
  connected = undefined;
}

/** The floor's cookie work for a returning visitor: the signed session cookie read and verified by cookies + keygrip. */
function floorSid(req, res) {
  return new Cookies(req, res, { keys: GRIP }).get('sess', { signed: true });
}

/**
 * Sends `commands` (captured from mongosess: see captureCommands) through the driver's own
 * methods, on the floor's document `sid`; a `$set` of `d.n` gets `next()`. Returns the last
 * command's document.
 */
async function replay(collection, commands, sid, next) {
  let doc;
  for (const command of commands) {
    if (command.find !== undefined) {
      doc = await collection.findOne({ ...command.filter, _id: sid });
    } else if (command.findAndModify !== undefined) {
      const { $set } = command.update;
      const update = $set && 'd.n' in $set ? { ...command.update, $set: { ...$set, 'd.n': next() } } : command.update;
      doc = await collection.findOneAndUpdate({ ...command.query, _id: sid }, update, {
        upsert: command.upsert === true,
        returnDocument: command.new ? 'after' : 'before',
      });
    } else {
      throw new Error(`the floor cannot replay ${JSON.stringify(Object.keys(command)[0])}: add it to replay()`);
    }
  }
  return doc;
}

/**
 * The commands one mongosess operation of each database case sends, in order, recorded on a
 * monitored client: the floor sends the same ones.
 */
async function captureCommands(ctx) {
  const client = new MongoClient(uri(), { monitorCommands: true });
  const sent = [];
  client.on('commandStarted', (event) => {
    if (!NOT_COUNTED.has(event.commandName)) sent.push(event.command);
  });
  await client.connect();
  await connectFor(client, KINDS.driver);
  const templates = {};
  for (const c of defineCases({ ...ctx, templates: {} })) {
    if (!c.db || c.kind !== KINDS.driver) continue; // only the driver kind has a floor to replay them
    sent.length = 0;
    await c.mongosess();
    templates[c.name] = sent.splice(0);
    check(templates[c.name].length === c.commands, `mongosess sent ${templates[c.name].length} commands for ${c.name}`);
  }
  await disconnect();
  await client.close();
  return templates;
}

/**
 * The cases. `kind`: one of KINDS, whose arms the case has as methods. `db`: whether the operation
 * reaches the database (target: the subject arm's CPU at most the kind's `ratio` times the
 * baseline's); otherwise `addedUs`, if given, is the target on the subject's CPU minus the
 * baseline's. `commands`: the database commands one mongosess operation must send.
 */
function defineCases(ctx) {
  const { raw, floor, msCookie, rawCookie, floorCookie, enc } = ctx;
  let counter = 0;
  const next = () => ++counter;
  const rawSet = (sid, update, upsert) => raw.findOneAndUpdate({ _id: sid }, update, { upsert, returnDocument: 'after' });
  return [
    {
      name: 'read',
      label: 'read one key (`get(k)` vs `findOne`)',
      kind: KINDS.driver,
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        const doc = await raw.findOne({ _id: rawSidOf(req) });
        check(doc?.d?.k === 'v', 'raw read');
      },
      async floor() {
        const { req, res } = exchange(floorCookie);
        const doc = await replay(floor, ctx.templates.read, floorSid(req, res), next);
        check(doc?.d?.k === 'v', 'floor read');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check((await MongoSess(req, res, SESSION_OPTIONS).get('k')) === 'v', 'mongosess read');
      },
    },
    {
      name: 'set',
      label: 'blind set (`set({n})` vs `findOneAndUpdate` $set)',
      kind: KINDS.driver,
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        check((await rawSet(rawSidOf(req), { $set: { 'd.n': ++counter } }, true)) !== null, 'raw set');
      },
      async floor() {
        const { req, res } = exchange(floorCookie);
        check((await replay(floor, ctx.templates.set, floorSid(req, res), next)) !== null, 'floor set');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check((await MongoSess(req, res, SESSION_OPTIONS).set({ n: ++counter })) === true, 'mongosess set');
      },
    },
    {
      name: 'readset',
      label: 'read, then set',
      kind: KINDS.driver,
      db: true,
      commands: 2,
      async raw() {
        const { req } = exchange(rawCookie);
        const sid = rawSidOf(req);
        const doc = await raw.findOne({ _id: sid });
        check(doc?.d?.k === 'v', 'raw read');
        await rawSet(sid, { $set: { 'd.n': ++counter } }, true);
      },
      async floor() {
        const { req, res } = exchange(floorCookie);
        const [read, set] = ctx.templates.readset;
        const sid = floorSid(req, res);
        const doc = await replay(floor, [read], sid, next);
        check(doc?.d?.k === 'v', 'floor read');
        await replay(floor, [set], sid, next);
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
      kind: KINDS.driver,
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        const doc = await rawSet(rawSidOf(req), { $set: { 'd.n': ++counter } }, true);
        check(doc?.d?.n === counter, 'raw set then read');
      },
      async floor() {
        const { req, res } = exchange(floorCookie);
        const doc = await replay(floor, ctx.templates.setget, floorSid(req, res), next);
        check(doc?.d?.n === counter, 'floor set then read');
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
      kind: KINDS.driver,
      db: true,
      commands: 1,
      async raw() {
        const { req } = exchange(rawCookie);
        check((await rawSet(rawSidOf(req), { $unset: { 'd.gone': '' } }, false)) !== null, 'raw del');
      },
      async floor() {
        const { req, res } = exchange(floorCookie);
        check((await replay(floor, ctx.templates.del, floorSid(req, res), next)) !== null, 'floor del');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check((await MongoSess(req, res, SESSION_OPTIONS).del('gone')) === true, 'mongosess del');
      },
    },
    {
      name: 'returning',
      label: 'returning visitor, no database (`sid` vs cookie regex)',
      kind: KINDS.driver,
      db: false,
      commands: 0,
      async raw() {
        const { req } = exchange(rawCookie);
        check(rawSidOf(req) !== undefined, 'raw sid');
      },
      async floor() {
        const { req, res } = exchange(floorCookie);
        check(floorSid(req, res)?.length === 43, 'floor sid');
      },
      async mongosess() {
        const { req, res } = exchange(msCookie);
        check(MongoSess(req, res, SESSION_OPTIONS).sid.length === 43, 'mongosess sid');
      },
    },
    {
      name: 'new',
      label: 'new visitor, no database (constructor + Set-Cookie vs nothing)',
      kind: KINDS.driver,
      db: false,
      addedUs: TARGET_NEW_US,
      commands: 0,
      async raw() {
        const { req } = exchange();
        check(rawSidOf(req) === undefined, 'raw new visitor');
      },
      async floor() {
        const { req, res } = exchange();
        const cookies = new Cookies(req, res, { keys: GRIP });
        check(cookies.get('sess', { signed: true }) === undefined, 'floor new visitor');
        cookies.set('sess', NEW_ID, { ...NEW_COOKIE, expires: new Date(Date.now() + 14 * DAY) });
        check(res.getHeader('set-cookie').length === 2, 'floor new visitor cookie');
      },
      async mongosess() {
        const { req, res } = exchange();
        MongoSess(req, res, SESSION_OPTIONS);
        check(res.getHeader('set-cookie')?.length === 2, 'mongosess new visitor cookie (and its signature)');
      },
    },
    {
      name: 'enc-read',
      label: 'encrypted: read one key (`get(k)`, encrypted vs in clear)',
      kind: KINDS.encryption,
      db: true,
      commands: 1,
      async clear() {
        const { req, res } = exchange(enc.clearRead);
        check((await MongoSess(req, res, SESSION_OPTIONS).get('k')) === 'v', 'read in clear');
      },
      async encrypted() {
        const { req, res } = exchange(enc.sealedRead);
        check((await MongoSess(req, res, SESSION_OPTIONS).get('s')) === 'v', 'encrypted read');
      },
    },
    {
      name: 'enc-set',
      label: 'encrypted: blind set (`set({ key: n })`, encrypted vs in clear)',
      kind: KINDS.encryption,
      db: true,
      commands: 1,
      async clear() {
        const { req, res } = exchange(enc.clearSet);
        check((await MongoSess(req, res, SESSION_OPTIONS).set({ n: ++counter })) === true, 'set in clear');
      },
      async encrypted() {
        const { req, res } = exchange(enc.sealedSet);
        check((await MongoSess(req, res, SESSION_OPTIONS).set({ e: ++counter })) === true, 'encrypted set');
      },
    },
  ];
}

/**
 * The stored sessions every case works on: for the driver kind one through mongosess, one raw
 * document and the floor's; for the encryption kind four through mongosess on the encrypted
 * connection (a key in clear and an encrypted one, for reading and for setting).
 */
async function prepare(client) {
  const db = client.db(DB);
  await db.dropDatabase();
  const raw = db.collection('raw');
  const now = Date.now();
  const rawId = 'raw-session-id-0123456789abcdefghijklmnopqr';
  await raw.insertOne({ _id: rawId, d: { k: 'v' }, createdAt: new Date(now), expiresAt: new Date(now + 14 * DAY) });
  const warnings = [];
  await connectFor(client, KINDS.driver, warnings);
  const msCookie = await storedSession({ k: 'v' });
  await connectFor(client, KINDS.encryption, warnings);
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
  // The floor's document is stored as mongosess stores one, under a 43-character _id (as long as a digest).
  const floor = db.collection('floor');
  const floorId = 'floor-session-id-0123456789abcdefghijklmnop';
  await floor.insertOne({ _id: floorId, createdAt: new Date(now), expiresAt: new Date(now + 14 * DAY), d: { k: 'v' } });
  const floorCookie = `sess=${floorId}; sess.sig=${GRIP.sign(`sess=${floorId}`)}`;
  const ctx = { raw, floor, msCookie, enc, rawCookie: `sid=${rawId}`, floorCookie, warnings };
  ctx.templates = await captureCommands(ctx);
  return ctx;
}

async function runArm(fn, ops) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1000 / ops;
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / ops, wall };
}

/** Commands per operation of each arm, on a monitored client (a check, not timed). */
async function countCommands(cases, ctx) {
  const { client, commands } = await countingClient();
  const counting = { ...ctx, raw: client.db(DB).collection('raw'), floor: client.db(DB).collection('floor') };
  const counted = defineCases(counting);
  const result = {};
  for (const c of cases) {
    const twin = counted.find((x) => x.name === c.name);
    const per = {};
    await connectFor(client, c.kind);
    for (const armName of c.kind.arms) {
      const before = commands();
      for (let i = 0; i < 10; i++) await twin[armName]();
      per[armName] = (commands() - before) / 10;
    }
    result[c.name] = per;
  }
  await disconnect();
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

  const results = Object.fromEntries(cases.map((c) => [c.name, Object.fromEntries(c.kind.arms.map((armName) => [armName, []]))]));
  const started = Date.now();
  // One kind after the other, each on its connection for all its rounds: the one reconnect comes
  // before a kind's warm-up round, never between the rounds that count.
  for (const [kindName, kind] of Object.entries(KINDS)) {
    const ofKind = cases.filter((c) => c.kind === kind);
    if (ofKind.length === 0) continue;
    await connectFor(client, kind);
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [index, c] of ofKind.entries()) {
        const ops = c.db ? DB_OPS : LIGHT_OPS;
        // Each arm takes every place in the order in turn.
        const shift = (round + index) % kind.arms.length;
        const order = [...kind.arms.slice(shift), ...kind.arms.slice(0, shift)];
        for (const armName of order) {
          const sample = await runArm(c[armName], ops);
          if (round > 0) results[c.name][armName].push(sample); // round 0 is the warm-up
        }
      }
      process.stderr.write(`${kindName}: ${round === 0 ? 'warm-up done' : `round ${round}/${ROUNDS}`}\n`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  await disconnect();
  await client.db(DB).dropDatabase();
  await client.close();
  return { cases, results, commands, seconds, warnings: ctx.warnings, templates: ctx.templates };
}

/** A command's shape, values left out: `findAndModify query {_id, ended, expiresAt} update {$set, $setOnInsert} upsert`. */
function shapeOf(command) {
  const keys = (value) => `{${Object.keys(value ?? {}).join(', ')}}`;
  if (command.find !== undefined) return `find filter ${keys(command.filter)}`;
  return `findAndModify query ${keys(command.query)} update ${keys(command.update)}${command.upsert ? ' upsert' : ''}`;
}

/** One kind's table: each arm's CPU, the subject against the baseline (and `alsoAgainst`), wall, commands, target. */
function kindTable(kind, cases, results, commands) {
  const { arms, subject, baseline, alsoAgainst } = kind;
  const label = (armName) => labelOf(kind, armName);
  const against = alsoAgainst === undefined ? [] : [alsoAgainst];
  const rows = cases.map((c) => {
    const cpu = (armName) => results[c.name][armName].map((s) => s.cpu);
    const subjectCpu = cpu(subject);
    const perRound = (f) => subjectCpu.map((v, i) => f(v, i));
    const ratiosTo = (armName) => {
      const other = cpu(armName);
      return perRound((v, i) => v / other[i]);
    };
    const baselineCpu = cpu(baseline);
    const ratios = ratiosTo(baseline);
    const extra = perRound((v, i) => v - baselineCpu[i]);
    const wall = (armName) => fmt(median(results[c.name][armName].map((s) => s.wall)));
    const counted = arms.map((armName) => commands[c.name][armName]);
    const target = c.db
      ? `<= ${kind.ratio.toFixed(2)}x ${label(baseline)}`
      : c.addedUs !== undefined
        ? `<= ${label(baseline)} + ${c.addedUs} µs`
        : '–';
    const met = c.db ? median(ratios) <= kind.ratio : c.addedUs !== undefined ? median(extra) <= c.addedUs : undefined;
    return [
      c.label,
      ...arms.map((armName) => spread(cpu(armName))),
      spread(ratios, 2, 'x'),
      spread(extra),
      ...against.map((armName) => spread(ratiosTo(armName), 2, 'x')),
      arms.map(wall).join(' / '),
      counted.join(' / ') + (counted.every((n) => n === c.commands) ? '' : ` (expected ${c.commands})`),
      target,
      met === undefined ? '–' : met ? 'yes' : '**no**',
    ];
  });
  const header = [
    'Case',
    ...arms.map((armName) => `${label(armName)} CPU µs/op`),
    `${label(subject)} / ${label(baseline)}`,
    `${label(subject)} − ${label(baseline)} µs/op`,
    ...against.map((armName) => `${label(subject)} / ${label(armName)}`),
    `wall µs/op ${arms.map(label).join(' / ')}`,
    `commands/op ${arms.map(label).join(' / ')}`,
    'target',
    'met?',
  ];
  return table(header, rows);
}

function report({ cases, results, commands, seconds, templates }) {
  const sections = Object.values(KINDS).flatMap((kind) => {
    const ofKind = cases.filter((c) => c.kind === kind);
    return ofKind.length === 0 ? [] : ['', kind.title, '', kindTable(kind, ofKind, results, commands)];
  });
  const replayed = cases.filter((c) => templates[c.name]);
  return [
    `${ROUNDS} rounds after a warm-up, ${DB_OPS} operations per arm and round with the database, ${LIGHT_OPS} without; medians (min–max over rounds); ratios and differences are per round (same round, arms in rotating order). ${machine()}. Took ${fmt(seconds, 0)} s.`,
    ...sections,
    ...(replayed.length === 0
      ? []
      : [
          '',
          'The commands mongosess sent, which the floor sends too (on its own document):',
          '',
          ...replayed.map((c) => `- ${c.name}: ${templates[c.name].map(shapeOf).join('; then ')}`),
        ]),
  ].join('\n');
}

/** Profiles one case's arm in a loop (the V8 sampling profiler, as `node --cpu-prof`, around the loop only). */
async function profile(caseName) {
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
  const armName = arg('arm', c.kind.subject);
  if (!c.kind.arms.includes(armName)) throw new Error(`no arm ${armName} in ${caseName}; its arms: ${c.kind.arms.join(', ')}`);
  await connectFor(client, c.kind);
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
  await disconnect();
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
