// mongosess with two stores in one Express app: public sessions (MongoSess's store, 14 days) and
// admin sessions (their own collection and cookie, 15 minutes).
//   GET /login?name=Ann  a visitor's name (public)     GET /admin/login  an admin role (admin)
//   GET /admin/          both, from one request
import express from 'express';
import MongoSess, { MongoSessStore } from 'mongosess';
import { session } from 'mongosess/express';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);
const keys = ['replace with a long random secret'];

await MongoSess.connect({ uri, db: 'example' }); // public sessions: collection 'sessions', 14 days
const admin = new MongoSessStore({ uri, db: 'example', collection: 'admin_sessions', expires: 15 * 60_000 });
await admin.connect();

const app = express();
app.use(session({ keys })); // req.session: the public session
app.use('/admin', session({ store: admin, cookieName: 'admin', keys })); // under /admin: the admin one

app.get('/login', async (req, res) => {
  await req.session.set({ name: String(req.query.name ?? 'stranger') });
  res.type('text').send('Logged in.\n');
});
app.get('/admin/login', async (req, res) => {
  await req.session.set({ role: 'admin' });
  res.type('text').send('Admin session started; it ends after 15 minutes.\n');
});
app.get('/admin/', async (req, res) => {
  const visitor = MongoSess(req, res); // the public session of this same request
  res.json({ role: (await req.session.get('role')) ?? null, name: (await visitor.get('name')) ?? null });
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`mongosess stores example listening on http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () =>
  server.close(() => {
    MongoSess.close();
    admin.close();
  }),
);
