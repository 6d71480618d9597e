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

  // A declared key reads as its type, or undefined.
  const id: number | undefined = await session.get('userId');
  // @ts-expect-error get('userId') may be undefined: it is not a plain number
  const sure: number = await session.get('userId');
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
  const roles: string[] | undefined = whole.roles;
  const sid: string = whole._id;
  // @ts-expect-error userId in the whole session may be absent
  const absent: number = whole.userId;

  // Callbacks: once err is checked, the result is the value's type.
  session.get('userId', (err, value) => {
    if (err) return;
    const checked: number | undefined = value;
    void checked;
  });
  const done: Callback<boolean> = (err) => void err;
  session.set({ userId: 1 }, done);
  MongoSess.close((_err, hadConnection) => void (hadConnection satisfies boolean));

  void [id, sure, other, notAny, roles, sid, absent];
}
