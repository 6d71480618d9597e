#!/usr/bin/env node
// The benchmark of issue 5: the same small HTTP workloads served by
//   (a) mongosess on plain node:http,
//   (b) express + express-session + connect-mongo,
//   (d) express + mongosess/express-session (the app of (b), its store swapped),
//   (c) a raw-driver baseline doing the same database operations with no session logic,
// each app in its own child process, all against one database server, interleaved, several runs,
// medians. Load comes from a separate process (bench/load.mjs, autocannon).
//
//   npm run bench                     full run; writes docs/benchmarks.md and docs/benchmarks.svg
//   node scripts/with-server.mjs node bench/run.mjs --quick
//                                     smoke test: short cells, 1 run, docs not written
// Options: --quick, --runs N, --duration SECONDS, --write-docs / --no-docs, --save-json FILE
// (all results as JSON; `node bench/report.mjs FILE` renders the docs from it again),
// --only lost-updates (just the lost-update measurement, printed; docs not written).
// Needs MONGODB_URI (scripts/with-server.mjs provides it) and a built dist/ (npm run build).
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { serialProxy } from '../scripts/serial-proxy.mjs';
import { cpuSnapshot, foreignShare } from './cpu-share.mjs';
import { writeReport, formatConsoleTables, formatLostUpdates } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

// ---------------------------------------------------------------------------------------------
// Configuration

function parseArgs(argv) {
  const out = { quick: false, runs: undefined, duration: undefined, docs: undefined, saveJson: undefined, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') out.quick = true;
    else if (arg === '--runs') out.runs = Number(argv[++i]);
    else if (arg === '--duration') out.duration = Number(argv[++i]);
    else if (arg === '--write-docs') out.docs = true;
    else if (arg === '--no-docs') out.docs = false;
    else if (arg === '--save-json') out.saveJson = argv[++i];
    else if (arg === '--only') out.only = argv[++i];
    else throw new Error(`unknown argument: ${arg}`);
  }
  if (out.runs !== undefined && !(Number.isInteger(out.runs) && out.runs >= 1 && out.runs <= 20)) throw new Error('--runs must be 1..20');
  if (out.only !== undefined && out.only !== 'lost-updates') throw new Error('--only takes: lost-updates');
  if (out.duration !== undefined && !(out.duration >= 0.5 && out.duration <= 60)) throw new Error('--duration must be 0.5..60 s');
  return out;
}

const args = parseArgs(process.argv.slice(2));
const QUICK = args.quick;
const CFG = {
  runs: args.runs ?? (QUICK ? 1 : 3),
  duration: args.duration ?? (QUICK ? 1.5 : 5), // seconds per cell
  warmup: QUICK ? 0.5 : 1.5, // seconds per app and workload, once, not recorded
  connections: 10, // = 10 visitors, one session each
  rssRequests: QUICK ? 4_000 : 100_000, // mongosess requests between the two RSS readings
  // Share of those requests per workload: every code path, weighted towards the cheap ones so
  // that 100,000 requests fit in about a minute and a half on a 2-CPU machine.
  rssMix: { read: 0.4, set: 0.1, readset: 0.1, new: 0.4 },
  lostUpdateRepeats: QUICK ? 1 : 3,
  parallel: 100, // requests on one session in the lost-update test
  scaleSmall: 100,
  scaleLarge: QUICK ? 5_000 : 100_000,
  scaleDuration: QUICK ? 1.5 : 5,
  scaleDriverOps: { find: QUICK ? 20 : 50, update: QUICK ? 5 : 10 },
  quietWaitSeconds: QUICK ? 0 : 60,
  // Other processes on the machine (outside the benchmark's process tree) steal CPU from it. A cell
  // during which they used more than this share of all CPU time is measured again, and before each
  // cell the benchmark waits for them to quieten, both within one overall time budget.
  foreignLimit: 0.1,
  retriesPerCell: 2,
  disturbanceBudgetSeconds: QUICK ? 10 : 150,
  writeDocs: args.only ? false : (args.docs ?? !QUICK),
  deadlineMinutes: QUICK ? 6 : 30,
};

