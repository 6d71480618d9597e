// The warning about unsigned session cookies under NODE_ENV=production: once per process.
// Its own file (its own process), as the once-per-process flag cannot be reset.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { resolveSessionOptions } from '../../../src/config/session-options.js';

const heard: string[] = [];
const listener = (warning: Error): void => {
  if (warning.name === 'MongoSessWarning') heard.push(warning.message);
};
process.on('warning', listener);
const nodeEnv = process.env['NODE_ENV'];
/** process.emitWarning delivers on a later tick. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('sessions without keys under NODE_ENV=production', () => {
  after(() => {
    process.off('warning', listener);
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = nodeEnv;
  });

  it('no warning outside production, nor with keys in production', async () => {
    process.env['NODE_ENV'] = 'development';
    resolveSessionOptions({});
    process.env['NODE_ENV'] = 'production';
    resolveSessionOptions({ keys: ['a secret'] });
    await settle();
    assert.deepEqual(heard, []);
  });

  it('warns once per process, however many options objects are resolved', async () => {
    process.env['NODE_ENV'] = 'production';
    resolveSessionOptions({ cookieName: 'one' });
    resolveSessionOptions({ cookieName: 'two' });
    resolveSessionOptions(undefined);
    await settle();
    assert.equal(heard.length, 1, heard.join('\n'));
    assert.match(heard[0]!, /^mongosess: sessions are created without keys under NODE_ENV=production/);
    assert.match(heard[0]!, /Pass keys: \[secret\]/);
  });
});
