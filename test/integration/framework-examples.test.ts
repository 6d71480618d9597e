// examples/express.js, koa.js, fastify.js, hono.js, next-route.js, websocket.js and stores.js run as written (through the built
// package's subpath exports, mongosess/express and so on) and are in the README word for word.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MONGODB_URI } from '../helpers/db.js';
import { nameScenario, root, startExample, stopExample, type RunningExample } from '../helpers/example-process.js';
import { Browser, parseSetCookie } from '../helpers/http.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { WebSocket } from 'ws';

/** Asserts that examples/<file> is in README.md word for word. */
function isInReadme(file: string): void {
  const example = readFileSync(join(root, 'examples', file), 'utf8');
  assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes(example.trim()), `README.md must contain examples/${file} verbatim`);
}

for (const file of ['express.js', 'koa.js', 'fastify.js', 'hono.js', 'next-route.js']) {
  describe(`examples/${file}`, () => {
    let running: RunningExample;
    before(async () => {
      running = await startExample(file);
    });
    after(() => stopExample(running.child));

    it('is in the README word for word', () => isInReadme(file));

    it('sets a name, reads it back, deletes it, ends the session', () => nameScenario(running.url));

    it('stops cleanly on SIGTERM', async () => {
      assert.equal(await stopExample(running.child), 0);
    });
  });
}

describe('examples/express.js on Express 4', () => {
  let running: RunningExample;
  let proxy: TcpProxy;
  before(async () => {
    // The database behind a relay the test can take away.
    proxy = await tcpProxy(MONGODB_URI);
    running = await startExample('express.js', {
      nodeArgs: ['--import', join(root, 'test', 'helpers', 'express4-alias.mjs')],
      uri: `${proxy.uri}?directConnection=true`,
    });
  });
  after(async () => {
    await stopExample(running.child);
    await proxy.cut();
  });

  it('runs the name scenario', () => nameScenario(running.url));

  it('a failed write is an error response with its status (503: the database is down), not an unhandled rejection that ends the process', async () => {
    proxy.down();
    try {
      const browser = new Browser();
      for (let i = 0; i < 2; i++) {
        const reply = await browser.get(`${running.url}/set?name=Ann`);
        assert.equal(reply.status, 503, reply.body);
      }
      assert.equal(running.child.exitCode, null, 'the example is still running');
    } finally {
      proxy.up();
    }
    assert.match((await new Browser().get(`${running.url}/set?name=Bob`)).body, /Hello Bob/, 'and serves again once the database is back');
  });
});

describe('examples/stores.js', () => {
  let running: RunningExample;
  before(async () => {
    running = await startExample('stores.js');
  });
  after(() => stopExample(running.child));

  it('is in the README word for word', () => isInReadme('stores.js'));

  it('gives one request a public and an admin session, each with its own cookie and lifetime', async () => {
    const browser = new Browser();
    const login = await browser.get(`${running.url}/login?name=Ann`);
    const adminLogin = await browser.get(`${running.url}/admin/login`);
    const lifetime = (setCookie: string[], name: string) => {
      const cookie = setCookie.map(parseSetCookie).find((c) => c.name === name);
      return Date.parse(String(cookie?.attrs['expires'])) - Date.now();
    };
    assert.ok(Math.abs(lifetime(login.setCookie, 'sess') - 14 * 24 * 3_600_000) < 60_000, 'the public cookie: 14 days');
    assert.ok(Math.abs(lifetime(adminLogin.setCookie, 'admin') - 15 * 60_000) < 60_000, 'the admin cookie: 15 minutes');
    assert.deepEqual((await browser.get(`${running.url}/admin/`)).json(), { role: 'admin', name: 'Ann' });
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await stopExample(running.child), 0);
  });
});

/** The devices page's list: each device's user agent, whether it is this one, and its sign-out handle. */
function devicesOn(page: string): { agent: string; current: boolean; handle: string | undefined }[] {
  return [...page.matchAll(/<li>([^,<]+),(.*?)<\/li>/g)]
    .map(([, agent, rest]) => ({
      agent: agent ?? '',
      current: rest?.includes('(this device)') ?? false,
      handle: /name="handle" value="([^"]+)"/.exec(rest ?? '')?.[1],
    }))
    .sort((a, b) => a.agent.localeCompare(b.agent));
}

