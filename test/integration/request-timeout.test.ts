// operationTimeout bounds a whole request: every database call of one request's session shares
// one budget, so a request that needs two calls cannot take twice operationTimeout. The relay
// holds each call before the server sees it, for 60% of the budget: each call alone would fit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { describeMessage } from '../../scripts/wire-messages.mjs';
import MongoSess from '../../src/index.js';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';
import { sessionApp, type SessionApp } from '../helpers/session-app.js';
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy.js';

const BUDGET = 1500;
const HELD = 0.6 * BUDGET;
const db = uniqueDbName('budget');
const direct = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });

describe('operationTimeout is one budget per request', () => {
  let relay: TcpProxy;
  let app: SessionApp;

  before(async () => {
    relay = await tcpProxy(MONGODB_URI);
    await direct.connect();
    await MongoSess.connect({ uri: relay.uri, db, operationTimeout: BUDGET, autoRemove: 'disabled', warn: () => undefined });
    app = await sessionApp();
  });

  after(async () => {
    await app.close();
    await new Promise((resolve) => MongoSess.close(resolve));
    await direct
      .db(db)
      .dropDatabase()
      .catch(() => undefined);
    await direct.close();
    await relay.cut();
  });

  /** Holds the next `command` message for HELD ms, then lets it through. */
  function slow(command: string): Promise<void> {
    const gate = relay.hold((message) => describeMessage(message).command === command);
    return gate.atGate.then(() => new Promise((resolve) => setTimeout(resolve, HELD))).then(gate.release);
  }

  it('one slow call fits; two slow calls in one request exceed the budget and fail with a MongoSessDatabaseError', async () => {
    const browser = new Browser();
    assert.equal((await app.run((s) => s.set({ a: 1 }), { browser })).status, 200);

    const slowRead = slow('find');
    const one = await app.run((s) => s.get('a'), { browser });
    await slowRead;
    assert.equal(one.status, 200, one.body);
    assert.equal(one.json(), 1, 'a call of 60% of the budget fits');

    const slowCalls = slow('find').then(() => slow('findAndModify'));
    const two = await app.run(
      async (s) => {
        await s.get('a');
        await s.set({ b: 2 });
      },
      { browser },
    );
    assert.equal(two.status, 500, two.body);
    assert.equal(two.json().error, 'MongoSessDatabaseError', two.body);
    await slowCalls.catch(() => undefined);
  });
});
