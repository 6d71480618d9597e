// Faults: the database dies or hangs mid-traffic, is down at connect(), or close() comes
// while requests are in flight. On a database server of this file's own, which it kills (SIGKILL),
// freezes (SIGSTOP) and brings back on the same port and data directory.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import MongoSess, { MongoSessDatabaseError, MongoSessError } from '../../src/index.js';
import { updatesAreAtomic } from '../helpers/atomic-probe.js';
import { uniqueDbName } from '../helpers/db.js';
import { Browser, send, serve, type TestServer } from '../helpers/http.js';
import { findServerBinary, OwnServer } from '../helpers/own-server.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The `operationTimeout` under test: small, so outages are short. */
const OPERATION_TIMEOUT = 1000;
/**
 * Every answer must come within this: the bound plus a generous margin for a loaded machine (a
 * request may wait for a socket and then for server selection). Far below the driver's 30 s.
 */
const ANSWER_WITHIN = OPERATION_TIMEOUT + 3000;
const DRIVER_DEFAULT = 30_000;
/**
 * How long the database stays away mid-traffic: longer than ANSWER_WITHIN, so a request that
 * waited for the database without a bound would break the bound, not just be slow and succeed.
 */
const OUTAGE = ANSWER_WITHIN + 1000;

const binary = findServerBinary();
const skip = 'missing' in binary ? binary.missing : false;

/** Failures that must never happen, anywhere in this process, during these tests. */
const strays: { kind: string; error: unknown }[] = [];
process.on('unhandledRejection', (error) => strays.push({ kind: 'unhandledRejection', error }));
process.on('uncaughtException', (error) => strays.push({ kind: 'uncaughtException', error }));

function assertNoStrays(): void {
  assert.deepEqual(
    strays.map((s) => `${s.kind}: ${s.error instanceof Error ? s.error.stack : String(s.error)}`),
    [],
    'no unhandled rejection and no uncaught exception',
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or undefined after `ms`; the timer is cleared either way, so it never holds the process. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function until(what: string, condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(10);
  }
}

/** Sockets of this process connected to `port` (the database), open or closing. */
function socketsTo(port: number): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => (h as { remotePort?: number }).remotePort === port).length;
}

/** Answers 503 with the error's name for a MongoSessError, 500 for anything else (a bug). */
function fail(res: ServerResponse, err: unknown): void {
  const typed = err instanceof MongoSessError;
  send(
    res,
    {
      name: (err as Error)?.name,
      typed,
      cause: (err as Error)?.cause instanceof Error ? ((err as Error).cause as Error).name : null,
      causeCode: ((err as Error)?.cause as { code?: unknown } | undefined)?.code ?? null,
      message: String((err as Error)?.message).slice(0, 300),
    },
    typed ? 503 : 500,
  );
}

