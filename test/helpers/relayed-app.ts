// A test file's app whose database traffic goes through a TCP relay (test/helpers/tcp-proxy.ts),
// so that a test can hold a command or its reply, with a client straight to the server for the
// test's own reads, and the teardown that closes all of it and drops the database.
import { MongoClient } from 'mongodb';
import MongoSess from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from './db.js';
import { sessionApp, type SessionApp } from './session-app.js';
import { type TcpProxy, tcpProxy } from './tcp-proxy.js';

export interface RelayedApp {
  readonly db: string;
  /** A client straight to the server. */
  readonly direct: MongoClient;
  readonly relay: TcpProxy;
  readonly app: SessionApp;
  /** Starts the relay, connects `direct`, runs `connect(relay uri)` (MongoSess.connect), starts the app. */
  start(connect: (relayUri: string) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export function relayedApp(prefix: string): RelayedApp {
  const db = uniqueDbName(prefix);
  const direct = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
  let relay: TcpProxy | undefined;
  let app: SessionApp | undefined;
  return {
    db,
    direct,
    get relay(): TcpProxy {
      if (!relay) throw new Error('not started: call start() in before()');
      return relay;
    },
    get app(): SessionApp {
      if (!app) throw new Error('not started: call start() in before()');
      return app;
    },
    async start(connect) {
      relay = await tcpProxy(MONGODB_URI);
      await direct.connect();
      await connect(relay.uri);
      app = await sessionApp();
    },
    async stop() {
      await app?.close();
      await new Promise((resolve) => MongoSess.close(resolve));
      await direct
        .db(db)
        .dropDatabase()
        .catch(() => undefined);
      await direct.close();
      await relay?.cut();
    },
  };
}
