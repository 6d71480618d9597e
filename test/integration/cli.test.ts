// `npx mongosess`, end to end: the built bin (dist/cli.js, as package.json's "bin" names it) is
// spawned against the test server, over sessions stored by a real app. Exit codes, --json, and
// errors that name the problem without a stack.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import MongoSess, { MongoSessStore } from '../../src/index.js';
import { updatesAreAtomic } from '../helpers/atomic-probe.js';
import { MONGODB_URI } from '../helpers/db.js';
import { Browser, serve } from '../helpers/http.js';
import { serialProxy, type SerialProxy } from '../helpers/serial-proxy.js';
import { sessionFixture } from '../helpers/session-fixture.js';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; version: string };
const bin = join(root, pkg.bin['mongosess'] ?? 'missing');

const fixture = sessionFixture('cli');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: () => any;
}

/** Runs the CLI with `args`, MONGODB_URI pointing at the test server unless `env` says otherwise. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, MONGODB_URI, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) }));
  });
}

/** An error as the CLI prints it: one line starting with mongosess:, no stack. */
function assertCleanError(run: Run, code: number, message: RegExp): void {
  assert.equal(run.code, code, run.stderr);
  assert.match(run.stderr, message);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.match(run.stderr.trim().split('\n').at(-1) ?? '', /^mongosess: /);
}

