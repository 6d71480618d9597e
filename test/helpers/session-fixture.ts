// A test file's connected app: MongoSess connected to a database of the file's own, a session
// app in front of it, and the teardown that closes both and drops the database.
import type { CommandStartedEvent, Collection, Document, MongoClient, MongoClientOptions } from 'mongodb';
import MongoSess, { type ConnectOptions } from '../../src/index.js';
import { MONGODB_URI, monitoredClient, uniqueDbName } from './db.js';
import { sessionApp, type SessionApp, type SessionAppDefaults } from './session-app.js';

const HOUR = 3_600_000;

export interface SessionFixture {
  /** The test's own client (commands recorded), which MongoSess is connected with. */
  readonly client: MongoClient;
  /** Commands sent through `client` since the last `reset()` (housekeeping left out). */
  readonly commands: CommandStartedEvent[];
  reset(): void;
  readonly db: string;
  /** The sessions collection, read directly by the tests. */
  readonly collection: Collection<Document>;
  /** The session app (after `start()`). */
  readonly app: SessionApp;
  /** Connects the client and MongoSess, and starts the app. */
  start(): Promise<void>;
  /** Closes MongoSess and connects it again with the fixture's options and `options`. */
  reconnect(options?: Partial<ConnectOptions>): Promise<void>;
  /** Closes the app and MongoSess, drops the database (even if a test closed the client), closes the client. */
  stop(): Promise<void>;
}

export interface FixtureOptions {
  /** The server the fixture's client talks to (a serializing proxy's, say). @default MONGODB_URI */
  uri?: string;
  /** Connect options over the defaults (own client and db, an hourly sweep, warnings dropped). */
  connect?: Partial<ConnectOptions>;
  /** The session app's defaults. */
  app?: SessionAppDefaults;
  /** Options of the fixture's own client (a read preference, a write concern, logging). */
  clientOptions?: MongoClientOptions;
}

/** Call at the top of a test file; `start()` in `before`, `stop()` in `after`. */
export function sessionFixture(prefix: string, options: FixtureOptions = {}): SessionFixture {
  const { client, commands, reset } = monitoredClient(options.uri ?? MONGODB_URI, options.clientOptions);
  const db = uniqueDbName(prefix);
  const base: ConnectOptions = {
    client,
    db,
    autoRemove: 'interval',
    autoRemoveInterval: HOUR,
    warn: () => undefined,
    ...options.connect,
  };
  let app: SessionApp | undefined;
  return {
    client,
    commands,
    reset,
    db,
    collection: client.db(db).collection('sessions'),
    get app(): SessionApp {
      if (!app) throw new Error('the fixture is not started: call start() in before()');
      return app;
    },
    async start() {
      await client.connect();
      await MongoSess.connect(base);
      app = await sessionApp(options.app);
    },
    async reconnect(more = {}) {
      await new Promise((resolve) => MongoSess.close(resolve));
      await MongoSess.connect({ ...base, ...more });
    },
    async stop() {
      await app?.close();
      await new Promise((resolve) => MongoSess.close(resolve));
      // connect() again first: a test may have closed the client (a closed client refuses work).
      await client
        .connect()
        .then(() => client.db(db).dropDatabase())
        .catch(() => undefined);
      await client.close();
    },
  };
}
