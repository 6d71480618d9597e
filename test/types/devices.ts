// Device sessions and events, typed. Compiled by `npm run typecheck` (tsc -p test/types): every
// line after a @ts-expect-error must fail, every other line must compile.
import type { IncomingMessage, ServerResponse } from 'node:http';
import MongoSess, { isSessionHandle, type SessionHandle, type SessionSummary } from 'mongosess';

export async function devices(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = new MongoSess(req, res);

  // regenerate() takes { set } with the declared types (SessionData in data/session-data.ts).
  await session.regenerate({ set: { userId: 42 } });
  // @ts-expect-error userId is a number
  await session.regenerate({ set: { userId: 'x' } });
  session.regenerate((err) => err);

  const listed: SessionSummary[] = await MongoSess.listSessions({ userId: 42 }, { current: session, limit: 10 });
  const handle: SessionHandle | undefined = listed[0]?.handle;
  const seen: Date | undefined = listed[0]?.lastSeenAt;
  const mine: boolean | undefined = listed[0]?.current;
  if (handle) await MongoSess.endSession(handle, { userId: 42 });
  // @ts-expect-error a plain string is not a handle: take it from listSessions (or brand it knowingly)
  await MongoSess.endSession('msh1.x');
  // A string from a request narrows to a handle with isSessionHandle.
  const posted: string = String(req.url);
  if (isSessionHandle(posted)) await MongoSess.endSession(posted, { userId: 42 });
  await MongoSess.endAll({ userId: 42 }, { except: session });
  // @ts-expect-error except takes a session
  await MongoSess.endAll({ userId: 42 }, { except: 'me' });

  MongoSess.on('ended', (event) => {
    if (event.reason === 'endAll') {
      const count: number = event.count;
      void count;
    } else {
      const ended: SessionHandle = event.handle;
      void ended;
    }
  });
  MongoSess.on('regenerated', ({ from, to }) => void [from, to]);
  // @ts-expect-error no such event
  MongoSess.on('destroyed', () => undefined);
  // @ts-expect-error created has no reason
  MongoSess.on('created', (event) => event.reason);
  void [seen, mine];
}