describe('the mongosess command line', () => {
  before(async () => {
    await fixture.start();
    for (const [user, n] of [
      ['ann', 2],
      ['bob', 1],
    ] as const) {
      for (let i = 0; i < n; i++) await fixture.app.run((s) => s.set({ userId: user, device: i }), { browser: new Browser() });
    }
  });
  after(() => fixture.stop());

  const db = ['--db', fixture.db];

  it('is the package bin, with --help and --version', async () => {
    assert.equal(pkg.bin['mongosess'], './dist/cli.js');
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: mongosess <command>/);
    for (const word of ['count', 'list', 'end', 'doctor', '--json', 'MONGODB_URI', 'Exit codes'])
      assert.ok(help.stdout.includes(word), word);
    const version = await cli(['--version']);
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it('count and list take a JSON filter; --json is machine-readable', async () => {
    const count = await cli(['count', '{"userId": "ann"}', ...db, '--json']);
    assert.equal(count.code, 0, count.stderr);
    assert.deepEqual(count.json(), { count: 2 });
    const plain = await cli(['count', ...db]);
    assert.equal(plain.stdout, '3\n');

    const list = await cli(['list', '{"userId": {"$in": ["ann", "bob"]}}', ...db, '--json', '--limit', '2']);
    assert.equal(list.code, 0, list.stderr);
    const { sessions } = list.json() as { sessions: Array<Record<string, any>> };
    assert.equal(sessions.length, 2);
    for (const s of sessions) {
      assert.match(s['handle'], /^msh1\./);
      assert.ok(!Number.isNaN(Date.parse(s['createdAt'])));
      assert.ok(['ann', 'bob'].includes(s['data'].userId));
    }
    const table = await cli(['list', ...db]);
    assert.equal(table.stdout.split('\n')[0], 'handle  created  last seen  expires  data');
    assert.equal(table.stdout.trim().split('\n').length, 4);
  });

  it('end ends by filter or by handle, and refuses the empty filter without --all', async () => {
    const { sessions } = (await cli(['list', '{"userId": "ann"}', ...db, '--json'])).json() as { sessions: Array<{ handle: string }> };
    const handle = sessions[0]?.handle ?? '';
    const byHandle = await cli(['end', '--handle', handle, '{"userId": "ann"}', ...db, '--json']);
    assert.equal(byHandle.code, 0, byHandle.stderr);
    assert.deepEqual(byHandle.json(), { ended: 1 });
    assert.equal(await MongoSess.countSessions({ userId: 'ann' }), 1);

    const all = await cli(['end', '{}', ...db]);
    assertCleanError(all, 2, /add --all/);
    assert.equal(await MongoSess.countSessions({}), 2, 'nothing ended');

    const byFilter = await cli(['end', '{"userId": "ann"}', ...db]);
    assert.equal(byFilter.stdout, 'ended 1 session\n');
    assert.equal(await MongoSess.countSessions({ userId: 'ann' }), 0);
    assert.equal(await MongoSess.countSessions({ userId: 'bob' }), 1);
  });

  it("reaches an encrypting app's sessions with MONGOSESS_ENCRYPTION_KEYS and --encrypted-fields", async () => {
    const key = randomBytes(32).toString('base64');
    const store = new MongoSessStore({
      uri: MONGODB_URI,
      db: fixture.db,
      collection: 'sealed',
      encryption: { keys: [key], fields: ['email'] },
    });
    await store.connect();
    const server = await serve((req, res) => {
      void store
        .session(req, res)
        .set({ userId: 'cy', email: 'cy@example.com' })
        .then(() => res.end('ok'));
    });
    try {
      await new Browser().get(server.url);
      const sealed = [...db, '--collection', 'sealed'];
      const withKeys = { MONGOSESS_ENCRYPTION_KEYS: key };
      const listed = await cli(['list', '{"userId": "cy"}', ...sealed, '--encrypted-fields', 'email', '--json'], withKeys);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(listed.json().sessions[0].data.email, 'cy@example.com', 'decrypted with the keys');
      const refused = await cli(['count', '{"email": "cy@example.com"}', ...sealed, '--encrypted-fields', 'email'], withKeys);
      assertCleanError(refused, 2, /cannot filter on "email"/);
      const noKeys = await cli(['list', ...sealed]);
      assertCleanError(noKeys, 2, /set MONGOSESS_ENCRYPTION_KEYS/);
      assert.doesNotMatch(noKeys.stderr + listed.stderr, new RegExp(key.replace(/[+/=]/g, '.')), 'the key is never printed');
      // Under a key that did not seal it: listed all the same, the value that does not decrypt named.
      const otherKey = { MONGOSESS_ENCRYPTION_KEYS: randomBytes(32).toString('base64') };
      const unreadable = await cli(['list', '{"userId": "cy"}', ...sealed, '--encrypted-fields', 'email'], otherKey);
      assert.equal(unreadable.code, 0, unreadable.stderr);
      assert.match(unreadable.stdout, /\{"userId":"cy"\} \(does not decrypt: email\)/);
      const unreadableJson = await cli(['list', '{"userId": "cy"}', ...sealed, '--encrypted-fields', 'email', '--json'], otherKey);
      assert.deepEqual(unreadableJson.json().sessions[0].undecryptable, ['email']);
      const ended = await cli(['end', '{"userId": "cy"}', ...sealed, '--encrypted-fields', 'email', '--json'], withKeys);
      assert.deepEqual(ended.json(), { ended: 1 });
    } finally {
      await server.close();
      await store.close();
    }
  });

  it('bad usage exits 2, an unreachable server 3, each with a message and no stack', async () => {
    assertCleanError(await cli([]), 2, /no command given/);
    assertCleanError(await cli(['purge']), 2, /unknown command "purge"/);
    assertCleanError(await cli(['count', '{"userId": 1', ...db]), 2, /the filter is not JSON/);
    assertCleanError(await cli(['count', '[1]', ...db]), 2, /must be a JSON object/);
    assertCleanError(await cli(['count', '{"userId": {"$where": "1"}}', ...db]), 2, /may not use \$where/);
    assertCleanError(await cli(['count', '--frobnicate']), 2, /Unknown option '--frobnicate'/);
    assertCleanError(await cli(['count'], { MONGODB_URI: undefined }), 2, /pass --uri/);
    assertCleanError(await cli(['count', '--uri', 'http://x']), 2, /uri must start with mongodb/);
    assertCleanError(await cli(['end', '--handle', 'nope', ...db]), 2, /endSession\(\) takes a handle/);
    assertCleanError(await cli(['count', '--uri', 'mongodb://127.0.0.1:1/']), 3, /connecting to MongoDB failed/);
  });

  describe('doctor', () => {
    let proxy: SerialProxy | undefined;
    let atomic = true;
    before(async () => {
      atomic = await updatesAreAtomic(MONGODB_URI);
      if (!atomic) proxy = await serialProxy(MONGODB_URI);
    });
    after(() => proxy?.close());

    it('checks each capability with a verdict (and a fix for what is not ok); fails on non-atomic updates', async () => {
      const run = await cli(['doctor', ...db, '--json']);
      const { checks, ok } = run.json() as { checks: Array<{ check: string; verdict: string; detail: string; fix?: string }>; ok: boolean };
      assert.deepEqual(
        checks.map((c) => c.check),
        ['server', 'ttl indexes', '$bsonSize', 'atomic updates', 'write concern', 'indexes'],
      );
      for (const c of checks) {
        assert.ok(['ok', 'warn', 'fail'].includes(c.verdict));
        if (c.verdict !== 'ok') assert.ok(c.fix, `${c.check} has a fix`);
      }
      const verdict = checks.find((c) => c.check === 'atomic updates')?.verdict;
      assert.equal(verdict, atomic ? 'ok' : 'fail', "the probe agrees with the test suite's own");
      assert.equal(ok, atomic);
      assert.equal(run.code, checks.some((c) => c.verdict === 'fail') ? 1 : 0);
      assert.match(checks[0]?.detail ?? '', /FerretDB|MongoDB/);
      assert.match(checks.find((c) => c.check === 'indexes')?.detail ?? '', /mongosess_handle/);
    });

    it('through the serializing proxy the same server passes the atomicity probe (the control)', async (t) => {
      if (!proxy) return t.skip('the server is atomic per document: no proxy needed');
      const run = await cli(['doctor', ...db], { MONGODB_URI: proxy.uri });
      assert.match(run.stdout, /^ok {4}atomic updates: 50 concurrent updates of one document all applied$/m);
      assert.doesNotMatch(run.stdout, /^FAIL/m);
      assert.equal(run.code, 0, run.stdout);
    });
  });
});
