#!/usr/bin/env node
// Runs a command with MONGODB_URI pointing at a MongoDB-compatible server, and stops every
// server it started when the command ends. It picks, in order:
//   1. MONGODB_URI, if set (nothing is started);
//   2. a `mongod` on PATH;
//   3. FerretDB (version in scripts/build-ferretdb.sh) with its SQLite backend (built with Go if missing);
//   4. mongodb-memory-server-core (downloads MongoDB: needs internet).
// The command also gets MONGOSESS_TEST_SERVER (uri | mongod | ferretdb | memory-server).
// Usage: node scripts/with-server.mjs <command> [args...]
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FERRETDB_VERSION, ferretdbArgs, ferretdbBinary, freePort, mongodArgs, onPath, startChild, stopChild } from './servers.mjs';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-server.mjs <command> [args...]');
  process.exit(2);
}

/** `binary` on a free port with a fresh data directory, removed when it stops. */
async function startServer(kind, name, binary, argsOf) {
  const dir = mkdtempSync(join(tmpdir(), `mongosess-${kind}-`));
  const port = await freePort();
  const child = await startChild(binary, argsOf(port, dir), port, name);
  return { kind, uri: `mongodb://127.0.0.1:${port}/`, stop: () => stopChild(child, { dir }) };
}

async function startMemoryServer() {
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  const server = await MongoMemoryServer.create({ instance: { ip: '127.0.0.1' } });
  return { kind: 'memory-server', uri: server.getUri(), stop: () => server.stop() };
}

async function provision() {
  if (process.env.MONGODB_URI) return { kind: 'uri', uri: process.env.MONGODB_URI, stop: async () => {} };
  if (onPath('mongod')) return startServer('mongod', 'mongod', 'mongod', mongodArgs);
  const ferretdb = ferretdbBinary();
  if (ferretdb) return startServer('ferretdb', 'FerretDB', ferretdb, ferretdbArgs);
  return startMemoryServer();
}

const server = await provision();
const label = {
  uri: 'MONGODB_URI',
  mongod: 'mongod from PATH',
  ferretdb: `FerretDB ${FERRETDB_VERSION} (SQLite backend)`,
  'memory-server': 'mongodb-memory-server',
}[server.kind];
console.log(`[mongosess] database server: ${label} at ${server.uri.replace(/\/\/[^@/]*@/, '//***@')}`);

const child = spawn(command, args, {
  stdio: 'inherit',
  env: { ...process.env, MONGODB_URI: server.uri, MONGOSESS_TEST_SERVER: server.kind },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await server.stop();
process.exit(code);
