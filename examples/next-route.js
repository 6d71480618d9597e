// mongosess in a Next.js-style route handler: a Request in, a Response out (app/route.js in Next;
// here served by @hono/node-server so that it runs on its own).
//   GET /set?name=Ann  stores the name     GET /       reads it back
//   GET /del           deletes the name    GET /end    ends the session
import { serve } from '@hono/node-server';
import { MongoSessStore } from 'mongosess';
import { fetchSession, withSession } from 'mongosess/fetch';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

const store = new MongoSessStore({ uri, db: 'example', collection: 'sessions' });
await store.connect();
const sessionOptions = { store, keys: ['replace with a long random secret'] };

export async function GET(request) {
  const session = fetchSession(request, sessionOptions);
  const url = new URL(request.url);
  let text;
  if (url.pathname === '/set') {
    const name = url.searchParams.get('name') ?? 'stranger';
    await session.set({ name });
    text = `Hello ${name}, I will remember you.\n`;
  } else if (url.pathname === '/del') {
    await session.del('name');
    text = 'I forgot your name.\n';
  } else if (url.pathname === '/end') {
    await session.end();
    text = 'Session ended. Goodbye!\n';
  } else {
    const name = await session.get('name');
    text = name ? `Welcome back, ${name}.\n` : 'Hello! Who are you? Try /set?name=Ann\n';
  }
  // The session's Set-Cookie lines go into the Response; writes after this are refused.
  return withSession(session, new Response(text, { headers: { 'content-type': 'text/plain' } }));
}

const server = serve({ fetch: GET, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`mongosess next-route example listening on http://127.0.0.1:${info.port}/`);
});
process.on('SIGTERM', () => server.close(() => store.close()));
