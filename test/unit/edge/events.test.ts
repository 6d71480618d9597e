import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { channelName, SESSION_EVENTS, SessionEvents } from '../../../src/edge/events.js';
import { handleOf } from '../../../src/session/handle.js';
import { hashSessionId, newSessionId } from '../../../src/session/id.js';

const handle = handleOf(hashSessionId(newSessionId()));

describe('SessionEvents', () => {
  it('calls on() listeners every time, once() listeners once, and off() removes them', () => {
    const events = new SessionEvents();
    const seen: string[] = [];
    const each = () => seen.push('each');
    events.on('created', each);
    events.once('created', () => seen.push('once'));
    events.emit('created', { handle });
    events.emit('created', { handle });
    events.off('created', each);
    events.emit('created', { handle });
    assert.deepEqual(seen, ['each', 'once', 'each']);
  });

  it('publishes each event on its mongosess:<event> diagnostics channel', () => {
    const events = new SessionEvents();
    const published: unknown[] = [];
    const subscriber = (message: unknown) => void published.push(message);
    diagnostics.subscribe(channelName('ended'), subscriber);
    try {
      assert.equal(events.heard('ended'), true, 'a subscriber is someone who hears');
      events.emit('ended', { reason: 'endAll', count: 3 });
    } finally {
      diagnostics.unsubscribe(channelName('ended'), subscriber);
    }
    assert.deepEqual(published, [{ reason: 'endAll', count: 3 }]);
    assert.deepEqual(
      SESSION_EVENTS.map(channelName),
      ['created', 'ended', 'regenerated', 'refused', 'replay', 'error'].map((e) => `mongosess:${e}`),
    );
  });

  it('never throws from emit: a throwing listener is reported, the others still run', () => {
    const reports: string[] = [];
    const events = new SessionEvents((message) => reports.push(message));
    const seen: string[] = [];
    events.on('refused', () => {
      throw new TypeError('bug');
    });
    events.on('refused', () => seen.push('second'));
    events.emit('refused', { handle, operation: 'write' });
    assert.deepEqual(seen, ['second']);
    assert.deepEqual(reports, ["mongosess: a listener of the 'refused' event threw (TypeError); the event's other listeners still ran"]);
  });

  it('reportError warns when nobody listens to error, and only emits when someone does', () => {
    const reports: string[] = [];
    const events = new SessionEvents((message) => reports.push(message));
    events.reportError(new Error('mongosess: boom'), 'ending sessions over maxSessionsPerUser');
    assert.deepEqual(reports, ['mongosess: ending sessions over maxSessionsPerUser failed: boom']);
    const errors: unknown[] = [];
    events.on('error', (e) => errors.push(e.during));
    events.reportError(new Error('again'), 'x');
    assert.deepEqual(errors, ['x']);
    assert.equal(reports.length, 1);
  });

  it('refuses unknown events and non-function listeners', () => {
    const events = new SessionEvents();
    assert.throws(() => events.on('toString' as never, () => undefined), {
      name: 'MongoSessConfigError',
      message: /unknown event "toString"/,
    });
    assert.throws(() => events.on('created', 'x' as never), { name: 'MongoSessConfigError', message: /must be a function/ });
  });

  it('logs events with NODE_DEBUG=mongosess, and is silent without it', () => {
    const script = `
      import { SessionEvents } from './src/edge/events.ts';
      new SessionEvents().emit('ended', { reason: 'endAll', count: 2 });
    `;
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    const on = run({ NODE_DEBUG: 'mongosess' });
    assert.equal(on.status, 0, on.stderr);
    assert.match(on.stderr, /MONGOSESS \d+: ended \{ reason: 'endAll', count: 2 \}/);
    const off = run({ NODE_DEBUG: '' });
    assert.equal(off.stderr.includes('MONGOSESS'), false);
  });
});
