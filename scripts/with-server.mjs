#!/usr/bin/env node
// Runs a command with MONGODB_URI pointing at a MongoDB-compatible server, and stops every
// server it started when the command ends. It picks, in order:
//   1. MONGODB_URI, if set (nothing is started);
//   2. a `mongod` on PATH;
//   3. FerretDB v1.24.2 with its SQLite backend (built with Go if missing: scripts/build-ferretdb.sh);
//   4. mongodb-memory-server-core (downloads MongoDB: needs internet).
// The command also gets MONGOSESS_TEST_SERVER (uri | mongod | ferretdb | memory-server).
// Usage: node scripts/with-server.mjs <command> [args...]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-server.mjs <command> [args...]');
  process.exit(2);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, name) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited early with code ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on port ${port} within 60 s`);
}

function onPath(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).status === 0;
}

async function startMongod() {
  const dir = mkdtempSync(join(tmpdir(), 'mongosess-mongod-'));
  const port = await freePort();
  const child = spawn('mongod', ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, child, 'mongod');
  return { kind: 'mongod', uri: `mongodb://127.0.0.1:${port}/`, stop: () => stopChild(child, dir) };
}

async function startFerretDB() {
  const built = spawnSync('bash', [join(here, 'build-ferretdb.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (built.status !== 0) return undefined;
  const binary = built.stdout.trim().split('\n').pop();
  const dir = mkdtempSync(join(tmpdir(), 'mongosess-ferretdb-'));
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      '--state-dir=-',
      '--debug-addr=-',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DO_NOT_TRACK: '1' } },
  );
  await waitForPort(port, child, 'FerretDB');
  return { kind: 'ferretdb', uri: `mongodb://127.0.0.1:${port}/`, stop: () => stopChild(child, dir) };
}

async function startMemoryServer() {
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  const server = await MongoMemoryServer.create({ instance: { ip: '127.0.0.1' } });
  return { kind: 'memory-server', uri: server.getUri(), stop: () => server.stop() };
}

function stopChild(child, dir) {
  return new Promise((resolve) => {
    const done = () => {
      rmSync(dir, { recursive: true, force: true });
      resolve();
    };
    if (child.exitCode !== null) return done();
    child.once('exit', done);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

async function provision() {
  if (process.env.MONGODB_URI) return { kind: 'uri', uri: process.env.MONGODB_URI, stop: async () => {} };
  if (onPath('mongod')) return startMongod();
  const ferret = await startFerretDB();
  if (ferret) return ferret;
  return startMemoryServer();
}

const server = await provision();
const label = { uri: 'MONGODB_URI', mongod: 'mongod from PATH', ferretdb: 'FerretDB v1.24.2 (SQLite backend)', 'memory-server': 'mongodb-memory-server' }[server.kind];
console.log(`[mongosess] database server: ${label} at ${server.uri.replace(/\/\/[^@/]*@/, '//***@')}`);

const child = spawn(command, args, {
  stdio: 'inherit',
  env: { ...process.env, MONGODB_URI: server.uri, MONGOSESS_TEST_SERVER: server.kind },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await server.stop();
process.exit(code);
