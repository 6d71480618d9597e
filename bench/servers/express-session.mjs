// App (b): express 5 + express-session + connect-mongo, with the settings connect-mongo's README
// recommends: resave: false, saveUninitialized: false, and lazy touch (touchAfter: 24 h), so that a
// request that only reads a session does not also write it.
import express from 'express';
import session from 'express-session';
import MongoStore from 'connect-mongo';
import { createStats, env, monitoredClient, WORKLOAD_PATHS } from './common.mjs';

const { client, commands } = await monitoredClient();
// FerretDB 1.x refuses TTL indexes, and connect-mongo's 'native' mode then fails every request:
// there, use its 'interval' removal (mongosess falls back to the same on its own).
const info = await client
  .db('admin')
  .command({ buildInfo: 1 })
  .catch(() => ({}));
const autoRemove = typeof info.ferretdbVersion === 'string' ? 'interval' : 'native';

const store = MongoStore.create({
  client,
  dbName: env('BENCH_DB'),
  collectionName: env('BENCH_COLLECTION'),
  autoRemove,
  touchAfter: 24 * 3600,
});
await store.collectionP; // index set up before the first request
const stats = createStats(commands);
let counter = 0;

const app = express();
app.get('/__stats', (req, res) => stats.respond(req.url, res));
app.use((req, res, next) => {
  if (WORKLOAD_PATHS.has(req.path)) stats.countRequest(res);
  next();
});
app.use(session({ secret: env('BENCH_SECRET'), resave: false, saveUninitialized: false, store }));
app.get('/login', (req, res) => {
  req.session.user = 'ann';
  res.type('text').send('ok');
});
const readUser = (req, res) => res.type('text').send(`user=${req.session.user}`);
app.get('/read', readUser);
app.get('/new', readUser);
app.get('/set', (req, res) => {
  req.session.n = ++counter;
  res.type('text').send('ok');
});
app.get('/readset', (req, res) => {
  const user = req.session.user;
  req.session.n = ++counter;
  res.type('text').send(`user=${user}`);
});
app.get('/setkey', (req, res) => {
  req.session[`k${Number(req.query.k)}`] = 1;
  res.type('text').send('ok');
});
app.get('/dump', (req, res) => res.type('text').send(JSON.stringify(Object.keys(req.session))));

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
server.keepAliveTimeout = 30_000;
process.send?.({ ready: true, name: 'express-session', port: server.address().port, pid: process.pid });
const stop = async () => {
  server.closeAllConnections?.();
  server.close();
  await client.close().catch(() => undefined);
  process.exit(0);
};
process.on('message', (message) => {
  if (message === 'stop') void stop();
});
process.on('disconnect', () => void stop());
