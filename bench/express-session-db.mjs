#!/usr/bin/env node
// What the express-session apps of `npm run bench` ask of the database, measured two ways:
//
// 1. Commands per request. mongosess/express-session, express-session + connect-mongo as the
//    benchmark configures it (`touchAfter: 24 h`) and express-session + connect-mongo with
//    connect-mongo's defaults run in this process on one monitored MongoClient, each on its own
//    collection; for each workload one request is sent and the commands it caused are counted
//    (after the response, until the database has been quiet for a while: express-session writes
//    after it answers).
// 2. The server's cost of those commands. The commands of one "set one key" request of
//    mongosess/express-session and of express-session + connect-mongo are captured as sent, then
//    replayed with `db.command()` (each of 10 concurrent workers on one of 10 stored sessions, its
//    own document id put in the filter, a fresh value in the write), so the figures are the
//    server's, not the apps'. More arms replay mongosess's write without its guard (the filter
//    reduced to `_id`) and as an `update` command (no document returned), to attribute the
//    difference. Arms run back to back in each round, in an order rotated between rounds;
//    medians over rounds.
//
//   npm run bench:express-session-db                     # prints the tables
//   npm run bench:express-session-db -- --rounds 7 --seconds 3
//   npm run bench:express-session-db -- --write-docs     # also writes docs/express-session-db.md
//   MONGODB_URI=mongodb://127.0.0.1:27017/ npm run bench:express-session-db   # against a mongod of your own
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import MongoStore from 'connect-mongo';
import express from 'express';
import expressSession from 'express-session';
import { MongoClient } from 'mongodb';
import MongoSess from 'mongosess';
import { session as mongoSessSession } from 'mongosess/express-session';
import { arg, fmt, median, table, uri } from './harness.mjs';
import { NOT_COUNTED } from './servers/common.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(arg('rounds', 5));
const SECONDS = Number(arg('seconds', 2));
const WORKERS = 10;
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 30)) throw new Error('--rounds must be 1..30');
if (!(SECONDS >= 0.5 && SECONDS <= 30)) throw new Error('--seconds must be 0.5..30');
const DB = 'mongosess_express_session_db';
const MARK = 0.5772156649015329;

const client = new MongoClient(uri(), { monitorCommands: true });
let capture;
client.on('commandStarted', (event) => {
  if (capture && !NOT_COUNTED.has(event.commandName)) capture.push(event);
});
await client.connect();
const db = client.db(DB);
await db.dropDatabase();
const buildInfo = await db.admin().command({ buildInfo: 1 });
const serverName = typeof buildInfo.ferretdbVersion === 'string' ? `FerretDB ${buildInfo.ferretdbVersion}` : `MongoDB ${buildInfo.version}`;

// ---------------------------------------------------------------------------------------------
// The two apps, as bench/servers/ has them (the routes that matter here)

await MongoSess.connect({ client, db: DB, collection: 'mongosess', warn: () => {} });
// FerretDB 1.x refuses TTL indexes (connect-mongo's 'native' mode then fails every request).
const autoRemove = serverName.startsWith('FerretDB') ? 'interval' : 'native';
const connectMongo = MongoStore.create({
  client,
  dbName: DB,
  collectionName: 'connect_mongo',
  autoRemove,
  touchAfter: 24 * 3600,
});
await connectMongo.collectionP;
// connect-mongo with its defaults (touchAfter: 0): a request that only reads a session touches it.
const connectMongoDefaults = MongoStore.create({
  client,
  dbName: DB,
  collectionName: 'connect_mongo_defaults',
  autoRemove,
});
await connectMongoDefaults.collectionP;

