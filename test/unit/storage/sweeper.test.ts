// The background sweep: a failed sweep is reported through `warn`, and a `warn` that throws
// never turns into an unhandled rejection. The failure is real: the driver cannot reach a
// server on a closed loopback port.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { SessionCollection } from '../../../src/storage/collection.js';
import { startSweeper } from '../../../src/storage/sweeper.js';
import type { SessionDocument } from '../../../src/storage/document.js';

const client = new MongoClient('mongodb://127.0.0.1:1/', { serverSelectionTimeoutMS: 100 });

function sweeperWith(warn: (message: string) => void): () => Promise<void> {
  const sessions = new SessionCollection(client.db('mongosess_unit').collection<SessionDocument>('sessions'), { w: 1 });
  return startSweeper(() => sessions.sweep(new Date()), 20, warn);
}

/** Collects unhandled rejections and process warnings while `run` runs. */
async function observe(run: () => Promise<void>): Promise<{ rejections: unknown[]; warnings: Error[] }> {
  const rejections: unknown[] = [];
  const warnings: Error[] = [];
  const onRejection = (reason: unknown) => void rejections.push(reason);
  const onWarning = (warning: Error) => void warnings.push(warning);
  process.on('unhandledRejection', onRejection);
  process.on('warning', onWarning);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('warning', onWarning);
  }
  return { rejections, warnings };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sweeper', () => {
  after(() => client.close());

  it('reports a failed sweep through warn, once per outage', async () => {
    const messages: string[] = [];
    const { rejections } = await observe(async () => {
      const stop = sweeperWith((message) => messages.push(message));
      await wait(600);
      await stop();
    });
    assert.deepEqual(rejections, []);
    assert.equal(messages.length, 1, JSON.stringify(messages));
    assert.match(messages[0]!, /^mongosess: removing expired sessions failed.*the sweep retries every 20 ms/);
  });

  it('a warn that throws does not crash the process: the warning goes to process.emitWarning instead', async () => {
    let calls = 0;
    const { rejections, warnings } = await observe(async () => {
      const stop = sweeperWith(() => {
        calls++;
        throw new TypeError('logger is gone');
      });
      await wait(600);
      await stop();
    });
    assert.equal(calls, 1, 'warn was called once for the outage');
    assert.deepEqual(rejections, [], 'no unhandled rejection');
    const ours = warnings.filter((w) => w.name === 'MongoSessWarning');
    assert.equal(ours.length, 1);
    assert.match(
      ours[0]!.message,
      /^mongosess: removing expired sessions failed.*reported here because the warn option threw \(TypeError\)$/,
    );
    assert.doesNotMatch(ours[0]!.message, /logger is gone/);
  });
});
