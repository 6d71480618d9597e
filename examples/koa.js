// mongosess with Koa: remember a visitor's name.
//   GET /set?name=Ann  stores the name     GET /       reads it back
//   GET /del           deletes the name    GET /end    ends the session
import Koa from 'koa';
import MongoSess from 'mongosess';
import { session } from 'mongosess/koa';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

await MongoSess.connect({ uri, db: 'example', collection: 'sessions' });

const app = new Koa();
app.use(session({ keys: ['replace with a long random secret'] }));

app.use(async (ctx) => {
  if (ctx.path === '/set') {
    const name = String(ctx.query.name ?? 'stranger');
    await ctx.session.set({ name });
    ctx.body = `Hello ${name}, I will remember you.\n`;
  } else if (ctx.path === '/del') {
    await ctx.session.del('name');
    ctx.body = 'I forgot your name.\n';
  } else if (ctx.path === '/end') {
    await ctx.session.end();
    ctx.body = 'Session ended. Goodbye!\n';
  } else {
    const name = await ctx.session.get('name');
    ctx.body = name ? `Welcome back, ${name}.\n` : 'Hello! Who are you? Try /set?name=Ann\n';
  }
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`mongosess koa example listening on http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => server.close(() => MongoSess.close()));