/** An app whose routes write and read a session, with promises or with callbacks. */
function app(): Promise<TestServer> {
  return serve((req: IncomingMessage, res: ServerResponse) => {
    let session;
    try {
      session = new MongoSess(req, res);
    } catch (err) {
      return fail(res, err);
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const key = url.searchParams.get('k') ?? 'k';
    const value = Number(url.searchParams.get('v'));
    switch (url.pathname) {
      case '/write':
        return session.set({ [key]: value })!.then(
          (ok) => send(res, ok),
          (err: unknown) => fail(res, err),
        );
      case '/write-cb':
        return session.set({ [key]: value }, (err, ok) => (err ? fail(res, err) : send(res, ok)));
      case '/read':
        return session.get()!.then(
          (data) => send(res, data),
          (err: unknown) => fail(res, err),
        );
      case '/read-cb':
        return session.get((err, data) => (err ? fail(res, err) : send(res, data)));
      default:
        return send(res, null, 404);
    }
  });
}

interface Outcome {
  worker: number;
  path: string;
  started: number;
  ms: number;
  status: number;
  body: string;
}

/**
 * Sessions in use: each worker is one visitor sending one request at a time (FerretDB 1.x does
 * not apply concurrent updates of one document atomically), writing a new key each time and
 * reading now and then, alternating promise and callback routes.
 */
class Traffic {
  readonly outcomes: Outcome[] = [];
  /** Per worker, the writes the app acknowledged (200): every one must survive the outage. */
  readonly acknowledged: Map<string, number>[];
  readonly browsers: Browser[];
  #stopped = false;
  readonly #running: Promise<void>[];

  constructor(
    readonly url: string,
    workers: number,
  ) {
    this.browsers = Array.from({ length: workers }, () => new Browser());
    this.acknowledged = this.browsers.map(() => new Map());
    this.#running = this.browsers.map((_, w) => this.#loop(w));
  }

  async #loop(worker: number): Promise<void> {
    const browser = this.browsers[worker]!;
    for (let n = 0; !this.#stopped; n++) {
      const style = n % 2 === 0 ? '' : '-cb';
      const key = `w${n}`;
      const path = n % 3 === 2 ? `/read${style}` : `/write${style}?k=${key}&v=${n}`;
      const started = Date.now();
      let outcome: Outcome;
      try {
        const reply = await browser.get(`${this.url}${path}`);
        outcome = { worker, path, started, ms: Date.now() - started, status: reply.status, body: reply.body };
      } catch (err) {
        // No answer at all (connection reset, hang-up): status 0, which the assertions reject.
        outcome = { worker, path, started, ms: Date.now() - started, status: 0, body: String(err) };
      }
      this.outcomes.push(outcome);
      if (outcome.status === 200 && path.startsWith('/write')) this.acknowledged[worker]!.set(key, n);
    }
  }

  /** When the write of `key` by `worker` was acknowledged (its answer arrived). */
  acknowledgedAt(worker: number, key: string): number {
    const write = this.outcomes.find((o) => o.worker === worker && o.status === 200 && o.path.includes(`k=${key}&`));
    return write ? write.started + write.ms : Infinity;
  }

  /** Successful requests of `worker` that started at or after `since`. */
  successes(worker: number, since = 0): number {
    return this.outcomes.filter((o) => o.worker === worker && o.started >= since && o.status === 200).length;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#running);
  }
}

const NOT_ATOMIC = 'the server does not apply concurrent updates of one document atomically (FerretDB 1.x)';

