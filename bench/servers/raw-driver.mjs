// App (c): the baseline. The same database operations mongosess makes for each workload, with the
// raw driver on plain node:http, and no session logic: no signature, no hashing, no validation,
// no expiry checks. The cookie value is the document's _id.
import { randomBytes } from 'node:crypto';
import { createServer, createStats, env, fail, listen, monitoredClient, parseUrl, reply, WORKLOAD_PATHS } from './common.mjs';

const { client, commands } = await monitoredClient();
const sessions = client.db(env('BENCH_DB')).collection(env('BENCH_COLLECTION'));
const stats = createStats(commands);
const DAY = 24 * 3600 * 1000;
let counter = 0;

const sidOf = (req) => /(?:^|;\s*)sid=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1];
const setKey = (_id, key, value) =>
  sessions.findOneAndUpdate({ _id }, { $set: { [`d.${key}`]: value } }, { upsert: true, returnDocument: 'after' });

const server = createServer((req, res) => {
  const { path, k } = parseUrl(req.url);
  if (path === '/__stats') return stats.respond(req.url, res);
  if (!WORKLOAD_PATHS.has(path)) return reply(res, 404, 'not found');
  stats.countRequest(res);
  const sid = sidOf(req);
  if (path === '/login') {
    const _id = randomBytes(32).toString('base64url');
    const now = Date.now();
    return sessions.insertOne({ _id, d: { user: 'ann' }, createdAt: new Date(now), expiresAt: new Date(now + 14 * DAY) }).then(() => {
      res.setHeader('set-cookie', `sid=${_id}; Path=/; HttpOnly; SameSite=Lax`);
      reply(res, 200, 'ok');
    }, fail(res));
  }
  if (path === '/new') return reply(res, 200, 'user=undefined'); // nothing stored, nothing to do
  if (!sid) return reply(res, 400, 'no sid cookie');
  switch (path) {
    case '/read':
      return sessions.findOne({ _id: sid }).then((doc) => reply(res, 200, `user=${doc?.d?.user}`), fail(res));
    case '/set':
      return setKey(sid, 'n', ++counter).then(() => reply(res, 200, 'ok'), fail(res));
    case '/readset':
      return sessions
        .findOne({ _id: sid })
        .then((doc) => setKey(sid, 'n', ++counter).then(() => reply(res, 200, `user=${doc?.d?.user}`)))
        .catch(fail(res));
    case '/setkey':
      return setKey(sid, `k${k}`, 1).then(() => reply(res, 200, 'ok'), fail(res));
    case '/dump':
      return sessions.findOne({ _id: sid }).then((doc) => reply(res, 200, JSON.stringify(Object.keys(doc?.d ?? {}))), fail(res));
  }
});
listen(server, 'raw-driver', () => client.close());
