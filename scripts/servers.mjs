// Starting and stopping the database servers the tests and the benchmark run against: the
// FerretDB version and flags, free loopback ports, waiting for a port, stopping a child. Used by
// scripts/with-server.mjs and test/helpers/own-server.ts (types in servers.d.mts).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BUILD_SCRIPT = join(here, 'build-ferretdb.sh');

/**
 * The FerretDB version, as written once in build-ferretdb.sh (`VERSION=v…`): that script builds
 * the binary and also runs on its own, so the number lives there and is read from there.
 */
export const FERRETDB_VERSION = (() => {
  const match = /^VERSION=(v\d+\.\d+\.\d+)$/m.exec(readFileSync(BUILD_SCRIPT, 'utf8'));
  if (!match?.[1]) throw new Error('servers.mjs: no VERSION=vX.Y.Z line in scripts/build-ferretdb.sh');
  return match[1];
})();

/** Environment of a started server: no telemetry. */
export function serverEnv() {
  return { ...process.env, DO_NOT_TRACK: '1' };
}

/** FerretDB (SQLite backend) on 127.0.0.1:`port` with its data in `dir`; no telemetry, state or debug listener. */
export function ferretdbArgs(port, dir) {
  return [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/`,
    `--listen-addr=127.0.0.1:${port}`,
    '--telemetry=disable',
    '--state-dir=-',
    '--debug-addr=-',
    '--log-level=error',
  ];
}

/** mongod on 127.0.0.1:`port` with its data in `dir`. */
export function mongodArgs(port, dir) {
  return ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'];
}

/** Whether `binary` is on PATH. */
export function onPath(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).status === 0;
}

/**
 * The path of the FerretDB binary, built by build-ferretdb.sh if missing, or undefined if it
 * cannot be built. `stderr`: 'inherit' shows the build's messages, 'pipe' keeps them quiet.
 */
export function ferretdbBinary({ stderr = 'inherit' } = {}) {
  const built = spawnSync('bash', [BUILD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', stderr] });
  const path = built.stdout?.trim().split('\n').pop();
  return built.status === 0 && path ? path : undefined;
}

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const running = (child) => child.exitCode === null && child.signalCode === null;

/** Resolves once `child` listens on `port`; rejects if it exits first or `timeoutMs` passes. */
export async function waitForPort(port, child, name, { timeoutMs = 60_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running(child)) throw new Error(`${name} exited at start (code ${child.exitCode}, signal ${child.signalCode})`);
    if (await portOpen(port)) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${name} did not listen on port ${port} within ${Math.round(timeoutMs / 1000)} s`);
}

/** Starts `binary args` with the server environment, its stderr shown, and waits for `port` (see waitForPort). */
export async function startChild(binary, args, port, name, waitOptions) {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'], env: serverEnv() });
  try {
    await waitForPort(port, child, name, waitOptions);
  } catch (err) {
    await stopChild(child, { signal: 'SIGKILL' });
    throw err;
  }
  return child;
}

/**
 * Stops `child` with `signal` (SIGKILL follows after `graceMs` if it is still there), waits for it
 * to exit, then removes `dir` if given. Safe on a child that already exited.
 */
export function stopChild(child, { signal = 'SIGTERM', graceMs = 5_000, dir } = {}) {
  return new Promise((resolve) => {
    const done = () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      resolve();
    };
    if (!running(child)) return done();
    child.once('exit', done);
    child.kill(signal);
    if (signal !== 'SIGKILL') setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}
