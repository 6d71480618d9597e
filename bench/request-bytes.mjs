// Database commands and bytes per request kind: what one request costs on the wire to MongoDB.
// Each command and reply is measured as its BSON size plus the 21 bytes of an OP_MSG header and
// body section (what the driver sends for a command without document sequences; compression off).
// Usage: npm run build && node scripts/with-server.mjs node bench/request-bytes.mjs
import http from 'node:http';
import { BSON, MongoClient } from 'mongodb';
import MongoSess from '../dist/index.js';
import { machine } from './harness.mjs';

const OP_MSG_OVERHEAD = 21;
const HOUSEKEEPING = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'endSessions', 'buildInfo']);
const uri = process.env.MONGODB_URI;
if (!uri) throw new Error('MONGODB_URI is not set: run through scripts/with-server.mjs');

const client = new MongoClient(uri, { monitorCommands: true });
let log = [];
client.on('commandStarted', (e) => {
  if (!HOUSEKEEPING.has(e.commandName)) log.push({ name: e.commandName, sent: BSON.calculateObjectSize(e.command) + OP_MSG_OVERHEAD });
});
client.on('commandSucceeded', (e) => {
  const entry = log.findLast((c) => c.name === e.commandName && c.received === undefined);
  if (entry) entry.received = BSON.calculateObjectSize(e.reply) + OP_MSG_OVERHEAD;
});

const db = `mongosess_bytes_${process.pid}`;
await MongoSess.connect({ client, db, autoRemove: 'disabled' });
// A typical session: a user id, a name, a role, a small cart.
const data = { userId: '64b7f1c2a9e4d3b2c1a09876', name: 'Ann Example', role: 'customer', cart: [{ sku: 'A-100', qty: 2 }] };
const routes = {
  '/login': (s) => s.set(data),
  '/read': (s) => s.get('userId'),
  '/write': (s) => s.set({ lastPage: '/products/42' }),
  '/regenerate': (s) => s.regenerate(),
  '/end': (s) => s.end(),
};
const server = http.createServer(async (req, res) => {
  const session = new MongoSess(req, res, { keys: ['bench secret'] });
  await routes[req.url](session);
  res.end('ok');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

let cookie = '';
async function request(path) {
  const reply = await fetch(base + path, { headers: cookie ? { cookie } : {} });
  const set = reply.headers.getSetCookie().map((line) => line.split(';')[0]);
  if (set.length > 0) cookie = set.join('; ');
  await reply.text();
}

const rows = [];
for (const path of ['/login', '/read', '/write', '/regenerate', '/read', '/end']) {
  log = [];
  await request(path);
  const sent = log.reduce((n, c) => n + c.sent, 0);
  const received = log.reduce((n, c) => n + (c.received ?? 0), 0);
  rows.push({ request: path, commands: log.map((c) => c.name).join(' + '), sent, received });
}
console.log(`Database commands and bytes per request kind. ${machine()}.`);
console.table(rows);
server.close();
await client.db(db).dropDatabase();
await MongoSess.close();
await client.close();
