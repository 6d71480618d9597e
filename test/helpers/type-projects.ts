// Fresh TypeScript projects that use the published types of mongosess the way users do, one per
// module resolution mode. Each is strict, without skipLibCheck, and compiles to nothing (noEmit).

/** Uses the default and named exports, types, and the `keys` option (which must not be `any`). */
const usage = `import MongoSess, {
  MongoSess as Named,
  CompatPromise,
  FOURTEEN_DAYS_MS,
  MongoSessError,
  MongoSessStore,
  Session,
  type Callback,
  type ConnectOptions,
  type MongoSessStatic,
  type SessionOptions,
  type SessionView,
  type SessionSummary,
} from 'mongosess';
import type { IncomingMessage, ServerResponse } from 'node:http';

declare module 'mongosess' {
  interface SessionData {
    userId: number;
  }
}

const options: SessionOptions = { cookieName: 'sid', keys: { sign: (data: string) => data, index: () => 0 } };
// @ts-expect-error keys is typed: a number is not a list of secrets nor a Keygrip
export const wrong: SessionOptions = { keys: 42 };
const connectOptions: ConnectOptions = { uri: 'mongodb://127.0.0.1:27017', expires: FOURTEEN_DAYS_MS };

export function handle(req: IncomingMessage, res: ServerResponse): CompatPromise<SessionView> {
  const session: Session = new MongoSess(req, res, options);
  const same: MongoSessStatic = Named;
  if (!(same(req, res) instanceof Session)) throw new Error('not a Session');
  return session.get();
}
export async function typed(session: Session): Promise<number | null | undefined> {
  // @ts-expect-error SessionData, merged above, says userId is a number
  await session.set({ userId: 'x' });
  return session.get('userId');
}
export const done: Callback<void> = (err) => {
  if (err instanceof MongoSessError) console.log(err.name);
};
export const listed: CompatPromise<SessionSummary[]> = MongoSess.listSessions({ userId: 1 }, { limit: 10 });
MongoSess.connect(connectOptions, done);
const admin = new MongoSessStore({ ...connectOptions, collection: 'admin_sessions' });
export const connecting: CompatPromise<void> = admin.connect();
export const counted: CompatPromise<number> = admin.countSessions({ userId: 1 });
export function handleAdmin(req: IncomingMessage, res: ServerResponse): Session {
  return admin.session(req, res, { cookieName: 'admin' });
}
`;

/** Only CommonJS modules can use the import-equals form, TypeScript's spelling of require(). */
const requireUsage = `import MongoSess = require('mongosess');
const error: MongoSess.MongoSessError = new MongoSess.MongoSessConfigError('mongosess: example');
export const options: MongoSess.SessionOptions = { keys: ['secret'] };
export const store: MongoSess.MongoSessStore = new MongoSess.MongoSessStore({ collection: 'admin_sessions' });
export const same: boolean = MongoSess === MongoSess.MongoSess && MongoSess === MongoSess.default && error instanceof MongoSess.MongoSessError;
`;

/**
 * A project of type module mixing formats: ESM `.ts` and CommonJS `.cts` files, both importing
 * mongosess and its subpaths, a session passed from one format to the other. Two copies of the
 * declarations gave TS2717 (two types for Express.Request.session) and TS2345 (two Session classes).
 */
const mixedEsm = `import MongoSess, { type Session, MongoSessError, MongoSessConfigError } from 'mongosess';
import { session } from 'mongosess/express';
import { session as koaSession } from 'mongosess/koa';
import { session as fastifySession } from 'mongosess/fastify';
import type { IncomingMessage } from 'node:http';
import { useSession } from './cjs.cjs';

declare module 'mongosess' {
  interface SessionData {
    userId: number;
  }
}

export const middlewares = [session({ keys: ['k'] }), koaSession(), fastifySession];
export async function handle(req: IncomingMessage & { session: Session }): Promise<number | null | undefined> {
  const id = await useSession(req.session);
  // @ts-expect-error SessionData, merged above from ESM, types the CommonJS side too
  await req.session.set({ userId: 'x' });
  const error = new MongoSessConfigError('mongosess: example');
  if (!(error instanceof MongoSessError) || !MongoSess.isConnected) throw error;
  return id;
}
`;

const mixedCjs = `import MongoSess = require('mongosess');
import express = require('mongosess/express');
import koa = require('mongosess/koa');
import fastify = require('mongosess/fastify');

export async function useSession(session: MongoSess.Session): Promise<number | null | undefined> {
  return session.get('userId');
}
export const middlewares = [express.session(), koa.session(), fastify.session];
`;

const strict = { strict: true, skipLibCheck: false, noEmit: true, target: 'es2022', lib: ['es2022'], types: ['node'] };

function project(name: string, type: 'module' | 'commonjs', compilerOptions: Record<string, unknown>, sources: Record<string, string>) {
  return {
    name,
    files: {
      'package.json': JSON.stringify({ name, private: true, type }),
      'tsconfig.json': JSON.stringify({ compilerOptions: { ...strict, ...compilerOptions }, include: Object.keys(sources) }),
      ...sources,
    },
  };
}

export const typeProjects = [
  project('nodenext-esm', 'module', { module: 'nodenext', moduleResolution: 'nodenext' }, { 'use.ts': usage }),
  project(
    'nodenext-cjs',
    'commonjs',
    { module: 'nodenext', moduleResolution: 'nodenext' },
    { 'use.ts': usage, 'require.ts': requireUsage },
  ),
  project('node10', 'commonjs', { module: 'commonjs', moduleResolution: 'node10' }, { 'use.ts': usage, 'require.ts': requireUsage }),
  project('bundler', 'module', { module: 'preserve', moduleResolution: 'bundler' }, { 'use.ts': usage }),
  project('nodenext-mixed', 'module', { module: 'nodenext', moduleResolution: 'nodenext' }, { 'esm.ts': mixedEsm, 'cjs.cts': mixedCjs }),
];
