// Security: no session id, signature or key in any warning or error mongosess produces.
// The tests collect every cookie value they see (ids, signatures, 0.4 ids) and the keys, capture
// warnings from the `warn` option and from process 'warning' events, provoke every kind of error
// (misuse, validation, configuration, ended sessions, a closed client, a database outage) and
// search all of it: messages, stacks, causes, and util.inspect of the whole error.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Keygrip from 'keygrip';
import { ObjectId } from 'mongodb';
import MongoSess, { type ConnectOptions, type Session, type SessionOptions } from '../../src/index.js';
import { MONGODB_URI } from '../helpers/db.js';
import { Browser, type Reply } from '../helpers/http.js';
import { cookiesOf } from '../helpers/session-app.js';
import { sessionFixture } from '../helpers/session-fixture.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const NEWEST = `newest-${randomBytes(18).toString('base64url')}`;
const OLDER = `older-${randomBytes(18).toString('base64url')}`;
const options: SessionOptions = { keys: [NEWEST, OLDER] };

/** Everything that must never be written out. */
const secrets = new Set<string>([NEWEST, OLDER]);
/** Messages given to the `warn` connect option. */
const warned: string[] = [];
/** process 'warning' events (mongosess's default `warn`). */
const processWarnings: Error[] = [];
/** Errors the tests provoked, as thrown or rejected. */
const provoked: unknown[] = [];
const onWarning = (warning: Error): void => void processWarnings.push(warning);

const fixture = sessionFixture('sec_secret', { connect: { warn: (m) => void warned.push(m) }, app: { options } });
const { client, db, collection } = fixture;

function remember(reply: Reply): Reply {
  for (const cookie of cookiesOf(reply).values()) if (cookie.value) secrets.add(cookie.value);
  return reply;
}

/** Runs `promise`, keeps its error, and answers the error's name (or 'resolved'). */
async function capture(promise: Promise<unknown> | undefined): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    provoked.push(err);
    return (err as Error).name;
  }
}