function app(middleware) {
  const app = express();
  app.use(middleware);
  app.get('/login', (req, res) => {
    req.session.user = 'ann';
    res.send('ok');
  });
  app.get(['/read', '/new'], (req, res) => res.send(`user=${req.session.user}`));
  app.get('/readset', (req, res) => {
    const user = req.session.user;
    req.session.n = Math.random();
    res.send(`user=${user}`);
  });
  app.get('/set', (req, res) => {
    // With ?mark, a marker that the replay replaces with a fresh value on every command (a write
    // that changes nothing can cost a server less than one that does); else a new value each time.
    req.session.n = req.query.mark === undefined ? Math.random() : MARK;
    res.send('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  return new Promise((resolve) => server.once('listening', () => resolve(server)));
}
const secret = 'a benchmark secret, long enough to be realistic';
const apps = {
  mongosess: {
    label: 'mongosess/express-session',
    collection: 'mongosess',
    server: await app(mongoSessSession({ secret, resave: false, saveUninitialized: false })),
  },
  express: {
    label: 'express-session + connect-mongo',
    collection: 'connect_mongo',
    server: await app(expressSession({ secret, resave: false, saveUninitialized: false, store: connectMongo })),
  },
  defaults: {
    label: "express-session + connect-mongo, connect-mongo's defaults (touchAfter: 0)",
    collection: 'connect_mongo_defaults',
    server: await app(expressSession({ secret, resave: false, saveUninitialized: false, store: connectMongoDefaults })),
  },
};
const baseOf = (server) => `http://127.0.0.1:${server.address().port}`;
const cookieOf = (res) =>
  res.headers
    .getSetCookie()
    .map((line) => line.split(';', 1)[0])
    .join('; ');

/** Resolves once `collection` holds `count` documents (express-session answers before it has stored: expressjs/session#360). */
async function stored(collection, count) {
  for (let tries = 0; (await db.collection(collection).countDocuments()) < count; tries++) {
    if (tries > 200) throw new Error(`${collection}: the session of /login was not stored`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The commands one request caused, counted until the database has been quiet for 150 ms (express-session writes after answering). */
async function commandsOf(url, cookie) {
  capture = [];
  const res = await fetch(url, cookie ? { headers: { cookie } } : {});
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  await res.text();
  for (let seen = -1; seen !== capture.length; ) {
    seen = capture.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const events = capture;
  capture = undefined;
  return { events, names: events.map((event) => event.commandName) };
}

const WORKLOADS = [
  { key: 'login', label: 'new visitor who stores a key (`/login`)', path: '/login', cookie: false },
  { key: 'read', label: 'read one key', path: '/read', cookie: true },
  { key: 'set', label: 'set one key without reading', path: '/set', cookie: true },
  { key: 'readset', label: 'read, then set one key', path: '/readset', cookie: true },
  { key: 'new', label: 'new visitor who stores nothing', path: '/new', cookie: false },
];
const REPEATS = 3;
/** Per app and workload: the median number of commands over REPEATS requests, and their names. */
const perRequest = {};
for (const [key, { server, collection }] of Object.entries(apps)) {
  const base = baseOf(server);
  const login = await fetch(`${base}/login`);
  const cookie = cookieOf(login);
  await stored(collection, 1);
  perRequest[key] = {};
  for (const workload of WORKLOADS) {
    const runs = [];
    for (let i = 0; i < REPEATS; i++) runs.push(await commandsOf(`${base}${workload.path}`, workload.cookie ? cookie : undefined));
    const counts = runs.map((run) => run.names.length);
    perRequest[key][workload.key] = { count: median(counts), names: runs[runs.length - 1].names };
  }
  await db.collection(collection).deleteMany({});
}

/** Stores WORKERS sessions through /login, then captures the commands of one /set request. */
async function captureSet({ server, collection }) {
  const base = baseOf(server);
  let cookie;
  for (let i = 0; i < WORKERS; i++) {
    cookie = cookieOf(await fetch(`${base}/login`));
    await stored(collection, i + 1);
  }
  const { events } = await commandsOf(`${base}/set?mark`, cookie);
  const ids = (
    await db
      .collection(collection)
      .find({}, { projection: { _id: 1 } })
      .toArray()
  ).map((doc) => doc._id);
  return { commands: events.map((event) => strip(event.command)), ids };
}

/** The command as a client would send it again: without the driver's session, cluster time and $db. */
function strip(command) {
  const { lsid, txnNumber, $clusterTime, $db, ...rest } = command;
  return rest;
}

const captured = { mongosess: await captureSet(apps.mongosess), express: await captureSet(apps.express) };
for (const { server } of Object.values(apps)) server.close();

const byName = (commands, name) => {
  const found = commands.find((command) => Object.keys(command)[0] === name);
  if (!found) throw new Error(`no ${name} command captured (got ${commands.map((c) => Object.keys(c)[0]).join(', ')})`);
  return found;
};
const ms = captured.mongosess.commands;
for (const [name, { commands }] of Object.entries(captured)) {
  if (!JSON.stringify(commands).includes(String(MARK))) throw new Error(`${name}: the captured write does not carry the stored value`);
}
const ex = captured.express.commands;
const msFind = byName(ms, 'find');
const msWrite = byName(ms, 'findAndModify');
const exFind = byName(ex, 'find');
const exWrite = byName(ex, 'update');

/** `command` with the document id in its filter replaced by `id`. */
function forId(command, id) {
  const name = Object.keys(command)[0];
  switch (name) {
    case 'find':
      return { ...command, filter: { ...command.filter, _id: id } };
    case 'findAndModify':
      return { ...command, query: { ...command.query, _id: id } };
    case 'update': {
      const [update] = command.updates;
      if (update.q.ended !== undefined) return { ...command, updates: [{ ...update, q: { ...update.q, _id: id } }] };
      const set = update.u.$set ? { ...update.u.$set, ...(update.u.$set._id !== undefined ? { _id: id } : {}) } : undefined;
      return { ...command, updates: [{ ...update, q: { ...update.q, _id: id }, ...(set ? { u: { ...update.u, $set: set } } : {}) }] };
    }
    default:
      throw new Error(`cannot replay ${name}`);
  }
}

const unguarded = { ...msWrite, query: { _id: msWrite.query._id } };
// The same guarded write as an `update` command, which returns a count rather than the document.
const asUpdate = { update: msWrite.findAndModify, updates: [{ q: msWrite.query, u: msWrite.update, upsert: false }], ordered: true };
const ARMS = [
  { key: 'exFind', label: 'express-session + connect-mongo: read (find)', command: exFind, ids: captured.express.ids },
  {
    key: 'exWrite',
    label: 'express-session + connect-mongo: write (update, upsert, filter `_id`)',
    command: exWrite,
    ids: captured.express.ids,
  },
  { key: 'msFind', label: 'mongosess/express-session: read (find)', command: msFind, ids: captured.mongosess.ids },
  {
    key: 'msWrite',
    label: 'mongosess/express-session: write (findAndModify, filter `_id` + live guard)',
    command: msWrite,
    ids: captured.mongosess.ids,
  },
  {
    key: 'msUpdate',
    label: 'the same guarded write as an `update` command (no document returned; not what mongosess sends)',
    command: asUpdate,
    ids: captured.mongosess.ids,
  },
  {
    key: 'msUnguarded',
    label: 'the same write without its guard (filter `_id` only; not what mongosess sends)',
    command: unguarded,
    ids: captured.mongosess.ids,
  },
];

// ---------------------------------------------------------------------------------------------
// Replay

/** `value` with MARK replaced by `n`, where it is a number and inside strings (connect-mongo stores JSON). */
function withValue(value, n) {
  if (value === MARK) return n;
  if (typeof value === 'string') return value.replaceAll(String(MARK), String(n));
  if (Array.isArray(value)) return value.map((item) => withValue(item, n));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withValue(item, n)]));
  }
  return value;
}

/** WORKERS loops, each replaying `arm`'s command on its own session for SECONDS; commands/s. */
async function measure(arm) {
  const commands = arm.ids.slice(0, WORKERS).map((id) => forId(arm.command, id));
  let done = 0;
  let counter = 0;
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    commands.map(async (command) => {
      while (performance.now() < end) {
        const reply = await db.command(withValue(command, ++counter + Math.random()));
        if (reply.ok !== 1) throw new Error(`${arm.key}: ${JSON.stringify(reply)}`);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

console.log(`${serverName}; ${WORKERS} concurrent workers, ${ROUNDS} rounds of ${SECONDS} s per arm, after one warm-up round`);
console.log('captured commands of one /set request:');
console.log(`  mongosess/express-session:        ${ms.map((c) => Object.keys(c)[0]).join(' + ')}`);
console.log(`  express-session + connect-mongo:  ${ex.map((c) => Object.keys(c)[0]).join(' + ')}`);
for (const arm of ARMS) await measure({ ...arm }).then(() => undefined); // warm-up, not recorded
const rates = Object.fromEntries(ARMS.map((arm) => [arm.key, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = ARMS.map((_, i) => ARMS[(i + round) % ARMS.length]);
  for (const arm of order) rates[arm.key].push(await measure(arm));
  process.stdout.write(`round ${round + 1}/${ROUNDS}\r`);
}
await new Promise((resolve) => MongoSess.close(() => resolve()));
await db.dropDatabase();
await client.close();

// ---------------------------------------------------------------------------------------------
// Report

const rate = (key) => median(rates[key]);
/** Server time per command at saturation with WORKERS workers: 1 / throughput, in µs. */
const usPer = (key) => 1e6 / rate(key);
const serverPerRequest = {
  express: usPer('exFind') + usPer('exWrite'),
  mongosess: usPer('msFind') + usPer('msWrite'),
  unguarded: usPer('msFind') + usPer('msUnguarded'),
};
const rows = ARMS.map((arm) => [
  arm.label,
  fmt(rate(arm.key), 0),
  `${fmt(Math.min(...rates[arm.key]), 0)}–${fmt(Math.max(...rates[arm.key]), 0)}`,
  fmt(usPer(arm.key), 0),
]);
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const commandsCell = ({ count, names }) => {
  const tally = {};
  for (const name of names) tally[name] = (tally[name] ?? 0) + 1;
  const parts = Object.entries(tally).map(([name, n]) => (n > 1 ? `${n} ${name}` : name));
  return parts.length ? `${count} (${parts.join(' + ')})` : String(count);
};
const lines = [
  '# What the express-session apps ask of the database',
  '',
  `Generated by \`npm run bench:express-session-db\` (\`bench/express-session-db.mjs\`) on ${new Date().toISOString()}, commit ${commit}: ${serverName}, Node.js ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}). Every number is measured by that script; re-run it to regenerate this page.`,
  '',
  '## Commands per request',
  '',
  `Counted with the driver's command monitoring, from the real middlewares on express 5 (\`resave: false\`, \`saveUninitialized: false\`), one session each, one request at a time, until the database had been quiet for 150 ms after the response (express-session writes after it answers); the median of ${REPEATS} requests per cell.`,
  '',
  table(
    ['Workload', ...Object.values(apps).map((app) => app.label)],
    WORKLOADS.map((workload) => [workload.label, ...Object.keys(apps).map((key) => commandsCell(perRequest[key][workload.key]))]),
  ),
  '',
  "A request that only reads costs mongosess/express-session one `find`, where express-session with connect-mongo's default `touchAfter: 0` also writes the session back (2 commands). A request that writes costs both middlewares a read before the route (a synchronous `req.session` needs the data before the route runs) and a write at the end: 2 commands each. mongosess/express-session waits for its write before the response goes out (expressjs/session#360), and its write is guarded, as the next section measures.",
  '',
  "## The server's cost of a set-one-key request",
  '',
  'Both express-session apps of `npm run bench` send two commands for a request that sets a key: a read before the route (the synchronous `req.session` needs the data before the route runs) and a write at the end. The script captured those commands from the real middlewares and replayed them with the raw driver, ' +
    `${WORKERS} concurrent workers on ${WORKERS} stored sessions, ${ROUNDS} rounds of ${SECONDS} s per command, arms interleaved; medians.`,
  '',
  table(['Command', 'commands/s (median)', 'min–max', 'server µs per command (1/rate)'], rows),
  '',
  table(
    ['Per set-one-key request (read + write)', 'server µs', 'vs express-session + connect-mongo'],
    [
      ['express-session + connect-mongo', fmt(serverPerRequest.express, 0), '1.00x'],
      [
        'mongosess/express-session',
        fmt(serverPerRequest.mongosess, 0),
        `${fmt(serverPerRequest.mongosess / serverPerRequest.express, 2)}x`,
      ],
      [
        'mongosess/express-session without the write guard',
        fmt(serverPerRequest.unguarded, 0),
        `${fmt(serverPerRequest.unguarded / serverPerRequest.express, 2)}x`,
      ],
    ],
  ),
  '',
  "The guard is the write's filter beyond `_id`: `ended: { $ne: true }` and `expiresAt: { $gt: now }`. It is what refuses a save that races a logout (`destroy()`, `endAll`, a device revoked) or an expiry, instead of bringing the session back as express-session's unconditional upsert does. On MongoDB those two predicates are checked on the one document the `_id` index finds; FerretDB 1.x evaluates the filter itself, so there the guard is paid on every write. Run the script with `MONGODB_URI` pointing at a `mongod` to measure it there.",
  '',
];
const text = lines.join('\n');
console.log(`\n${text}`);
if (arg('write-docs', false)) {
  writeFileSync(join(repo, 'docs', 'express-session-db.md'), text);
  console.log('wrote docs/express-session-db.md');
}
