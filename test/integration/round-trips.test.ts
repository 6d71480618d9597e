// One database round trip where other stores use two: commands counted with the driver's monitoring.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Session } from '../../src/index.js';
import { Browser } from '../helpers/http.js';
import { sessionFixture } from '../helpers/session-fixture.js';
import type { Step } from '../helpers/session-app.js';

const fixture = sessionFixture('trips');
const { commands, reset } = fixture;
let browser: Browser;

/** What each request does with its session. */
const steps = {
  nothing: (session: Session) => session.sid,
  getNew: (session: Session) => session.get(),
  read: (session: Session) => session.get('n'),
  readMany: async (session: Session) => [await session.get('n'), await session.get(), await session.get('n')],
  parallelReads: (session: Session) => Promise.all([session.get('n'), session.get('n'), session.get()]),
  set: (session: Session) => session.set({ n: 1 }),
  setGet: async (session: Session) => {
    await session.set({ n: 2 });
    return session.get();
  },
  getSetGet: async (session: Session) => {
    await session.get();
    await session.set({ n: 3 });
    return session.get('n');
  },
} satisfies Record<string, Step>;

describe('database commands per request', () => {
  before(async () => {
    await fixture.start();
    browser = new Browser();
    await fixture.app.run(steps.set, { browser }); // an existing session for the read cases
  });

  after(() => fixture.stop());

  async function count(step: Step, withCookie = true): Promise<{ names: string[]; body: unknown }> {
    reset();
    const reply = await fixture.app.run(step, { browser: withCookie ? browser : new Browser() });
    assert.equal(reply.status, 200, reply.body);
    return { names: commands.map((c) => c.commandName), body: reply.json() };
  }

  it('a visitor who never stores anything: 0 commands, even when reading', async () => {
    assert.deepEqual((await count(steps.nothing, false)).names, []);
    assert.deepEqual((await count(steps.getNew, false)).names, []);
  });

  it('a request that only reads: 1 command', async () => {
    const { names, body } = await count(steps.read);
    assert.deepEqual(names, ['find']);
    assert.equal(body, 1);
  });

  it('several gets in one request, sequential or parallel: 1 read', async () => {
    assert.deepEqual((await count(steps.readMany)).names, ['find']);
    assert.deepEqual((await count(steps.parallelReads)).names, ['find']);
  });

  it('set: 1 command', async () => {
    assert.deepEqual((await count(steps.set)).names, ['findAndModify']);
  });

  it('set then get: 1 command in total (read your own writes)', async () => {
    const { names, body } = await count(steps.setGet);
    assert.deepEqual(names, ['findAndModify']);
    assert.equal((body as { n: number }).n, 2);
  });

  it('get, set, get: 2 commands (the write refreshes the cached session)', async () => {
    const { names, body } = await count(steps.getSetGet);
    assert.deepEqual(names, ['find', 'findAndModify']);
    assert.equal(body, 3);
  });

  it('a new visitor who sets: 1 command, an upsert', async () => {
    reset();
    await fixture.app.run(steps.set, { browser: new Browser() });
    assert.deepEqual(
      commands.map((c) => c.commandName),
      ['findAndModify'],
    );
    assert.equal(commands[0]?.command['upsert'], true);
  });
});