const MONGODB_URI = process.env.MONGODB_URI;
if (!MONGODB_URI) {
  console.error('bench: MONGODB_URI is not set. Run it as `npm run bench` (scripts/with-server.mjs starts a server).');
  process.exit(2);
}
if (!existsSync(join(repo, 'dist', 'index.js'))) {
  console.error('bench: dist/index.js is missing; run `npm run build` first (npm run bench does).');
  process.exit(2);
}

const DB = 'mongosess_bench';
const SECRET = randomBytes(24).toString('base64url');

const APPS = [
  { key: 'mongosess', label: 'mongosess (node:http)', script: 'servers/mongosess.mjs', collection: 'mongosess' },
  { key: 'express', label: 'express-session + connect-mongo', script: 'servers/express-session.mjs', collection: 'connect_mongo' },
  // The express-session app (b) with mongosess/express-session in place of express-session + connect-mongo.
  {
    key: 'exsess',
    label: 'mongosess/express-session',
    script: 'servers/mongosess-express-session.mjs',
    collection: 'mongosess_express_session',
  },
  { key: 'raw', label: 'raw driver baseline (node:http)', script: 'servers/raw-driver.mjs', collection: 'raw' },
];
const WORKLOADS = [
  { key: 'read', path: '/read', label: 'read one key', short: 'read one key', cookie: true },
  { key: 'set', path: '/set', label: 'set one key without reading', short: 'set one key, no read', cookie: true },
  { key: 'readset', path: '/readset', label: 'read, then set one key', short: 'read, then set', cookie: true },
  { key: 'new', path: '/new', label: 'new visitor who stores nothing', short: 'new visitor', cookie: false },
];

