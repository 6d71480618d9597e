// The README's example is examples/http-server.js, word for word, and it works as written.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nameScenario, root, startExample, stopExample, type RunningExample } from '../helpers/example-process.js';

const example = readFileSync(join(root, 'examples/http-server.js'), 'utf8');
let running: RunningExample;

describe('the README example', () => {
  before(async () => {
    running = await startExample('http-server.js');
  });

  after(() => stopExample(running.child));

  it('is in the README word for word', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    assert.ok(readme.includes(example.trim()), 'README.md must contain examples/http-server.js verbatim');
  });

  it('sets a name, reads it back, deletes it, ends the session', () => nameScenario(running.url));

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await stopExample(running.child), 0);
  });
});
