// Typed session data by declaration merging. Compiled by `npm run typecheck` (tsc -p test/types):
// every line after a @ts-expect-error must fail, every other line must compile.
import type { IncomingMessage, ServerResponse } from 'node:http';
import MongoSess, { type Callback, type SessionView } from 'mongosess';

declare module 'mongosess' {
  interface SessionData {
    userId: number;
    roles: string[];
  }
}

export async function typed(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = new MongoSess(req, res);

  // A declared key reads as its type, or undefined (absent), or null (set to null or undefined).
  const id: number | null | undefined = await session.get('userId');
  // @ts-expect-error get('userId') may be undefined: it is not a plain number
  const sure: number = await session.get('userId');
  // @ts-expect-error get('userId') may be null: set({ userId: undefined }) stores null
  const notNull: number | undefined = await session.get('userId');
  // An undeclared key (or a dotted path) is unknown.
  const other: unknown = await session.get('cart');
  // @ts-expect-error an undeclared key is unknown, not any
  const notAny: string = await session.get('cart');

  // set() checks declared keys and allows others.
  await session.set({ userId: 42, cart: ['apple'], 'profile.name': 'Ann' });
  // @ts-expect-error userId is a number
  await session.set({ userId: 'x' });
  // @ts-expect-error roles is a string array
  await session.set({ roles: [1] });

  // get() resolves the typed whole.
  const whole: SessionView = await session.get();
  const roles: string[] | null | undefined = whole.roles;
  // @ts-expect-error a key of the whole session may be null too
  const rolesNotNull: string[] | undefined = whole.roles;

  // del() takes keys as get() does: declared ones, any other key or dotted path; not a number.
  await session.del('userId', 'cart', 'profile.name');
  session.del('roles', (err) => void err);
  // @ts-expect-error del() takes string keys
  await session.del(42);
  const sid: string = whole._id;
  // @ts-expect-error userId in the whole session may be absent
  const absent: number = whole.userId;

  // Callbacks: once err is checked, the result is the value's type.
  session.get('userId', (err, value) => {
    if (err) return;
    const checked: number | null | undefined = value;
    void checked;
  });
  const done: Callback<boolean> = (err) => void err;
  session.set({ userId: 1 }, done);
  MongoSess.close((_err, hadConnection) => void (hadConnection satisfies boolean));

  void [id, sure, notNull, other, notAny, roles, rolesNotNull, sid, absent];
}
