// A test file's app for race tests: MongoSess connected through the serializing proxy where the
// server is not atomic per document (FerretDB 1.x), a second client straight to the server for
// the test's own reads, and the teardown that closes all of it and drops the database.
import { MongoClient } from 'mongodb';
import MongoSess, { type ConnectOptions } from '../../src/index.js';
import { updatesAreAtomic } from './atomic-probe.js';
import { MONGODB_URI, uniqueDbName } from './db.js';
import { sessionApp, type SessionApp } from './session-app.js';
import { serialProxy, type SerialProxy } from './serial-proxy.js';

export interface ProxiedApp {
  /** 'via the serializing proxy' or 'direct', for the suite's name. */
  readonly route: string;
  readonly proxy: SerialProxy | undefined;
  /** The client MongoSess uses (through the proxy, if any). */
  readonly appClient: MongoClient;
  /** A client straight to the server, for the test's own reads and writes. */
  readonly dbClient: MongoClient;
  readonly db: string;
  readonly app: SessionApp;
  /** Connects both clients and MongoSess, and starts the app. */
  start(): Promise<void>;
  /** Closes MongoSess and connects it again with `options` over the defaults. */
  connect(options?: Partial<ConnectOptions>): Promise<void>;
  stop(): Promise<void>;
}

/** Call at the top of a test file (it probes the server); `start()` in `before`, `stop()` in `after`. */
export async function proxiedApp(prefix: string): Promise<ProxiedApp> {
  const direct = await updatesAreAtomic(MONGODB_URI);
  const proxy = direct ? undefined : await serialProxy(MONGODB_URI);
  const appClient = new MongoClient(proxy?.uri ?? MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
  const dbClient = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
  const db = uniqueDbName(prefix);
  let app: SessionApp | undefined;
  const connect = async (options: Partial<ConnectOptions> = {}): Promise<void> => {
    await new Promise((resolve) => MongoSess.close(resolve));
    await MongoSess.connect({ client: appClient, db, autoRemove: 'disabled', warn: () => undefined, ...options });
  };
  return {
    route: proxy ? 'via the serializing proxy' : 'direct',
    proxy,
    appClient,
    dbClient,
    db,
    get app(): SessionApp {
      if (!app) throw new Error('not started: call start() in before()');
      return app;
    },
    async start() {
      await Promise.all([appClient.connect(), dbClient.connect()]);
      await connect();
      app = await sessionApp();
    },
    connect,
    async stop() {
      await app?.close();
      await new Promise((resolve) => MongoSess.close(resolve));
      await dbClient
        .db(db)
        .dropDatabase()
        .catch(() => undefined);
      await Promise.all([appClient.close(), dbClient.close(), proxy?.close()]);
    },
  };
}