// Every loop below is bounded in count; this bounds the whole run in time as well.
const children = new Set();
const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${CFG.deadlineMinutes} minutes`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}, CFG.deadlineMinutes * 60_000);

const log = (...parts) => console.log(...parts);

/** The machine's 1-minute load average, sampled while the benchmark runs (other work adds noise). */
const loadSamples = [];
const loadNow = () => os.loadavg()[0];
let loadStart = loadNow();
const loadSampler = setInterval(() => loadSamples.push(loadNow()), 5_000);
loadSampler.unref();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Child processes: app servers and the load generator

async function startServer(script, collection, name, uri = MONGODB_URI) {
  const child = spawn(process.execPath, ['--expose-gc', join(here, script)], {
    cwd: repo,
    env: { ...process.env, MONGODB_URI: uri, BENCH_DB: DB, BENCH_COLLECTION: collection, BENCH_SECRET: SECRET },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const warnings = [];
  child.on('message', (message) => {
    if (message?.warning) warnings.push(message.warning);
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    child.on('message', (message) => {
      if (message?.ready) {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    });
  });
  return { name, child, port, pid: child.pid, warnings };
}

async function stopServer(server) {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    child.send('stop');
  } catch {
    // IPC already closed
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Runs one autocannon load in its own process; resolves its JSON summary. */
function runLoad({ port, path, cookies, duration, amount }) {
  const config = { url: `http://127.0.0.1:${port}${path}`, connections: CFG.connections, cookies, duration, amount };
  // A time bound even for amount-based runs: 20 minutes at most.
  const limitMs = amount ? 20 * 60_000 : (duration + 60) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'load.mjs'), JSON.stringify(config)], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code) => {
      children.delete(child);
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`load generator exited with code ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (err) {
        reject(new Error(`load generator printed no result: ${err.message}`));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers (loopback only)

function get(port, path, { cookie, agent, timeout = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: cookie ? { cookie } : {}, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

const stats = async (port, query = '') => JSON.parse((await get(port, `/__stats${query}`)).body);

/** The Cookie header a browser would send back after these Set-Cookie headers. */
function cookieHeader(setCookie) {
  return setCookie
    .map((line) => line.split(';')[0].trim())
    .filter((pair) => pair.includes('=') && !pair.endsWith('='))
    .join('; ');
}

async function login(server) {
  const res = await get(server.port, '/login');
  const cookie = cookieHeader(res.setCookie);
  if (res.status !== 200 || !cookie) throw new Error(`${server.name}: /login gave ${res.status} and cookie "${cookie}"`);
  return cookie;
}

// ---------------------------------------------------------------------------------------------
// Measurements

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function commandDelta(before, after) {
  const byName = {};
  for (const [name, count] of Object.entries(after.commands.byName)) {
    const delta = count - (before.commands.byName[name] ?? 0);
    if (delta > 0) byName[name] = delta;
  }
  return { total: after.commands.total - before.commands.total, byName };
}

/**
 * Waits (60 s at most) until the app has answered every request it received: autocannon stops
 * at its deadline without waiting for requests in flight, and those must not spill into the
 * next cell. Returns the app's stats once it is idle.
 */
async function drained(server) {
  const until = Date.now() + 60_000;
  for (;;) {
    const now = await stats(server.port);
    if (now.inflight === 0 || Date.now() > until) return now;
    await sleep(20);
  }
}

/** What is left of the time the benchmark may spend waiting out or re-measuring disturbed cells. */
let disturbanceBudgetMs = CFG.disturbanceBudgetSeconds * 1000;
const disturbance = { retried: 0, waitedMs: 0 };

/** Waits (within the budget, 20 s at most) until other processes leave the CPU alone for a second. */
async function waitForCalm() {
  const until = Date.now() + 20_000;
  while (disturbanceBudgetMs > 0 && Date.now() < until) {
    const before = cpuSnapshot();
    await sleep(1_000);
    if (foreignShare(before, cpuSnapshot()) <= CFG.foreignLimit) return;
    disturbanceBudgetMs -= 1_000;
    disturbance.waitedMs += 1_000;
  }
}

/** One load run against one app, with the server's own counters (and the machine's CPU) around it. */
async function measureOnce(server, workload, cookies, seconds) {
  await drained(server);
  await waitForCalm();
  const before = await stats(server.port, '?reset=1');
  const cpuBefore = cpuSnapshot();
  const load = await runLoad({ port: server.port, path: workload.path, cookies: workload.cookie ? cookies : [], duration: seconds });
  const after = await drained(server);
  const foreign = foreignShare(cpuBefore, cpuSnapshot());
  const requests = after.requests - before.requests;
  const cpuMicros = after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system);
  const commands = commandDelta(before, after);
  const perRequest = {};
  for (const [name, count] of Object.entries(commands.byName)) perRequest[name] = count / requests;
  return {
    rps: load.rps,
    p50: load.p50,
    p99: load.p99,
    ok: load.ok,
    failed: load.non2xx + load.errors + load.timeouts,
    requests,
    cpuPerRequest: cpuMicros / requests,
    commandsPerRequest: commands.total / requests,
    commandsByName: perRequest,
    peakRss: after.peakRss,
    foreign,
  };
}

/**
 * One measured cell. If other processes used more than CFG.foreignLimit of the machine's CPU
 * meanwhile, it is measured again (at most CFG.retriesPerCell times, within the overall budget)
 * and the least disturbed attempt is kept; every cell reports its share and its attempts.
 */
async function cell(server, workload, cookies, seconds) {
  let best;
  for (let attempt = 1; attempt <= 1 + CFG.retriesPerCell; attempt++) {
    const result = await measureOnce(server, workload, cookies, seconds);
    result.attempts = attempt;
    if (!best || result.foreign < best.foreign) best = { ...result };
    best.attempts = attempt;
    if (result.foreign <= CFG.foreignLimit || attempt > CFG.retriesPerCell || disturbanceBudgetMs <= 0) break;
    log(
      `  (${server.name} ${workload.key}: other processes used ${(result.foreign * 100).toFixed(0)}% of the machine's CPU meanwhile; measuring again)`,
    );
    disturbanceBudgetMs -= seconds * 1000;
    disturbance.retried++;
  }
  return best;
}

const fmt = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

// ---------------------------------------------------------------------------------------------
// Environment facts for the report

function readVersion(name) {
  try {
    return JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  let nproc = os.availableParallelism?.() ?? os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // no nproc
  }
  let commit = 'unknown';
  let dirty = false;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repo, encoding: 'utf8' }).trim() !== '';
  } catch {
    // not a git checkout
  }
  return {
    cpu,
    nproc,
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    commit: dirty ? `${commit} (with uncommitted changes in src/)` : commit,
  };
}

// ---------------------------------------------------------------------------------------------
// The parts of the benchmark

