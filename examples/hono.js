// mongosess with Hono: remember a visitor's name.
//   GET /set?name=Ann  stores the name     GET /       reads it back
//   GET /del           deletes the name    GET /end    ends the session
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { MongoSessStore } from 'mongosess';
import { honoSession } from 'mongosess/fetch';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

const store = new MongoSessStore({ uri, db: 'example', collection: 'sessions' });
await store.connect();

const app = new Hono();
app.use(honoSession({ store, keys: ['replace with a long random secret'] }));

app.get('/set', async (c) => {
  const name = c.req.query('name') ?? 'stranger';
  await c.get('session').set({ name });
  return c.text(`Hello ${name}, I will remember you.\n`);
});
app.get('/del', async (c) => {
  await c.get('session').del('name');
  return c.text('I forgot your name.\n');
});
app.get('/end', async (c) => {
  await c.get('session').end();
  return c.text('Session ended. Goodbye!\n');
});
app.get('/', async (c) => {
  const name = await c.get('session').get('name');
  return c.text(name ? `Welcome back, ${name}.\n` : 'Hello! Who are you? Try /set?name=Ann\n');
});

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`mongosess hono example listening on http://127.0.0.1:${info.port}/`);
});
process.on('SIGTERM', () => server.close(() => store.close()));
