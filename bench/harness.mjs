// What bench/overhead.mjs and bench/scale.mjs share: one MongoClient and the mongosess
// connection on it, real http request/response objects without a socket's traffic, the session
// cookie a response set, command counting, statistics and markdown tables.
import http from 'node:http';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { MongoClient } from 'mongodb';
import MongoSess from 'mongosess';
import { NOT_COUNTED } from './servers/common.mjs';

/** Signed cookies, as the HTTP benchmark's apps use. One options object, reused (resolved once). */
export const SESSION_OPTIONS = { keys: ['a benchmark secret, long enough to be realistic'] };

export function uri() {
  const value = process.env.MONGODB_URI;
  if (!value) throw new Error('MONGODB_URI is not set: run through scripts/with-server.mjs');
  return value;
}

/** `--name value` (or `--flag`) from argv. */
export function arg(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const next = process.argv[index + 1];
  return next === undefined || next.startsWith('--') ? true : next;
}

/**
 * Connects mongosess to `client` on `db`.`collection`, or reconnects it there (the connection
 * is shared: close first). Warnings (FerretDB's missing TTL indexes and atomicity) are kept.
 */
export async function connectMongoSess(client, db, collection, warnings = [], more = {}) {
  await new Promise((resolve) => MongoSess.close(() => resolve()));
  await MongoSess.connect({ client, db, collection, warn: (message) => warnings.push(message), ...more });
  return MongoSess;
}

/** A client that counts the commands it sends (for checks only: monitoring costs CPU). */
export async function countingClient() {
  const client = new MongoClient(uri(), { monitorCommands: true });
  let total = 0;
  client.on('commandStarted', (event) => {
    if (!NOT_COUNTED.has(event.commandName)) total++;
  });
  await client.connect();
  return { client, commands: () => total };
}

const socket = new net.Socket();

/** A request as node:http would hand it over (with `cookie`, if given) and its response. */
export function exchange(cookie) {
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/';
  req.headers = cookie ? { host: 'localhost', cookie } : { host: 'localhost' };
  const res = new http.ServerResponse(req);
  return { req, res };
}

/** The Cookie header a browser sends back after `res`: each Set-Cookie's name=value. */
export function cookieHeaderOf(res) {
  const lines = [res.getHeader('set-cookie') ?? []].flat();
  if (lines.length === 0) throw new Error('the response set no cookie');
  return lines.map((line) => String(line).split(';', 1)[0]).join('; ');
}

/** A stored mongosess session holding `data`; returns the Cookie header that names it. */
export async function storedSession(data) {
  const { req, res } = exchange();
  await MongoSess(req, res, SESSION_OPTIONS).set(data);
  return cookieHeaderOf(res);
}

/** The raw baseline's cookie: the value is the document's `_id`. */
export const rawSidOf = (req) => /(?:^|;\s*)sid=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1];

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** `median (min–max)`. */
export function spread(values, digits = 1, unit = '') {
  return `${fmt(median(values), digits)}${unit} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;
}

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

export function machine() {
  return `Node.js ${process.version}, ${availableParallelism()} CPUs, ${process.platform} ${process.arch}, server: ${process.env.MONGOSESS_TEST_SERVER ?? 'unknown'}`;
}