async function mainMatrix(servers, cookies) {
  log(
    `\n== Workloads: ${CFG.runs} run(s) x ${WORKLOADS.length} workloads x ${APPS.length} apps, ${CFG.duration} s per cell, ${CFG.connections} connections`,
  );
  log(`warm-up: ${CFG.warmup} s per app and workload`);
  for (const workload of WORKLOADS) {
    for (const app of APPS)
      await runLoad({
        port: servers[app.key].port,
        path: workload.path,
        cookies: workload.cookie ? cookies[app.key] : [],
        duration: CFG.warmup,
      });
  }
  const cells = Object.fromEntries(APPS.map((app) => [app.key, Object.fromEntries(WORKLOADS.map((w) => [w.key, []]))]));
  for (let run = 0; run < CFG.runs; run++) {
    for (const [wi, workload] of WORKLOADS.entries()) {
      // Interleaved, with the order rotated so no app is always first or last.
      const shift = (run + wi) % APPS.length;
      const order = [...APPS.slice(shift), ...APPS.slice(0, shift)];
      for (const app of order) {
        const result = await cell(servers[app.key], workload, cookies[app.key], CFG.duration);
        cells[app.key][workload.key].push(result);
        log(
          `run ${run + 1} ${workload.key.padEnd(7)} ${app.key.padEnd(9)} ${fmt(result.rps).padStart(6)} req/s  p50 ${fmt(result.p50, 2)} ms  p99 ${fmt(result.p99, 2)} ms  ` +
            `cpu ${fmt(result.cpuPerRequest)} us/req  db ${fmt(result.commandsPerRequest, 2)}/req  peak rss ${fmt(result.peakRss / 2 ** 20, 1)} MiB  other ${fmt(result.foreign * 100)}%` +
            (result.failed ? `  FAILED ${result.failed}` : ''),
        );
      }
    }
  }
  const summary = {};
  for (const app of APPS) {
    summary[app.key] = {};
    for (const workload of WORKLOADS) {
      const runs = cells[app.key][workload.key];
      const byName = {};
      for (const r of runs)
        for (const name of Object.keys(r.commandsByName)) byName[name] = median(runs.map((x) => x.commandsByName[name] ?? 0));
      summary[app.key][workload.key] = {
        rps: median(runs.map((r) => r.rps)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        cpuPerRequest: median(runs.map((r) => r.cpuPerRequest)),
        commandsPerRequest: median(runs.map((r) => r.commandsPerRequest)),
        commandsByName: byName,
        peakRss: median(runs.map((r) => r.peakRss)),
        failed: runs.reduce((sum, r) => sum + r.failed, 0),
        requests: runs.reduce((sum, r) => sum + r.requests, 0),
        rpsSpread:
          runs.length > 1
            ? (Math.max(...runs.map((r) => r.rps)) - Math.min(...runs.map((r) => r.rps))) / median(runs.map((r) => r.rps))
            : 0,
      };
    }
  }
  return { cells, summary };
}

/** 100 parallel requests on one session, each setting its own key; how many keys are missing after. */
async function lostUpdates(servers, route) {
  log(
    `\n== Lost updates ${route}: ${CFG.parallel} parallel requests on one session, each setting a different key (${CFG.lostUpdateRepeats} repeat(s))`,
  );
  const out = {};
  for (const app of APPS) {
    const server = servers[app.key];
    const trials = [];
    for (let t = 0; t < CFG.lostUpdateRepeats; t++) {
      const cookie = await login(server);
      const agent = new http.Agent({ keepAlive: true, maxSockets: CFG.parallel });
      const responses = await Promise.allSettled(
        Array.from({ length: CFG.parallel }, (_, i) => get(server.port, `/setkey?k=${i}`, { cookie, agent })),
      );
      agent.destroy();
      const failed = responses.filter((r) => r.status === 'rejected' || r.value.status !== 200).length;
      const dump = await get(server.port, '/dump', { cookie });
      const keys = new Set(JSON.parse(dump.body));
      let kept = 0;
      for (let i = 0; i < CFG.parallel; i++) if (keys.has(`k${i}`)) kept++;
      trials.push({ lost: CFG.parallel - kept, failed });
      log(
        `${app.key.padEnd(9)} trial ${t + 1}: lost ${CFG.parallel - kept} of ${CFG.parallel}${failed ? ` (${failed} requests failed)` : ''}`,
      );
    }
    out[app.key] = { trials, lost: median(trials.map((t) => t.lost)) };
  }
  return out;
}

/**
 * The lost-update test with each app talking to the database through the serializing proxy
 * (scripts/serial-proxy.mjs): the server runs one data command at a time, so it orders concurrent
 * updates of one document as MongoDB does, and what is left is each app's own design.
 */
async function lostUpdatesViaProxy() {
  const proxy = await serialProxy(MONGODB_URI);
  const servers = {};
  try {
    for (const app of APPS) servers[app.key] = await startServer(app.script, app.collection, `${app.key} (via proxy)`, proxy.uri);
    const lost = await lostUpdates(servers, 'through the serializing proxy');
    log(`(the proxy serialized ${proxy.serialized} data commands)`);
    return { lost, serialized: proxy.serialized };
  } finally {
    for (const server of Object.values(servers)) await stopServer(server);
    await proxy.close();
  }
}

/**
 * Lost updates as the report shows them. On a server that applies concurrent updates of one
 * document atomically (MongoDB), direct. On FerretDB 1.x, which does not, through the serializing
 * proxy, with the direct figures kept as a footnote (they measure the server, not the apps).
 */
async function lostUpdateFigures(servers, isFerret) {
  const direct = await lostUpdates(servers, 'direct to the server');
  if (!isFerret) return { lost: direct, lostRoute: 'direct' };
  const proxied = await lostUpdatesViaProxy();
  return { lost: proxied.lost, lostRoute: 'proxy', lostDirect: direct, proxySerialized: proxied.serialized };
}

/** mongosess's RSS after warm-up against after CFG.rssRequests more requests (all four workloads). */
async function rssFlatness(server, cookies) {
  log(
    `\n== mongosess RSS over ${CFG.rssRequests.toLocaleString('en')} requests (${WORKLOADS.map((w) => `${CFG.rssMix[w.key] * 100}% ${w.key}`).join(', ')})`,
  );
  // A warm-up pass of the same mix first (a tenth of the requests, not recorded): after the idle
  // time between the earlier cells the allocator may have given memory back to the system, and a
  // baseline read then would count its regrowth to the working size as growth.
  for (const workload of WORKLOADS) {
    const amount = Math.round((CFG.rssRequests * CFG.rssMix[workload.key]) / 10);
    await runLoad({ port: server.port, path: workload.path, cookies: workload.cookie ? cookies : [], amount });
  }
  await drained(server);
  const before = await stats(server.port, '?gc=1&reset=1');
  const startRequests = before.requests;
  const samples = [{ requests: 0, rss: before.rss, heapUsed: before.heapUsed }];
  for (const workload of WORKLOADS) {
    const amount = Math.round(CFG.rssRequests * CFG.rssMix[workload.key]);
    await runLoad({ port: server.port, path: workload.path, cookies: workload.cookie ? cookies : [], amount });
    await drained(server);
    const now = await stats(server.port, '?gc=1');
    samples.push({ requests: now.requests - startRequests, rss: now.rss, heapUsed: now.heapUsed, after: workload.key });
    log(
      `after ${workload.key.padEnd(7)}: ${(now.requests - startRequests).toLocaleString('en').padStart(7)} requests, rss ${fmt(now.rss / 2 ** 20, 1)} MiB, heap ${fmt(now.heapUsed / 2 ** 20, 1)} MiB`,
    );
  }
  const after = await stats(server.port, '?gc=1');
  return {
    requests: after.requests - startRequests,
    before: before.rss,
    after: after.rss,
    peak: after.peakRss,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
    ratio: after.rss / before.rss,
    samples,
  };
}

/** Session documents in mongosess's format, inserted with the driver. */
async function fillSessions(collection, count) {
  const now = Date.now();
  const batch = 1000;
  for (let done = 0; done < count; done += batch) {
    const docs = [];
    for (let i = done; i < Math.min(count, done + batch); i++) {
      docs.push({
        _id: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
        d: { user: `user${i}`, n: i },
        createdAt: new Date(now),
        expiresAt: new Date(now + 14 * 24 * 3600 * 1000),
      });
    }
    await collection.insertMany(docs, { ordered: false });
  }
}

/** Sequential driver timings of one operation on one stored session, in ms: the server alone. */
async function driverTimings(collection, id, count, operation) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await operation(collection, id, i);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { median: median(times), max: Math.max(...times), count };
}