describe('faults: the database goes away and comes back', { skip }, () => {
  let own: OwnServer;
  const warnings: string[] = [];
  const warn = (message: string) => void warnings.push(message);
  const sweepWarnings = () => warnings.filter((w) => w.includes('removing expired sessions failed'));

  let atomic = false;

  before(async () => {
    if ('missing' in binary) return;
    own = await OwnServer.create(binary);
    await own.start();
    atomic = await updatesAreAtomic(own.uri);
  });

  afterEach(async () => {
    // Whatever a test left behind: no connection, a running, responsive server.
    await new Promise((resolve) => MongoSess.close(resolve));
    if (!own) return;
    own.thaw();
    if (!own.running) await own.start();
  });

  after(async () => {
    await new Promise((resolve) => MongoSess.close(resolve));
    await own?.dispose();
    assertNoStrays();
  });

  describe('connect() while the database is down', () => {
    for (const fault of ['killed', 'frozen'] as const) {
      it(`${fault}: the error reaches the callback (and the promise) within operationTimeout; connect works once it is back`, async () => {
        const db = uniqueDbName('faults_connect');
        if (fault === 'killed') await own.kill();
        else own.freeze();

        const started = Date.now();
        const viaCallback = await new Promise<{ err: Error | null; ms: number; calls: number }>((resolve) => {
          let calls = 0;
          const returned = MongoSess.connect({ uri: own.uri, db, operationTimeout: OPERATION_TIMEOUT, warn }, (err) => {
            calls++;
            // Wait a little for a second call, which must not come.
            setTimeout(() => resolve({ err, ms: Date.now() - started, calls }), 200);
          });
          assert.equal(returned, undefined, 'with a callback, connect() returns nothing');
        });
        assert.ok(viaCallback.err instanceof MongoSessDatabaseError, `a MongoSessDatabaseError, got ${String(viaCallback.err)}`);
        assert.match(viaCallback.err.message, /^mongosess: connecting to MongoDB failed/);
        assert.ok(viaCallback.err.cause instanceof Error, 'the driver error is the cause');
        assert.equal(viaCallback.calls, 1, 'the callback is called once');
        assert.ok(viaCallback.ms < ANSWER_WITHIN, `called back after ${viaCallback.ms} ms: bounded, not the driver's ${DRIVER_DEFAULT} ms`);
        assert.equal(MongoSess.isConnected(), false);

        const promiseStarted = Date.now();
        await assert.rejects(MongoSess.connect({ uri: own.uri, db, operationTimeout: OPERATION_TIMEOUT, warn }), MongoSessDatabaseError);
        assert.ok(Date.now() - promiseStarted < ANSWER_WITHIN, 'the promise rejects within the bound too');

        // The failed attempts left no connection behind.
        await until('no socket to the database', () => socketsTo(own.port) === 0, 5000);

        // Back: the same process connects and serves sessions.
        if (fault === 'killed') await own.start();
        else own.thaw();
        await MongoSess.connect({ uri: own.uri, db, operationTimeout: OPERATION_TIMEOUT, warn });
        const server = await app();
        try {
          const browser = new Browser();
          assert.equal((await browser.get(`${server.url}/write?k=back&v=1`)).status, 200);
          assert.equal((await browser.get(`${server.url}/read`)).json().back, 1);
        } finally {
          await server.close();
        }
        assertNoStrays();
      });
    }
  });

  describe('the database stops mid-traffic', () => {
    const WORKERS = 6;

    for (const fault of ['killed (SIGKILL), then restarted', 'frozen (SIGSTOP), then resumed'] as const) {
      it(`${fault}: every request answered within the bound, typed errors via callbacks and promises, recovery, no data lost`, async (t) => {
        warnings.splice(0);
        await MongoSess.connect({
          uri: own.uri,
          db: uniqueDbName('faults_traffic'),
          operationTimeout: OPERATION_TIMEOUT,
          autoRemove: 'interval',
          autoRemoveInterval: 200, // the sweep runs during the outage too
          warn,
        });
        const server = await app();
        const traffic = new Traffic(server.url, WORKERS);
        let outageStarted = 0;
        let outageEnded = 0;
        try {
          // Warm: every visitor has a stored session.
          await until('every visitor has written', () => traffic.acknowledged.every((acks) => acks.size >= 3), 20_000);

          outageStarted = Date.now();
          if (fault.startsWith('killed')) await own.kill();
          else own.freeze();
          await sleep(OUTAGE);
          outageEnded = Date.now();
          if (fault.startsWith('killed')) await own.start();
          else own.thaw();

          // Without any restart of this process, every visitor succeeds again.
          const back = Date.now();
          await until(
            'every visitor succeeds again after the database is back',
            () => traffic.browsers.every((_, w) => traffic.successes(w, back) >= 2),
            30_000,
          );
        } finally {
          await traffic.stop();
        }

        try {
          const { outcomes } = traffic;
          const unanswered = outcomes.filter((o) => o.status === 0);
          assert.deepEqual(unanswered, [], 'every request got an answer');

          const slowest = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a));
          assert.ok(
            slowest.ms < ANSWER_WITHIN,
            `every answer within ${ANSWER_WITHIN} ms (operationTimeout ${OPERATION_TIMEOUT} + margin), not the driver's ` +
              `${DRIVER_DEFAULT} ms; slowest: ${JSON.stringify(slowest)}`,
          );

          const untyped = outcomes.filter((o) => o.status !== 200 && o.status !== 503);
          assert.deepEqual(untyped, [], 'only successes and typed failures (500 = an error that is not a MongoSessError)');

          const failures = outcomes.filter((o) => o.status === 503);
          assert.ok(failures.length > 0, 'the outage hit requests (else this test tested nothing)');
          for (const failure of failures) {
            const body = JSON.parse(failure.body);
            assert.equal(body.name, 'MongoSessDatabaseError', failure.body);
            // The driver's error, or (when operationTimeout ran out before the driver answered, its
            // retry included) the timeout itself. On Node.js 24 the driver sometimes rejects with
            // the socket's own error ("This socket has been ended by the other party", EPIPE),
            // not wrapped in a MongoNetworkError: still the driver's error, with its system code.
            const socketError = body.cause === 'Error' && /^(EPIPE|ECONNRESET|ECONNREFUSED)$/.test(String(body.causeCode));
            assert.ok(
              /^(Mongo\w+Error|TimeoutError)$/.test(String(body.cause)) || socketError,
              `the driver error or the timeout is the cause: ${failure.body}`,
            );
            assert.ok(failure.started + failure.ms >= outageStarted, `a failure before the outage: ${JSON.stringify(failure)}`);
          }
          const styles = new Set(failures.map((f) => (f.path.includes('-cb') ? 'callback' : 'promise')));
          assert.deepEqual([...styles].sort(), ['callback', 'promise'], 'errors arrived through callbacks and through promises');
          assert.ok(
            outcomes.some((o) => o.status === 200 && o.started >= outageEnded),
            'requests succeed after the outage',
          );

          // Every write acknowledged before, during or after the outage is there.
          // A frozen server still runs, after it resumes, the writes whose requests already failed;
          // where one document's concurrent updates are not atomic (FerretDB 1.x), such a stale
          // write can undo a newer one, so there only the writes from before the outage are certain.
          const allCertain = atomic || fault.startsWith('killed');
          if (!allCertain) t.diagnostic(`${NOT_ATOMIC}: checking the writes acknowledged before the outage only`);
          for (const [w, browser] of traffic.browsers.entries()) {
            const reply = await browser.get(`${server.url}/read`);
            assert.equal(reply.status, 200, reply.body);
            const data = reply.json();
            const expected = Object.fromEntries(
              [...traffic.acknowledged[w]!].filter(([key]) => allCertain || traffic.acknowledgedAt(w, key) < outageStarted),
            );
            assert.ok(Object.keys(expected).length >= 3);
            const found = Object.fromEntries(Object.keys(expected).map((k) => [k, data[k]]));
            assert.deepEqual(found, expected, `visitor ${w}: every acknowledged write survived`);
          }

          // The background sweep failed during the outage: reported once, not once per attempt.
          assert.equal(sweepWarnings().length, 1, `one sweep warning per outage, got: ${JSON.stringify(sweepWarnings())}`);
          assertNoStrays();
        } finally {
          await server.close();
        }
      });
    }
  });

  describe('close() while requests are in flight', () => {
    it('in this process: each request finishes or fails with a typed error; no socket to the database remains', async () => {
      await MongoSess.connect({
        uri: own.uri,
        db: uniqueDbName('faults_close'),
        operationTimeout: OPERATION_TIMEOUT,
        autoRemove: 'interval',
        warn,
      });
      let inside = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const server = await serve(async (req, res) => {
        let session;
        try {
          session = new MongoSess(req, res);
        } catch (err) {
          return fail(res, err);
        }
        try {
          inside++;
          if (req.url === '/gated') await gate;
          for (let i = 0; i < 10; i++) await session.set({ [`k${i}`]: i });
          send(res, await session.get());
        } catch (err) {
          fail(res, err);
        }
      });
      try {
        const replies = Array.from({ length: 30 }, (_, i) => new Browser().get(`${server.url}${i % 2 ? '/gated' : '/busy'}`));
        await until('every request is inside its handler', () => inside === 30, 10_000);

        const closed = new Promise<[Error | null, boolean | undefined]>((resolve) => {
          assert.equal(
            MongoSess.close((err, result) => resolve([err, result])),
            true,
          );
        });
        release();
        const answers = await Promise.all(replies);
        assert.deepEqual(await closed, [null, true], 'close() calls back (null, true)');
        assert.equal(MongoSess.isConnected(), false);

        const statuses = answers.map((a) => a.status);
        assert.deepEqual(
          answers.filter((a) => a.status !== 200 && a.status !== 503).map((a) => a.body),
          [],
          'each request finished (200) or failed with a MongoSessError (503)',
        );
        assert.ok(statuses.includes(503), 'close() interrupted some requests (else this test tested nothing)');
        await until('no socket to the database remains after close()', () => socketsTo(own.port) === 0, 5000);
        assertNoStrays();
      } finally {
        release();
        await server.close();
      }
    });

    for (const fault of ['none', 'killed', 'frozen'] as const) {
      const label = { none: 'database up', killed: 'database killed just before', frozen: 'database frozen just before' }[fault];
      it(`a child process (${label}): requests answered, close() calls back, and the process exits on its own (no open handles)`, async () => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(here, '..', 'helpers', 'close-in-flight-child.ts')], {
          cwd: join(here, '..', '..'),
          env: { ...process.env, MONGODB_URI: own.uri, MONGOSESS_CHILD_DB: uniqueDbName('faults_child') },
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
          child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
        );
        try {
          const lines = createInterface({ input: child.stdout });
          let resultLine = '';
          const done = new Promise<void>((resolve, reject) => {
            lines.on('line', (line) => {
              if (line === 'READY') {
                void (async () => {
                  if (fault === 'killed') await own.kill();
                  if (fault === 'frozen') own.freeze();
                  child.stdin.end('GO\n');
                })().catch(reject);
              } else if (line.startsWith('RESULT ')) {
                resultLine = line.slice('RESULT '.length);
                resolve();
              }
            });
            void exit.then(({ code, signal }) => reject(new Error(`child exited (code ${code}, signal ${signal}) before its RESULT`)));
          });
          if (
            (await within(
              done.then(() => true),
              60_000,
            )) === undefined
          )
            throw new Error('no RESULT from the child within 60 s');

          const result = JSON.parse(resultLine) as {
            replies: { path: string; status: number; body: string }[];
            closed: { err: string | null; result: unknown; ms: number };
            connected: boolean;
            unhandled: string[];
          };
          assert.deepEqual(
            result.replies.filter((r) => r.status !== 200 && r.status !== 503),
            [],
            'each request finished (200) or failed with a MongoSessError (503)',
          );
          for (const r of result.replies.filter((reply) => reply.status === 503)) {
            assert.equal(JSON.parse(r.body).typed, true, r.body);
          }
          assert.ok(
            result.replies.filter((r) => r.path === '/late').every((r) => JSON.parse(r.body).name === 'MongoSessNotConnectedError'),
            `requests after close() get MongoSessNotConnectedError: ${JSON.stringify(result.replies.filter((r) => r.path === '/late'))}`,
          );
          assert.deepEqual(
            { err: result.closed.err, result: result.closed.result },
            { err: null, result: true },
            'close() calls back (null, true)',
          );
          assert.ok(result.closed.ms < ANSWER_WITHIN, `close() called back after ${result.closed.ms} ms: bounded`);
          assert.equal(result.connected, false);
          assert.deepEqual(result.unhandled, [], 'no unhandled rejection in the child');

          const exited = await within(exit, 10_000);
          assert.ok(exited, 'the child exits on its own after close(): nothing keeps it alive (its stderr says what did)');
          assert.deepEqual({ code: exited.code, signal: exited.signal }, { code: 0, signal: null });
        } finally {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL');
            await exit;
          }
        }
      });
    }
  });
});
