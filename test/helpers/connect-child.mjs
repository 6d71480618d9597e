// Run by test/integration/connect-race.test.ts as one of many processes (plain JS on the build,
// so that twenty of them start quickly). Modes, from argv[2]:
//   race         prints READY, waits for a line GO on stdin, calls MongoSess.connect() and prints
//                RESULT <json>: whether it connected, the error, the warnings.
//   same-tick    connect() then close() in the same tick, with callbacks and with promises,
//                under Node's default --unhandled-rejections=throw; prints RESULT <json>.
import { createInterface } from 'node:readline';
import MongoSess from 'mongosess';

const [mode = 'race', uri = '', db = ''] = process.argv.slice(2);
const warnings = [];
const warn = (message) => void warnings.push(message);

function result(value) {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}

if (mode === 'race') {
  process.stdout.write('READY\n');
  const lines = createInterface({ input: process.stdin });
  lines.once('line', async () => {
    lines.close();
    try {
      await MongoSess.connect({ uri, db, warn });
      result({ ok: true, warnings });
    } catch (err) {
      result({ ok: false, error: `${err?.name}: ${err?.message}`, warnings });
    }
    await MongoSess.close();
  });
} else {
  const calls = { connect: 0, close: 0 };
  const outcomes = {};
  // With callbacks: each called once, whatever happened first.
  MongoSess.connect({ uri, db, warn }, (err) => {
    calls.connect++;
    outcomes.callbackConnect = err ? err.name : 'connected';
  });
  MongoSess.close(() => {
    calls.close++;
  });
  // With promises, both handled.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const settled = await Promise.allSettled([MongoSess.connect({ uri, db, warn }), MongoSess.close()]);
  outcomes.promises = settled.map((s) => (s.status === 'fulfilled' ? 'fulfilled' : s.reason?.name));
  await new Promise((resolve) => setTimeout(resolve, 500));
  result({ calls, outcomes });
}
