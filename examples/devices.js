// mongosess with Express: login, a "your devices" page, and logout.
//   GET  /                    signed in as whom, or a login form
//   POST /login               name=Ann: a new session id that holds the user (regenerate)
//   GET  /devices             your sessions: when each began, was last seen, from which browser
//   POST /devices/end         handle=…: ends that one device
//   POST /devices/end-others  ends every session of yours but this one
//   POST /logout              ends this session
// A real app checks a password at /login; this one believes the name it is given.
import express from 'express';
import MongoSess from 'mongosess';
import { session } from 'mongosess/express';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

// userKey: the data key that names a session's user (indexed at connect); recordClient: keep
// the user agent and IP address a session was created from, for the devices page.
await MongoSess.connect({ uri, db: 'example', collection: 'sessions', userKey: 'userId', recordClient: true });

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(session({ keys: ['replace with a long random secret'] }));

// Hands a rejected async handler's error to Express (see examples/express.js).
const route = (handler) => (req, res, next) => handler(req, res).catch(next);
const html = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (res, body) => res.type('html').send(`<!doctype html><meta charset="utf-8"><title>Devices</title>${body}`);
const button = (action, label, handle) =>
  `<form method="post" action="${action}">${handle ? `<input type="hidden" name="handle" value="${html(handle)}">` : ''}` +
  `<button>${html(label)}</button></form>`;

// A route for the signed-in user only; others are sent to the login form.
const asUser = (handler) =>
  route(async (req, res) => {
    const userId = await req.session.get('userId');
    if (userId === undefined) return res.redirect(303, '/');
    await handler(req, res, userId);
  });

app.get(
  '/',
  route(async (req, res) => {
    const userId = await req.session.get('userId');
    if (userId === undefined) {
      return page(res, '<p>Not signed in.</p><form method="post" action="/login"><input name="name"><button>Sign in</button></form>');
    }
    page(res, `<p>Signed in as ${html(userId)}.</p><p><a href="/devices">Your devices</a></p>${button('/logout', 'Sign out')}`);
  }),
);

app.post(
  '/login',
  route(async (req, res) => {
    const name = String(req.body.name ?? '').trim();
    if (name === '') return res.redirect(303, '/');
    // A new id at login (against session fixation), stored with the user in one write.
    await req.session.regenerate({ set: { userId: name } });
    res.redirect(303, '/devices');
  }),
);

app.get(
  '/devices',
  asUser(async (req, res, userId) => {
    const sessions = await MongoSess.listSessions({ userId }, { current: req.session });
    const rows = sessions.map(
      (s) =>
        `<li>${html(s.client?.userAgent ?? 'unknown browser')}, signed in ${html(s.createdAt?.toISOString())}, ` +
        `last seen ${html(s.lastSeenAt?.toISOString())} ${s.current ? '<b>(this device)</b>' : button('/devices/end', 'Sign out', s.handle)}</li>`,
    );
    page(
      res,
      `<p>Signed in as ${html(userId)} on ${sessions.length} device(s):</p><ul>${rows.join('')}</ul>` +
        `${button('/devices/end-others', 'Sign out all other devices')}${button('/logout', 'Sign out')}`,
    );
  }),
);

app.post(
  '/devices/end',
  asUser(async (req, res, userId) => {
    // The user's filter too: a handle of someone else's session ends nothing.
    await MongoSess.endSession(String(req.body.handle ?? ''), { userId });
    res.redirect(303, '/devices');
  }),
);

app.post(
  '/devices/end-others',
  asUser(async (req, res, userId) => {
    await MongoSess.endAll({ userId }, { except: req.session });
    res.redirect(303, '/devices');
  }),
);

app.post(
  '/logout',
  route(async (req, res) => {
    await req.session.end();
    res.redirect(303, '/');
  }),
);

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`mongosess devices example listening on http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => server.close(() => MongoSess.close()));
