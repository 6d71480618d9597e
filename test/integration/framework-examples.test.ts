// examples/express.js, koa.js and fastify.js run as written (through the built package's
// subpath exports, mongosess/express and so on) and are in the README word for word.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MONGODB_URI } from '../helpers/db.js';
import { nameScenario, root, startExample, stopExample, type RunningExample } from '../helpers/example-process.js';
import { Browser } from '../helpers/http.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

for (const file of ['express.js', 'koa.js', 'fastify.js']) {
  describe(`examples/${file}`, () => {
    let running: RunningExample;
    before(async () => {
      running = await startExample(file);
    });
    after(() => stopExample(running.child));

    it('is in the README word for word', () => {
      const example = readFileSync(join(root, 'examples', file), 'utf8');
      assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes(example.trim()), `README.md must contain examples/${file} verbatim`);
    });

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
