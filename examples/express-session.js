// mongosess/express-session: an express-session app with Passport 0.7 (passport-local),
// connect-flash and a CSRF token kept in the session (csrf-sync), all three unchanged.
//   GET  /         who is logged in (with the logout form), or the login form; flash messages
//   POST /login    username=ann&password=secret&_csrf=…  logs in, under a new session id
//   POST /logout   _csrf=…                                logs out
import express from 'express';
import MongoSess from 'mongosess';
import { session } from 'mongosess/express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import flash from 'connect-flash';
import { csrfSync } from 'csrf-sync';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
const port = Number(process.env.PORT ?? 3000);

await MongoSess.connect({ uri, db: 'example', collection: 'sessions' });

// A real app keeps users in a database, with hashed passwords.
const users = [{ id: 1, username: 'ann', password: 'secret' }];
passport.use(
  new LocalStrategy((username, password, done) => {
    const user = users.find((u) => u.username === username && u.password === password);
    done(null, user ?? false, user ? undefined : { message: 'Wrong username or password.' });
  }),
);
passport.serializeUser((user, done) => done(null, user.id));
passport.deserializeUser((id, done) => done(null, users.find((u) => u.id === id) ?? false));

const { csrfSynchronisedProtection, generateToken } = csrfSync({ getTokenFromRequest: (req) => req.body?._csrf });

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(session({ secret: 'replace with a long random secret', resave: false, saveUninitialized: false }));
app.use(passport.session());
app.use(flash());
app.use(csrfSynchronisedProtection);

const form = (req, action, fields, button) =>
  `<form method="post" action="${action}">${fields}<input type="hidden" name="_csrf" value="${generateToken(req)}"><button>${button}</button></form>`;

app.get('/', (req, res) => {
  const messages = req.flash('error').map((m) => `<p class="flash">${m}</p>`);
  const body = req.user
    ? `<p>Logged in as ${req.user.username}.</p>${form(req, '/logout', '', 'Log out')}`
    : `<p>Not logged in.</p>${form(req, '/login', '<input name="username"><input name="password" type="password">', 'Log in')}`;
  res.type('html').send(`${messages.join('')}${body}\n`);
});
app.post('/login', passport.authenticate('local', { successRedirect: '/', failureRedirect: '/', failureFlash: true }));
app.post('/logout', (req, res, next) => req.logout((err) => (err ? next(err) : res.redirect('/'))));
// Refused CSRF tokens (403) and other errors. Express knows an error handler by its four parameters.
app.use((err, _req, res, _next) =>
  res
    .status(err.status ?? 500)
    .type('text')
    .send(`${err.message}\n`),
);

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`mongosess express-session example listening on http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => server.close(() => MongoSess.close()));
