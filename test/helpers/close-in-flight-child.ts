// Run by test/faults.test.ts as a child process: connect → requests in flight → close(), then
// nothing more. The parent asserts that this process exits on its own, which it can only do when
// close() left no socket, timer or other handle behind.
//
// Protocol on stdio: prints `READY` once every gated request is inside its handler (holding a
// session, before its first database operation) and the busy ones are writing; then waits for a
// line `GO` on stdin (meanwhile the parent may kill or freeze the database); then calls
// MongoSess.close() while those requests are in flight, releases them, sends a few requests more
// (arriving after close), and prints `RESULT <json>`.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import MongoSess, { MongoSessError } from '../../src/index.js';

const uri = process.env['MONGODB_URI'] ?? '';
const db = process.env['MONGOSESS_CHILD_DB'] ?? 'mongosess_close_child';
const GATED = 15;
const BUSY = 15;
const LATE = 5;

const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));

let release!: () => void;
const gate = new Promise<void>((resolve) => (release = resolve));
let gatedInside = 0;
let busyWriting = 0;

function fail(res: ServerResponse, err: unknown, where: string): void {
  const typed = err instanceof MongoSessError;
  res.writeHead(typed ? 503 : 500, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ where, name: (err as Error)?.name, typed }));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let session;
  try {
    session = new MongoSess(req, res);
  } catch (err) {
    return fail(res, err, 'constructor');
  }
  try {
    if (req.url === '/gated') {
      gatedInside++;
      await gate;
      await session.set({ gated: true });
    } else if (req.url === '/busy') {
      busyWriting++;
      for (let i = 0; i < 20; i++) await session.set({ [`k${i}`]: i });
    } else {
      await session.set({ late: true });
    }
    const data = await session.get();
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ keys: Object.keys(data ?? {}).length }));
  } catch (err) {
    fail(res, err, 'operation');
  }
}

function request(port: number, path: string): Promise<{ path: string; status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ path, status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => resolve({ path, status: 0, body: String(err) }));
  });
}

const waitFor = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

await MongoSess.connect({
  uri,
  db,
  operationTimeout: 1000,
  autoRemove: 'interval',
  autoRemoveInterval: 100,
  warn: () => undefined,
});
const server = http.createServer((req, res) => void handle(req, res));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const inFlight = [
  ...Array.from({ length: GATED }, () => request(port, '/gated')),
  ...Array.from({ length: BUSY }, () => request(port, '/busy')),
];
await waitFor(() => gatedInside === GATED && busyWriting === BUSY);
process.stdout.write('READY\n');

const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();
process.stdin.destroy();

const closeStarted = Date.now();
const closeResult = new Promise<{ err: string | null; result: unknown; ms: number }>((resolve) => {
  const returned = MongoSess.close((err, result) => resolve({ err: err ? err.name : null, result, ms: Date.now() - closeStarted }));
  if (returned !== true) resolve({ err: 'close() did not return true', result: returned, ms: 0 });
});
release();
const late = Array.from({ length: LATE }, () => request(port, '/late'));
const replies = await Promise.all([...inFlight, ...late]);
const closed = await closeResult;
await new Promise<void>((resolve) => server.close(() => resolve()));

process.stdout.write(`RESULT ${JSON.stringify({ replies, closed, connected: MongoSess.isConnected(), unhandled })}\n`);

// Does not keep the process alive; if something else does, this says what.
setTimeout(() => {
  process.stderr.write(`close-in-flight-child: still alive, active resources: ${process.getActiveResourcesInfo().join(', ')}\n`);
}, 3000).unref();
