// The classic mongosess example: remember a visitor's name in a plain http server.
//   GET /set?name=Ann  stores the name     GET /       reads it back
//   GET /del           deletes the name    GET /end    ends the session
import http from 'node:http';
import MongoSess from 'mongosess';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

MongoSess.connect({ uri, db: 'example', collection: 'sessions' }, (err) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }

  const server = http.createServer((req, res) => {
    const session = new MongoSess(req, res, { keys: ['replace with a long random secret'] });
    const url = new URL(req.url, 'http://localhost');
    const reply = (err, text) => {
      res.writeHead(err ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(err ? 'Something went wrong\n' : `${text}\n`);
    };

    if (url.pathname === '/set') {
      const name = url.searchParams.get('name') ?? 'stranger';
      session.set({ name }, (err) => reply(err, `Hello ${name}, I will remember you.`));
    } else if (url.pathname === '/del') {
      session.del('name', (err) => reply(err, 'I forgot your name.'));
    } else if (url.pathname === '/end') {
      session.end((err) => reply(err, 'Session ended. Goodbye!'));
    } else {
      session.get('name', (err, name) => reply(err, name ? `Welcome back, ${name}.` : 'Hello! Who are you? Try /set?name=Ann'));
    }
  });

  server.listen(port, '127.0.0.1', () => {
    console.log(`mongosess example listening on http://127.0.0.1:${server.address().port}/`);
  });
  process.on('SIGTERM', () => server.close(() => MongoSess.close()));
});