describe('examples/devices.js', () => {
  let running: RunningExample;
  before(async () => {
    running = await startExample('devices.js');
  });
  after(() => stopExample(running.child));

  it('is in the README word for word', () => isInReadme('devices.js'));

  it('logs in with a new id, lists the devices, ends one, ends all but this one, logs out', async () => {
    const { url } = running;
    // A user name of this run's own: the example's database outlives the test.
    const user = `ann-${Date.now()}`;
    const [laptop, phone, tablet] = [new Browser(), new Browser(), new Browser()];
    assert.match((await laptop.get(`${url}/`)).body, /Not signed in/);
    const before = await laptop.cookie(url, 'sess');
    for (const [device, agent] of [
      [laptop, 'Laptop/1.0'],
      [phone, 'Phone/1.0'],
      [tablet, 'Tablet/1.0'],
    ] as const) {
      const login = await device.post(`${url}/login`, { name: user }, { 'user-agent': agent });
      assert.equal(login.status, 303, login.body);
      assert.equal(login.location, '/devices');
    }
    assert.notEqual(await laptop.cookie(url, 'sess'), before, 'login gave the laptop a new id');
    assert.match((await laptop.get(`${url}/`)).body, new RegExp(`Signed in as ${user}\\.`));

    const listed = devicesOn((await laptop.get(`${url}/devices`)).body);
    assert.deepEqual(
      listed.map(({ agent, current, handle }) => [agent, current, handle !== undefined]),
      [
        ['Laptop/1.0', true, false],
        ['Phone/1.0', false, true],
        ['Tablet/1.0', false, true],
      ],
      'each device, this one marked and with no sign-out button',
    );
    const handleOf = (agent: string) => listed.find((d) => d.agent === agent)?.handle ?? '';
    const phoneHandle = handleOf('Phone/1.0');
    const ended = await laptop.post(`${url}/devices/end`, { handle: phoneHandle });
    assert.equal(ended.status, 303, ended.body);
    assert.match((await phone.get(`${url}/`)).body, /Not signed in/, 'the phone is logged out on its next request');
    assert.match((await tablet.get(`${url}/`)).body, /Signed in as/, 'the tablet is not');

    // A handle is no cookie, and one from another account ends nothing.
    const stranger = new Browser();
    await stranger.post(`${url}/login`, { name: `${user}-other` });
    await stranger.post(`${url}/devices/end`, { handle: handleOf('Tablet/1.0') });
    assert.match((await tablet.get(`${url}/`)).body, /Signed in as/, "another user's handle ended nothing");

    assert.equal((await laptop.post(`${url}/devices/end-others`)).status, 303);
    assert.match((await tablet.get(`${url}/`)).body, /Not signed in/, 'all but this one ended');
    assert.match((await laptop.get(`${url}/devices`)).body, /on 1 device\(s\)/);

    assert.equal((await laptop.post(`${url}/logout`)).status, 303);
    assert.match((await laptop.get(`${url}/`)).body, /Not signed in/);
    const gone = await laptop.get(`${url}/devices`);
    assert.equal(gone.status, 303, 'the devices page needs a user');
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await stopExample(running.child), 0);
  });
});

/** The messages a WebSocket receives until the server closes it. */
function socketMessages(url: string, cookie: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers: cookie ? { cookie } : {} });
    const messages: string[] = [];
    socket.on('message', (data: Buffer) => messages.push(data.toString()));
    socket.on('close', () => resolve(messages));
    socket.on('error', reject);
  });
}

describe('examples/websocket.js', () => {
  let running: RunningExample;
  before(async () => {
    running = await startExample('websocket.js');
  });
  after(() => stopExample(running.child));

  it('is in the README word for word', () => isInReadme('websocket.js'));

  it('the socket reads the session an HTTP request set, and its write is refused', async () => {
    const browser = new Browser();
    assert.deepEqual(await socketMessages(running.url, ''), [
      'Hello! Who are you? Visit /set?name=Ann first.',
      'MongoSessReadOnlyError: writes need an HTTP response',
    ]);
    assert.match((await browser.get(`${running.url}/set?name=Ann`)).body, /Hello Ann/);
    const cookie = await browser.jar.getCookieString(running.url);
    assert.deepEqual(await socketMessages(running.url, cookie), [
      'Welcome back, Ann.',
      'MongoSessReadOnlyError: writes need an HTTP response',
    ]);
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await stopExample(running.child), 0);
  });
});
