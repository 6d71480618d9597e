// Express's req.session typed by mongosess/express-session (src/adapters/express-session-request.d.ts,
// which this program includes): express-session's methods, and the keys SessionData declares
// (test/types/session-data.ts merges userId: number and roles: string[] into 'mongosess').
import express from 'express';
import { session, type ExpressSessionOptions } from '../../src/express-session.js';

const app = express();
app.use(session({ secret: ['new', 'old'], resave: false, saveUninitialized: false, cookie: { sameSite: 'strict', secure: 'auto' } }));

app.get('/', (req, res) => {
  // Declared keys have their types, synchronously.
  const id: number | undefined = req.session.userId;
  req.session.userId = 42;
  // @ts-expect-error userId is a number
  req.session.userId = 'x';
  // @ts-expect-error roles is a string array
  req.session.roles = [1];
  // Other keys are allowed, as unknown.
  req.session['cart'] = ['apple'];
  // @ts-expect-error an undeclared key is unknown, not any
  const cart: string[] = req.session['cart'];

  const sid: string = req.sessionID;
  const same: string = req.session.id;
  const maxAge: number | null = req.session.cookie.maxAge;
  req.session.cookie.maxAge = 30 * 24 * 3_600_000;
  req.session.regenerate((err) => {
    if (err) return res.status(500).end();
    req.session.save(() => res.send('ok'));
  });
  req.session.touch().reload(() => undefined);
  // @ts-expect-error regenerate takes a callback
  req.session.regenerate();
  void [id, cart, sid, same, maxAge];
});

// @ts-expect-error mongosess is the store: the option does not exist
export const withStore: ExpressSessionOptions = { store: {} };
// @ts-expect-error the session lifetime is connect's expires, not the cookie's maxAge
export const withMaxAge: ExpressSessionOptions = { cookie: { maxAge: 1000 } };
