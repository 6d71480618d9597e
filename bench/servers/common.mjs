// Shared by the three benchmark app servers (each runs in its own child process):
// the MongoClient with command monitoring, the /__stats endpoint, the RSS sampler and startup.
import http from 'node:http';
import { MongoClient } from 'mongodb';

/** Commands that are connection chatter, not work done for a request. */
export const NOT_COUNTED = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'endSessions',
  'buildInfo',
  'buildinfo',
  'saslStart',
  'saslContinue',
  'getnonce',
]);

/** Paths served by every app; only these count as requests. */
export const WORKLOAD_PATHS = new Set(['/login', '/read', '/set', '/readset', '/new', '/setkey', '/dump']);

export function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

/** A MongoClient that counts every command it sends, by name. */
export async function monitoredClient() {
  const client = new MongoClient(env('MONGODB_URI'), { monitorCommands: true });
  const counts = Object.create(null);
  let total = 0;
  client.on('commandStarted', (event) => {
    if (NOT_COUNTED.has(event.commandName)) return;
    total++;
    counts[event.commandName] = (counts[event.commandName] ?? 0) + 1;
  });
  await client.connect();
  return { client, commands: () => ({ total, byName: { ...counts } }) };
}

/** Request counter, CPU, RSS (current, sampled peak since the last reset, lifetime max). */
export function createStats(commands) {
  let requests = 0;
  let inflight = 0;
  const done = () => inflight--;
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peakRss) peakRss = rss;
  }, 20);
  sampler.unref();

  return {
    countRequest(res) {
      requests++;
      inflight++;
      res.once('close', done);
    },
    /** GET /__stats[?gc=1][&reset=1] */
    respond(url, res) {
      if (url.includes('gc=1') && typeof globalThis.gc === 'function') {
        globalThis.gc();
        globalThis.gc();
      }
      const rss = process.memoryUsage.rss();
      if (rss > peakRss) peakRss = rss;
      const body = JSON.stringify({
        requests,
        inflight,
        commands: commands(),
        cpu: process.cpuUsage(),
        rss,
        peakRss,
        maxRss: process.resourceUsage().maxRSS * 1024,
        heapUsed: process.memoryUsage().heapUsed,
      });
      if (url.includes('reset=1')) peakRss = rss;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  };
}

/** The path of a request URL and its `k` query parameter (for /setkey). */
export function parseUrl(url) {
  const q = url.indexOf('?');
  if (q < 0) return { path: url, k: undefined };
  const match = /(?:^|&)k=(\d{1,4})(?:&|$)/.exec(url.slice(q + 1));
  return { path: url.slice(0, q), k: match ? match[1] : undefined };
}

export function reply(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Listens on a free loopback port and tells the parent (IPC) which; exits when told to stop. */
/** A rejection handler that answers 500 with the error's message (if nothing was sent yet). */
export const fail = (res) => (err) => {
  if (!res.headersSent) reply(res, 500, `error: ${err.message}`);
};

export function listen(server, name, onStop) {
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ ready: true, name, port: server.address().port, pid: process.pid });
  });
  const stop = async () => {
    server.closeAllConnections?.();
    server.close();
    await onStop?.().catch(() => undefined);
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
}

export function createServer(handler) {
  return http.createServer(handler);
}
