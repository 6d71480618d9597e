// examples/express.js, koa.js and fastify.js run as written (through the built package's
// subpath exports, mongosess/express and so on) and are in the README word for word.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nameScenario, root, startExample, stopExample, type RunningExample } from '../helpers/example-process.js';

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
