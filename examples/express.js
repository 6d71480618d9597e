// mongosess with Express: remember a visitor's name.
//   GET /set?name=Ann  stores the name     GET /       reads it back
//   GET /del           deletes the name    GET /end    ends the session
import express from 'express';
import MongoSess from 'mongosess';
import { session } from 'mongosess/express';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

await MongoSess.connect({ uri, db: 'example', collection: 'sessions' });

const app = express();
app.use(session({ keys: ['replace with a long random secret'] }));

// Express 5 passes a rejected async handler's error to next(); Express 4 does not (the rejection
// would go unhandled and end the process), so hand it over here. Express then answers with the
// error's status: 400 bad input, 409 a session ended meanwhile, 503 the database.
const route = (handler) => (req, res, next) => handler(req, res).catch(next);

app.get(
  '/set',
  route(async (req, res) => {
    const name = String(req.query.name ?? 'stranger');
    await req.session.set({ name });
    res.type('text').send(`Hello ${name}, I will remember you.\n`);
  }),
);
app.get(
  '/del',
  route(async (req, res) => {
    await req.session.del('name');
    res.type('text').send('I forgot your name.\n');
  }),
);
app.get(
  '/end',
  route(async (req, res) => {
    await req.session.end();
    res.type('text').send('Session ended. Goodbye!\n');
  }),
);
app.get(
  '/',
  route(async (req, res) => {
    const name = await req.session.get('name');
    res.type('text').send(name ? `Welcome back, ${name}.\n` : 'Hello! Who are you? Try /set?name=Ann\n');
  }),
);

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`mongosess express example listening on http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => server.close(() => MongoSess.close()));
