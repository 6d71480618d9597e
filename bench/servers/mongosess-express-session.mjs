// App (d): express 5 + mongosess/express-session: the express-session app (b) with the store
// swapped for mongosess, its routes unchanged (req.session.x read and written synchronously).
import express from 'express';
import MongoSess from 'mongosess';
import { session } from 'mongosess/express-session';
import { createStats, env, monitoredClient, WORKLOAD_PATHS } from './common.mjs';

const { client, commands } = await monitoredClient();
await MongoSess.connect({
  client,
  db: env('BENCH_DB'),
  collection: env('BENCH_COLLECTION'),
  warn: (message) => process.send?.({ warning: message }),
});
const stats = createStats(commands);
let counter = 0;

const app = express();
app.get('/__stats', (req, res) => stats.respond(req.url, res));
app.use((req, res, next) => {
  if (WORKLOAD_PATHS.has(req.path)) stats.countRequest(res);
  next();
});
app.use(session({ secret: env('BENCH_SECRET'), resave: false, saveUninitialized: false }));
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
process.send?.({ ready: true, name: 'mongosess/express-session', port: server.address().port, pid: process.pid });
const stop = async () => {
  server.closeAllConnections?.();
  server.close();
  await new Promise((resolve) => MongoSess.close(() => resolve()));
  await client.close().catch(() => undefined);
  process.exit(0);
};
process.on('message', (message) => {
  if (message === 'stop') void stop();
});
process.on('disconnect', () => void stop());
