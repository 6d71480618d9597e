// Run by test/integration/unhandled.test.ts as a child process, under Node's default
// --unhandled-rejections=throw: 0.4-style code that calls set() with no callback and no await.
// One such write is refused (the session is ended by another request while this one runs), one
// meets a stopped database. Neither may end the process: both go to connect's `warn`, with the
// error. Prints `RESULT <json>` with what `warn` got, and exits on its own.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import MongoSess from '../../src/index.js';
import { tcpProxy } from './tcp-proxy.js';

const proxy = await tcpProxy(process.env['MONGODB_URI'] ?? '');
const warnings: { message: string; name?: string | undefined; status?: unknown }[] = [];

await MongoSess.connect({
  uri: proxy.uri,
  db: process.env['MONGOSESS_CHILD_DB'] ?? 'mongosess_unhandled_child',
  clientOptions: { directConnection: true, heartbeatFrequencyMS: 500 },
  operationTimeout: 1000,
  autoRemove: 'disabled',
  warn: (message, error) => {
    // Only the reports of unhandled promises (not the server's capability warnings).
    if (message.includes('nothing handled its promise'))
      warnings.push({ message, name: error?.name, status: (error as { status?: unknown })?.status });
  },
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = new MongoSess(req, res);
  if (req.url === '/login') {
    await session.set({ user: 'u1' });
  } else if (req.url === '/refused') {
    await session.get();
    // Another request logs the user out everywhere while this one runs...
    await MongoSess.endAll({ user: 'u1' });
    // ...and this one, 0.4 style, writes without waiting: the write is refused.
    session.set({ lastSeen: Date.now() });
  } else if (req.url === '/database-down') {
    session.set({ lastSeen: Date.now() });
  }
  res.end('ok');
}

const server = http.createServer((req, res) => void handle(req, res));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

function get(path: string, cookie = ''): Promise<{ status: number; cookie: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false, headers: cookie ? { cookie } : {} }, (res) => {
        res.resume();
        const set = (res.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');
        res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie: set }));
      })
      .on('error', reject);
  });
}

async function until(count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (warnings.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

const login = await get('/login');
await get('/refused', login.cookie);
await until(1);
proxy.down();
await get('/database-down');
await until(2);

process.stdout.write(`RESULT ${JSON.stringify({ warnings })}\n`);
await new Promise<void>((resolve) => server.close(() => resolve()));
await new Promise((resolve) => MongoSess.close(resolve));
await proxy.cut();
