// mongosess with Fastify: remember a visitor's name.
//   GET /set?name=Ann  stores the name     GET /       reads it back
//   GET /del           deletes the name    GET /end    ends the session
import Fastify from 'fastify';
import MongoSess from 'mongosess';
import { session } from 'mongosess/fastify';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

await MongoSess.connect({ uri, db: 'example', collection: 'sessions' });

const app = Fastify();
await app.register(session, { keys: ['replace with a long random secret'] });

app.get('/set', async (request) => {
  const name = String(request.query.name ?? 'stranger');
  await request.session.set({ name });
  return `Hello ${name}, I will remember you.\n`;
});
app.get('/del', async (request) => {
  await request.session.del('name');
  return 'I forgot your name.\n';
});
app.get('/end', async (request) => {
  await request.session.end();
  return 'Session ended. Goodbye!\n';
});
app.get('/', async (request) => {
  const name = await request.session.get('name');
  return name ? `Welcome back, ${name}.\n` : 'Hello! Who are you? Try /set?name=Ann\n';
});

const address = await app.listen({ port, host: '127.0.0.1' });
console.log(`mongosess fastify example listening on ${address}/`);
process.on('SIGTERM', () => app.close().then(() => MongoSess.close()));
