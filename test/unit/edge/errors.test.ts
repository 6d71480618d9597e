// The error classes: fixed names, HTTP statuses for the frameworks' error handlers, and the
// report of an operation's error that nobody handled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MongoSessConfigError,
  MongoSessDatabaseError,
  MongoSessEndedError,
  MongoSessError,
  MongoSessNotConnectedError,
  MongoSessValidationError,
  reportUnhandled,
} from '../../../src/edge/errors.js';

describe('errors', () => {
  it('carry an HTTP status (and statusCode) that Express, Koa and Fastify answer with', () => {
    const cases: [MongoSessError, number][] = [
      [new MongoSessValidationError('bad key'), 400],
      [new MongoSessEndedError('gone'), 409],
      [new MongoSessDatabaseError('down'), 503],
      [new MongoSessNotConnectedError('not yet'), 503],
      [new MongoSessConfigError('bad option'), 500],
      [new MongoSessError('other'), 500],
    ];
    for (const [err, status] of cases) {
      assert.equal(err.status, status, err.name);
      assert.equal(err.statusCode, status, err.name);
    }
  });

  it('an unhandled error is reported through warn, with the error, its name, status and message', () => {
    const calls: [string, Error | undefined][] = [];
    const err = new MongoSessEndedError('the session was ended');
    reportUnhandled((message, error) => void calls.push([message, error]), 'session.set()', err);
    assert.equal(calls.length, 1);
    const [message, error] = calls[0]!;
    assert.equal(error, err);
    assert.equal(
      message,
      'mongosess: session.set() failed, and nothing handled its promise (no callback, await or .catch()): ' +
        'MongoSessEndedError (status 409): the session was ended. Pass a callback or handle the promise to act on the error.',
    );
  });

  it('a warn that throws does not turn the report into a crash: it goes to process.emitWarning', () => {
    const emitted: string[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((message: string) => void emitted.push(message)) as typeof process.emitWarning;
    try {
      reportUnhandled(
        () => {
          throw new RangeError('logger broke');
        },
        'session.get()',
        new MongoSessDatabaseError('down'),
      );
    } finally {
      process.emitWarning = original;
    }
    assert.equal(emitted.length, 1);
    assert.match(emitted[0]!, /session\.get\(\) failed.*reported here because the warn option threw \(RangeError\)/);
  });
});