/** Every way an error tends to get logged: message, String(), stack, causes, util.inspect. */
function textsOf(value: unknown): string[] {
  const texts: string[] = [];
  let current: unknown = value;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (current instanceof Error) texts.push(current.message, String(current), current.stack ?? '');
    else texts.push(String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  texts.push(inspect(value, { depth: Infinity }));
  return texts;
}

/**
 * Fails if any text holds a secret, or (for secrets longer than 24 characters) 12 characters in a
 * row of one: a truncated secret. 0.4 ids (24 hex) are searched whole, as ObjectIds made by one
 * process share their first 18 characters.
 */
function assertNoSecret(texts: string[], where: string): void {
  for (const secret of secrets) {
    const windows = new Set<string>();
    const width = secret.length > 24 ? 12 : secret.length;
    for (let i = 0; i + width <= secret.length; i++) windows.add(secret.slice(i, i + width));
    for (const text of texts) {
      for (const window of windows) {
        if (text.includes(window)) assert.fail(`${where} contains (part of) the secret ${secret}:\n${text}`);
      }
    }
  }
}

/** Errors an earlier test already searched: the last test sweeps only the rest. */
const judged = new WeakSet<object>();

function assertErrorsClean(errors: unknown[], where: string): void {
  for (const err of errors) {
    if (typeof err === 'object' && err !== null) judged.add(err);
    assertNoSecret(textsOf(err), `${where}: ${(err as Error).name}`);
  }
}

/** get, set, regenerate and end, one request each, for a browser whose database is gone: their outcomes. */
async function everySessionCall(browser: Browser): Promise<unknown[]> {
  const outcomes: unknown[] = [];
  for (const step of [
    (s: Session) => capture(s.get()),
    (s: Session) => capture(s.set({ n: 1 })),
    (s: Session) => capture(s.regenerate()),
    (s: Session) => capture(s.end()),
  ]) {
    outcomes.push(remember(await fixture.app.run(step, { browser })).json());
  }
  return outcomes;
}

async function reconnect(connect: ConnectOptions): Promise<void> {
  await new Promise((resolve) => MongoSess.close(resolve));
  await MongoSess.connect(connect);
}

describe('security: no secrets in logs or errors', () => {
  before(async () => {
    process.on('warning', onWarning);
    await fixture.start();
  });

  after(async () => {
    process.off('warning', onWarning);
    await fixture.stop();
  });

  it('normal use, key rotation, SHA-1 cookies, tampered signatures and a 0.4 upgrade make no warning with an id, signature or key', async () => {
    const browser = new Browser();
    remember(await fixture.app.run((s) => s.set({ user: 'ann' }), { browser, options: { keys: [OLDER] } }));
    const sid = (await browser.cookie(fixture.app.url, 'sess')) ?? '';
    const resigned = remember(await fixture.app.run((s) => s.get('user'), { browser })); // signed with the older key: re-signed
    assert.equal(resigned.json(), 'ann');
    assert.ok(cookiesOf(resigned).has('sess.sig'));
    const sha1 = new Keygrip([OLDER]).sign(`sess=${sid}`);
    secrets.add(sha1);
    remember(await fixture.app.run((s) => s.get(), { headers: { cookie: `sess=${sid}; sess.sig=${sha1}` } }));
    const forged = `${sha1.slice(0, -2)}xx`;
    secrets.add(forged);
    remember(await fixture.app.run((s) => s.get(), { headers: { cookie: `sess=${sid}; sess.sig=${forged}` } }));
    remember(await fixture.app.run((s) => s.regenerate(), { browser }));

    const legacy = new ObjectId();
    secrets.add(legacy.toHexString());
    await collection.insertOne({ _id: legacy, createdAt: new Date(), user: 'old' });
    const legacySig = new Keygrip([NEWEST]).sign(`sess=${legacy.toHexString()}`);
    secrets.add(legacySig);
    const upgraded = remember(
      await fixture.app.run((s) => s.get('user'), { headers: { cookie: `sess=${legacy.toHexString()}; sess.sig=${legacySig}` } }),
    );
    assert.equal(upgraded.json(), 'old');

    assert.ok(secrets.size >= 10, `secrets collected: ${secrets.size}`);
    assertNoSecret(warned, 'a warning (warn option)');
    assertErrorsClean(processWarnings, 'a process warning');
    assertErrorsClean(fixture.app.errors, 'an error');
  });

  it('misuse and validation errors: writes after end(), a write to a session ended elsewhere, regenerate() after the headers, bad values', async () => {
    const firstError = provoked.length;
    const firstRequestError = fixture.app.errors.length;
    const browser = new Browser();
    remember(await fixture.app.run((s) => s.set({ user: 'bob' }), { browser }));
    const sid = (await browser.cookie(fixture.app.url, 'sess')) ?? '';
    const sig = (await browser.cookie(fixture.app.url, 'sess.sig')) ?? '';

    const sameObject = await fixture.app.run(
      async (s) => {
        await s.end();
        return [await capture(s.set({ after: 'end' })), await capture(s.del('user')), await capture(s.regenerate())];
      },
      { headers: { cookie: `sess=${sid}; sess.sig=${sig}` } },
    );
    assert.deepEqual(sameObject.json(), ['MongoSessEndedError', 'MongoSessEndedError', 'MongoSessEndedError']);

    // Ended elsewhere while this request runs: its late write is refused.
    const other = new Browser();
    remember(await fixture.app.run((s) => s.set({ user: 'cy' }), { browser: other }));
    const late = remember(
      await fixture.app.run(
        async (s) => {
          await s.get();
          await MongoSess.endAll({ user: 'cy' });
          return capture(s.set({ user: 'late' }));
        },
        { browser: other },
      ),
    );
    assert.equal(late.json(), 'MongoSessEndedError');

    const afterHeaders = new Browser();
    remember(await fixture.app.run((s) => s.set({ user: 'dee' }), { browser: afterHeaders }));
    const lateRegenerate = await fixture.app.run(
      async (s: Session, _req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const name = await capture(s.regenerate());
        res.end(JSON.stringify(name));
      },
      { browser: afterHeaders },
    );
    assert.equal(lateRegenerate.json(), 'MongoSessError');

    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const validation = remember(
      await fixture.app.run(
        async (s) => [
          await capture(s.set({ token: s.sid, bad: () => s.sid })),
          await capture(s.set({ token: s.sid, big: 'x'.repeat(2 * 1024 * 1024) })),
          await capture(s.set({ token: s.sid, cyclic })),
          await capture(s.set({ $where: s.sid })),
          await capture(s.del('$where')),
          await capture(s.get(42 as never)),
        ],
        { browser },
      ),
    );
    assert.deepEqual(validation.json(), Array(6).fill('MongoSessValidationError'));

    assert.ok(provoked.length - firstError >= 10, `errors provoked: ${provoked.length - firstError}`);
    assertErrorsClean(provoked.slice(firstError), 'a provoked error');
    assertErrorsClean(fixture.app.errors.slice(firstRequestError), 'an error');
  });

  it('configuration errors never echo a key, even one passed in the wrong shape (keys: "secret" instead of ["secret"])', async () => {
    const bad: unknown[] = [
      NEWEST,
      [NEWEST, ''],
      [NEWEST, 42],
      [NEWEST, null],
      { [NEWEST]: true },
      { 0: NEWEST },
      [[NEWEST]],
      Buffer.from(NEWEST),
    ];
    const errorsBefore = fixture.app.errors.length;
    for (const keys of bad) {
      const reply = await fixture.app.run(() => 'constructed', { options: { keys: keys as never } });
      assert.equal(reply.status, 500, `keys: ${inspect(keys)} was accepted`);
      assert.equal(reply.json().error, 'MongoSessConfigError');
    }
    const configErrors = fixture.app.errors.slice(errorsBefore);
    assert.equal(configErrors.length, bad.length);
    for (const [i, err] of configErrors.entries()) {
      judged.add(err as object);
      assertNoSecret(textsOf(err), `the config error for keys: ${inspect(bad[i])}`);
    }
  });

  it('database errors of a database outage (the connection cut under the client), and the sweep warning, hold no secret', async (t) => {
    let proxy: TcpProxy;
    try {
      proxy = await tcpProxy(MONGODB_URI);
    } catch (err) {
      t.skip(`MONGODB_URI is not a single host this test can relay to (${(err as Error).message})`);
      return;
    }
    await reconnect({
      uri: proxy.uri,
      db,
      operationTimeout: 500,
      autoRemove: 'interval',
      autoRemoveInterval: 100,
      warn: (m) => void warned.push(m),
    });
    const firstError = provoked.length;
    const firstRequestError = fixture.app.errors.length;
    const browser = new Browser();
    remember(await fixture.app.run((s) => s.set({ user: 'eve' }), { browser }));
    const before = warned.length;
    await proxy.cut();

    const outcomes = await everySessionCall(browser);
    const legacy = new ObjectId().toHexString();
    secrets.add(legacy);
    const legacySig = new Keygrip([NEWEST]).sign(`sess=${legacy}`);
    secrets.add(legacySig);
    outcomes.push(
      remember(await fixture.app.run((s) => capture(s.get()), { headers: { cookie: `sess=${legacy}; sess.sig=${legacySig}` } })).json(),
    );
    outcomes.push(await capture(MongoSess.endAll({ user: 'eve' })));
    assert.deepEqual(outcomes, Array(6).fill('MongoSessDatabaseError'));

    const deadline = Date.now() + 5000;
    while (!warned.slice(before).some((m) => /removing expired sessions failed/.test(m)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(
      warned.slice(before).some((m) => /removing expired sessions failed/.test(m)),
      'the failing sweep warned',
    );
    await new Promise((resolve) => MongoSess.close(resolve));

    assertErrorsClean(provoked.slice(firstError), 'a database error');
    assertErrorsClean(fixture.app.errors.slice(firstRequestError), 'an error');
    assertNoSecret(warned, 'a warning (warn option)');
  });

  it('database errors of a closed client, and the sweep warning through process warnings, hold no secret', async () => {
    await client.connect();
    await reconnect({ client, db, autoRemove: 'interval', autoRemoveInterval: 100 });
    const firstError = provoked.length;
    const firstRequestError = fixture.app.errors.length;
    const browser = new Browser();
    remember(await fixture.app.run((s) => s.set({ user: 'fay' }), { browser }));
    const before = processWarnings.length;
    await client.close();

    const outcomes = await everySessionCall(browser);
    outcomes.push(await capture(MongoSess.countSessions({ user: 'fay' })));
    assert.deepEqual(outcomes, Array(5).fill('MongoSessDatabaseError'));

    const deadline = Date.now() + 5000;
    while (!processWarnings.slice(before).some((w) => /removing expired sessions failed/.test(w.message)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(
      processWarnings.slice(before).some((w) => w.name === 'MongoSessWarning' && /removing expired sessions failed/.test(w.message)),
      'the failing sweep warned through process.emitWarning',
    );
    await new Promise((resolve) => MongoSess.close(resolve));

    assertErrorsClean(provoked.slice(firstError), 'a database error');
    assertErrorsClean(fixture.app.errors.slice(firstRequestError), 'an error');
    assertErrorsClean(processWarnings, 'a process warning');
  });

  it('in all: every warning, and every error no test above searched, holds no id, signature or key', () => {
    assert.ok(warned.length >= 1, 'warnings were captured through the warn option');
    assert.ok(
      processWarnings.some((w) => w.name === 'MongoSessWarning'),
      'and through process warnings',
    );
    assert.ok(
      provoked.length >= 20 && fixture.app.errors.length >= 8,
      `errors: ${provoked.length} provoked, ${fixture.app.errors.length} in requests`,
    );
    assertNoSecret(warned, 'a warning (warn option)');
    const unjudged = (errors: unknown[]) => errors.filter((err) => !(typeof err === 'object' && err !== null && judged.has(err)));
    assertErrorsClean(processWarnings, 'a process warning');
    assertErrorsClean(unjudged(provoked), 'a provoked error');
    assertErrorsClean(unjudged(fixture.app.errors), 'an error');
  });
});
