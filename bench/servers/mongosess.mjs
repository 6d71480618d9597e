// App (a): mongosess on a plain node:http server.
import MongoSess from 'mongosess';
import { createServer, createStats, env, fail, listen, monitoredClient, parseUrl, reply, WORKLOAD_PATHS } from './common.mjs';

const { client, commands } = await monitoredClient();
const warnings = [];
await MongoSess.connect({
  client,
  db: env('BENCH_DB'),
  collection: env('BENCH_COLLECTION'),
  warn: (message) => {
    warnings.push(message);
    process.send?.({ warning: message });
  },
});
const stats = createStats(commands);
// Signed cookies, as express-session's are.
const sessionOptions = { keys: [env('BENCH_SECRET')] };
let counter = 0;

const server = createServer((req, res) => {
  const { path, k } = parseUrl(req.url);
  if (path === '/__stats') return stats.respond(req.url, res);
  if (!WORKLOAD_PATHS.has(path)) return reply(res, 404, 'not found');
  stats.countRequest(res);
  const session = new MongoSess(req, res, sessionOptions);
  switch (path) {
    case '/login': // creates the session the load generator then uses
      return session.set({ user: 'ann' }).then(() => reply(res, 200, 'ok'), fail(res));
    case '/read': // read one key
    case '/new': // a new visitor (no cookie) who stores nothing: the same read, answered without the database
      return session.get('user').then((user) => reply(res, 200, `user=${user}`), fail(res));
    case '/set': // set one key without reading
      return session.set({ n: ++counter }).then(() => reply(res, 200, 'ok'), fail(res));
    case '/readset': // read, then set
      return session
        .get('user')
        .then((user) => session.set({ n: ++counter }).then(() => reply(res, 200, `user=${user}`)))
        .catch(fail(res));
    case '/setkey': // lost-update test: each request sets its own key
      return session.set({ [`k${k}`]: 1 }).then(() => reply(res, 200, 'ok'), fail(res));
    case '/dump':
      return session.get().then((data) => reply(res, 200, JSON.stringify(Object.keys(data))), fail(res));
  }
});
listen(server, 'mongosess', async () => {
  await new Promise((resolve) => MongoSess.close(() => resolve()));
  await client.close();
});