/**
 * The read-one-key workload with 100 vs 100,000 sessions stored, through mongosess (interleaved
 * runs); then, for the server alone, sequential driver timings of a lookup and of an update by _id.
 */
async function scale(db) {
  log(
    `\n== Session lookup with ${CFG.scaleSmall.toLocaleString('en')} vs ${CFG.scaleLarge.toLocaleString('en')} sessions stored (mongosess)`,
  );
  const sizes = [
    { key: 'small', count: CFG.scaleSmall, collection: 'scale_small' },
    { key: 'large', count: CFG.scaleLarge, collection: 'scale_large' },
  ];
  const servers = {};
  const cookies = {};
  for (const size of sizes) {
    await db
      .collection(size.collection)
      .drop()
      .catch(() => undefined);
    servers[size.key] = await startServer('servers/mongosess.mjs', size.collection, `mongosess-${size.key}`);
    cookies[size.key] = [];
    for (let i = 0; i < CFG.connections; i++) cookies[size.key].push(await login(servers[size.key]));
    const started = Date.now();
    await fillSessions(db.collection(size.collection), size.count - CFG.connections);
    size.stored = await db.collection(size.collection).countDocuments({});
    log(
      `${size.collection}: ${size.stored.toLocaleString('en')} sessions stored (filled in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  const read = WORKLOADS.find((w) => w.key === 'read');
  for (const size of sizes)
    await runLoad({ port: servers[size.key].port, path: read.path, cookies: cookies[size.key], duration: CFG.warmup });
  const cells = { small: [], large: [] };
  for (let run = 0; run < CFG.runs; run++) {
    const order = run % 2 ? [...sizes].reverse() : sizes;
    for (const size of order) {
      const result = await cell(servers[size.key], read, cookies[size.key], CFG.scaleDuration);
      cells[size.key].push(result);
      log(
        `run ${run + 1} read ${String(size.stored).padStart(7)} sessions: ${fmt(result.rps).padStart(6)} req/s  p50 ${fmt(result.p50, 2)} ms  p99 ${fmt(result.p99, 2)} ms${result.failed ? `  FAILED ${result.failed}` : ''}`,
      );
    }
  }
  for (const size of sizes) await stopServer(servers[size.key]);

  const driver = {};
  for (const size of sizes) {
    const collection = db.collection(size.collection);
    const { _id } = await collection.findOne({ 'd.user': 'user1' }, { projection: { _id: 1 } });
    driver[size.key] = {
      findOne: await driverTimings(collection, _id, CFG.scaleDriverOps.find, (c, id) => c.findOne({ _id: id })),
      updateOne: await driverTimings(collection, _id, CFG.scaleDriverOps.update, (c, id, i) =>
        c.updateOne({ _id: id }, { $set: { 'd.n': i } }),
      ),
    };
    log(
      `driver, ${String(size.stored).padStart(7)} sessions: findOne by _id ${fmt(driver[size.key].findOne.median, 2)} ms, updateOne by _id ${fmt(driver[size.key].updateOne.median, 2)} ms (medians, sequential)`,
    );
  }

  const summarize = (runs) => ({
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    cpuPerRequest: median(runs.map((r) => r.cpuPerRequest)),
    commandsPerRequest: median(runs.map((r) => r.commandsPerRequest)),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
  });
  return {
    sizes: Object.fromEntries(sizes.map((s) => [s.key, s.stored])),
    read: { small: summarize(cells.small), large: summarize(cells.large), cells },
    driver,
  };
}

/** Waits (boundedly) for the machine to calm down: other work on it makes every number noisier. */
async function waitForQuiet() {
  if (CFG.quietWaitSeconds <= 0 || loadNow() <= 1.5) return;
  log(`bench: load average ${loadNow().toFixed(2)}; waiting up to ${CFG.quietWaitSeconds} s for the machine to quieten`);
  const until = Date.now() + CFG.quietWaitSeconds * 1000;
  while (Date.now() < until && loadNow() > 1.5) await sleep(2_000);
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const startedAt = new Date();
  const client = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(DB);
  const info = await client.db('admin').command({ buildInfo: 1 });
  const serverKind = process.env.MONGOSESS_TEST_SERVER ?? 'uri';
  const databaseServer = info.ferretdbVersion
    ? `FerretDB ${info.ferretdbVersion}${serverKind === 'ferretdb' ? ' (SQLite backend)' : ''}, MongoDB wire protocol ${info.version}`
    : `MongoDB ${info.version}`;
  const isFerret = Boolean(info.ferretdbVersion);
  const databaseName = info.ferretdbVersion
    ? `FerretDB ${info.ferretdbVersion}${serverKind === 'ferretdb' ? ' (SQLite backend)' : ''}`
    : `MongoDB ${info.version}`;
  await db.dropDatabase();

  const env = {
    ...machine(),
    databaseServer,
    databaseName,
    versions: {
      mongosess: JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version,
      mongodb: readVersion('mongodb'),
      express: readVersion('express'),
      'express-session': readVersion('express-session'),
      'connect-mongo': readVersion('connect-mongo'),
      autocannon: readVersion('autocannon'),
    },
    command: QUICK ? 'node scripts/with-server.mjs node bench/run.mjs --quick' : 'npm run bench',
    date: startedAt.toISOString(),
    config: CFG,
  };
  log(`bench: ${env.databaseServer}; Node ${env.node}; ${env.nproc} CPU(s) ${env.cpu}; ${QUICK ? 'QUICK mode' : 'full run'}`);

  if (!args.only) await waitForQuiet();
  loadSamples.length = 0; // only the benchmark's own time counts
  loadStart = loadNow();
  if (loadStart > 1.5) log(`bench: note: the machine is busy (load average ${loadStart.toFixed(2)}); numbers will be noisier`);
  const servers = {};
  for (const app of APPS) servers[app.key] = await startServer(app.script, app.collection, app.key);
  const cookies = {};
  for (const app of APPS) {
    cookies[app.key] = [];
    for (let i = 0; i < CFG.connections; i++) cookies[app.key].push(await login(servers[app.key]));
  }
  // The same visitor reads the same session back in each app: check before measuring.
  for (const app of APPS) {
    const res = await get(servers[app.key].port, '/read', { cookie: cookies[app.key][0] });
    if (res.body !== 'user=ann') throw new Error(`${app.key}: /read answered "${res.body}" instead of user=ann`);
  }

  if (args.only === 'lost-updates') {
    const figures = await lostUpdateFigures(servers, isFerret);
    for (const app of APPS) await stopServer(servers[app.key]);
    await db.dropDatabase().catch(() => undefined);
    await client.close();
    log(`\n${formatLostUpdates({ ...figures, apps: APPS, env })}`);
    return;
  }
  const matrix = await mainMatrix(servers, cookies);
  const lostFigures = await lostUpdateFigures(servers, isFerret);
  const stored = {};
  for (const app of APPS) stored[app.key] = await db.collection(app.collection).countDocuments({});
  const rss = await rssFlatness(servers.mongosess, cookies.mongosess);
  const warnings = [...new Set(Object.values(servers).flatMap((s) => s.warnings))];
  for (const app of APPS) await stopServer(servers[app.key]);
  const scaling = await scale(db);

  await db.dropDatabase().catch(() => undefined);
  await client.close();

  const load = {
    start: loadStart,
    mean: loadSamples.reduce((a, b) => a + b, 0) / Math.max(1, loadSamples.length),
    max: Math.max(loadStart, ...loadSamples),
  };
  const results = {
    env,
    load,
    disturbance: { ...disturbance, budgetLeftSeconds: disturbanceBudgetMs / 1000 },
    apps: APPS,
    workloads: WORKLOADS,
    matrix,
    ...lostFigures,
    stored,
    rss,
    scaling,
    warnings,
    isFerret,
    quick: QUICK,
    finishedAt: new Date().toISOString(),
  };
  if (args.saveJson) writeFileSync(args.saveJson, `${JSON.stringify(results, null, 1)}\n`);
  log(`\n${formatConsoleTables(results)}`);
  if (CFG.writeDocs) {
    const written = writeReport(results, join(repo, 'docs'));
    log(`\nwrote ${written.join(', ')}`);
  } else {
    log('\n(docs not written: --quick runs only print; pass --write-docs to write them anyway)');
  }
}

try {
  await main();
  clearTimeout(watchdog);
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err}`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}
