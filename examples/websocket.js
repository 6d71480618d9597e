// mongosess with WebSockets (ws): the HTTP pages set the session, the socket reads it.
//   GET /set?name=Ann  stores the name (an ordinary HTTP request, which can set the cookie)
//   ws://…/            greets the session's name; the upgrade request has no response to carry a
//                      cookie, so its session is read-only
import { createServer } from 'node:http';
import { MongoSessStore } from 'mongosess';
import { WebSocketServer } from 'ws';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);
const options = { keys: ['replace with a long random secret'] };

const store = new MongoSessStore({ uri, db: 'example', collection: 'sessions' });
await store.connect();

const server = createServer(async (req, res) => {
  const session = store.session(req, res, options);
  const url = new URL(req.url, 'http://localhost');
  const name = url.searchParams.get('name') ?? 'stranger';
  if (url.pathname === '/set') await session.set({ name });
  res.end(url.pathname === '/set' ? `Hello ${name}, now open a WebSocket.\n` : 'Try /set?name=Ann\n');
});

const sockets = new WebSocketServer({ server });
sockets.on('connection', async (socket, req) => {
  const session = store.upgradeSession(req, options); // read-only: get() works, writes are refused
  const name = await session.get('name');
  socket.send(name ? `Welcome back, ${name}.` : 'Hello! Who are you? Visit /set?name=Ann first.');
  try {
    await session.set({ seen: true });
  } catch (err) {
    socket.send(`${err.name}: writes need an HTTP response`);
  }
  socket.close();
});

server.listen(port, '127.0.0.1', () => {
  console.log(`mongosess websocket example listening on http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => {
  for (const socket of sockets.clients) socket.terminate();
  server.close(() => store.close());
});
