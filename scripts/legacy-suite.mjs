#!/usr/bin/env node
// Runs mongosess 0.4's own published test suite against our CommonJS build: the judge of the
// drop-in promise. It fetches the mongosess@0.4.0 tarball with `npm pack` into a cache outside git
// (node_modules/.cache/mongosess-0.4.0), and runs its two specs (test/callbackSpec.js and
// test/promiseSpec.js) unchanged, with the runner they were written for (jasmine-node 1.x, with
// request 2.9 and keygrip), except for one line: `require('../mongosess.js')` points at dist/index.cjs.
//
// The specs hard-code MongoDB on localhost:27017 and their HTTP server on 8080, so this script
// puts a database on 127.0.0.1:27017 (with MONGODB_URI, a relay to that server; else a `mongod` on
// PATH, else FerretDB, as with-server.mjs picks, with a fresh data directory), and refuses to run
// if either port is taken.
// The last line it prints is the count: `0.4 suite: N passed, M failed`. Any failure exits 1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferretdbArgs, ferretdbBinary, mongodArgs, onPath, portOpen, startChild, stopChild } from './servers.mjs';

const VERSION = '0.4.0';
const SPECS = ['callbackSpec.js', 'promiseSpec.js'];
const MONGO_PORT = 27017;
const HTTP_PORT = 8080;
/** The one line of each spec that changes: where the package under test is loaded from. */
const REQUIRE_LINE = "require('../mongosess.js')";
/** A spec that hangs (a callback never called) is stopped after this long. */
const SPEC_TIMEOUT_MS = 120_000;

const root = join(import.meta.dirname, '..');
const cache = join(root, 'node_modules', '.cache', `mongosess-${VERSION}`);
const build = join(root, 'dist', 'index.cjs');

function fail(message) {
  console.error(`[0.4 suite] ${message}`);
  console.log('0.4 suite: 0 passed, 0 failed (did not run)');
  process.exit(1);
}

/** The tarball's test folder, fetched once with `npm pack` and unpacked into the cache. */
function publishedSpecs() {
  const unpacked = join(cache, 'package', 'test');
  if (SPECS.every((spec) => existsSync(join(unpacked, spec)))) return unpacked;
  mkdirSync(cache, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const packed = spawnSync(npm, ['pack', `mongosess@${VERSION}`, '--pack-destination', cache, '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    shell: process.platform === 'win32',
  });
  const tarball = packed.stdout?.trim().split('\n').pop();
  if (packed.status !== 0 || !tarball) fail(`npm pack mongosess@${VERSION} failed (it needs the npm registry once; the result is cached)`);
  const untar = spawnSync('tar', ['xzf', join(cache, tarball), '-C', cache], { stdio: 'inherit' });
  if (untar.status !== 0) fail(`could not unpack ${tarball}`);
  return unpacked;
}

/** Each spec, copied with only its `require` of the package pointed at our build. */
function rewrittenSpecs(from) {
  const to = join(cache, 'run');
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  return SPECS.map((spec) => {
    const source = readFileSync(join(from, spec), 'utf8');
    const parts = source.split(REQUIRE_LINE);
    if (parts.length !== 2) fail(`${spec}: expected exactly one ${REQUIRE_LINE}, found ${parts.length - 1}`);
    const file = join(to, spec);
    writeFileSync(file, parts.join(`require(${JSON.stringify(build)})`));
    return { spec, file, expected: source.match(/^\s*it\(/gm)?.length ?? 0 };
  });
}

/**
 * The database on 127.0.0.1:27017: with MONGODB_URI set (CI against MongoDB), a relay to that
 * server, so the 0.4 suite runs against it too; else a `mongod` on PATH, else FerretDB, each with
 * a fresh data directory.
 */
async function startDatabase() {
  const uri = process.env.MONGODB_URI;
  if (uri) return relayTo(uri);
  const dir = mkdtempSync(join(tmpdir(), 'mongosess-legacy-'));
  const started = async (name, binary, args) => {
    const child = await startChild(binary, args, MONGO_PORT, name);
    return { name, stop: () => stopChild(child, { dir }) };
  };
  if (onPath('mongod')) return started('mongod', 'mongod', mongodArgs(MONGO_PORT, dir));
  const binary = ferretdbBinary();
  if (!binary) fail('no MONGODB_URI, no mongod on PATH, and FerretDB could not be built (see scripts/build-ferretdb.sh)');
  return started('FerretDB', binary, ferretdbArgs(MONGO_PORT, dir));
}

/** A TCP relay from 127.0.0.1:27017 to the single host of a mongodb:// `uri`. */
async function relayTo(uri) {
  const match = /^mongodb:\/\/(?:[^@/]*@)?([^,/?]+)(?:\/|$|\?)/.exec(uri);
  if (!match) fail('MONGODB_URI must name one host (mongodb://host:port/) for the 0.4 suite, which connects to localhost:27017');
  const target = new URL(`mongodb://${match[1]}`);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 27017);
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = netConnect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(MONGO_PORT, '127.0.0.1', resolve));
  return {
    name: `a relay to ${host}:${port} (MONGODB_URI)`,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Runs one spec with jasmine-node; its JUnit report gives the counts. */
function runSpec({ spec, file, expected }) {
  const reports = join(cache, 'reports', spec.replace(/\.js$/, ''));
  rmSync(reports, { recursive: true, force: true });
  const jasmine = join(root, 'node_modules', 'jasmine-node', 'bin', 'jasmine-node');
  const child = spawn(process.execPath, [jasmine, '--captureExceptions', '--junitreport', '--output', `${reports}/`, file], {
    cwd: root,
    stdio: 'inherit',
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), SPEC_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const xml = existsSync(reports) ? readdirSync(reports).map((name) => readFileSync(join(reports, name), 'utf8')) : [];
      const count = (attribute) => {
        const pattern = new RegExp(`<testsuite [^>]*\\b${attribute}="(\\d+)"`, 'g');
        return xml.flatMap((text) => [...text.matchAll(pattern)]).reduce((sum, match) => sum + Number(match[1]), 0);
      };
      const ran = count('tests');
      const failed = count('failures') + count('errors');
      // Specs that never reported (a crash, a hang) count as failed.
      const missing = Math.max(0, expected - ran);
      // jasmine-node exits non-zero on any failure; a non-zero exit with none reported is a crash.
      const crashed = code !== 0 && failed + missing === 0;
      if (crashed) console.error(`[0.4 suite] ${spec}: jasmine-node exited with ${signal ?? `code ${code}`} though no spec failed`);
      resolve({ passed: ran - failed, failed: failed + missing + (crashed ? 1 : 0) });
    });
  });
}

for (const [port, what] of [
  [MONGO_PORT, 'MongoDB'],
  [HTTP_PORT, 'HTTP'],
]) {
  if (await portOpen(port)) {
    fail(
      `port ${port} is taken, but the 0.4 specs hard-code ${what} on it: stop what listens there (\`ss -ltnp | grep :${port}\`) and run again`,
    );
  }
}
if (!existsSync(build)) fail('dist/index.cjs is missing: run `npm run build` first');

const specs = rewrittenSpecs(publishedSpecs());
const db = await startDatabase();
console.log(`[0.4 suite] mongosess@${VERSION}'s specs against dist/index.cjs, ${db.name} on 127.0.0.1:${MONGO_PORT}`);
let passed = 0;
let failed = 0;
try {
  for (const spec of specs) {
    const result = await runSpec(spec);
    passed += result.passed;
    failed += result.failed;
  }
} finally {
  await db.stop();
}
console.log(`0.4 suite: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
