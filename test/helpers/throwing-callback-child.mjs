// Run by test/integration/other-stores-callbacks.test.ts as a child process (plain JS on the
// build): every kind of callback throws, on success and on error. Each must be called once, and
// its throw must surface as an uncaught exception (recorded here), never call the callback again
// and never vanish. Prints RESULT <json> with the calls and the surfaced throws.
import http from 'node:http';
import MongoSess from 'mongosess';

const [uri = '', db = ''] = process.argv.slice(2);
const calls = {};
const outcomes = {};
const surfaced = [];
process.on('uncaughtException', (err) => surfaced.push(err.message));

/** A callback that records its call and its outcome, then throws. */
const throwing = (name) => (err) => {
  calls[name] = (calls[name] ?? 0) + 1;
  outcomes[name] = err ? err.name : 'ok';
  throw new Error(`thrown by ${name}`);
};
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

MongoSess.connect({ uri, db, expires: -5 }, throwing('connect, bad options'));
await pause(100);
MongoSess.connect({ uri, db, autoRemove: 'disabled', warn: () => undefined }, throwing('connect'));
await pause(1500);

const server = http.createServer((req, res) => {
  const session = new MongoSess(req, res);
  session.set({ a: 1 }, throwing('set'));
  session.set(null, throwing('set, bad data'));
  session.get(throwing('get'));
  session.get(42, throwing('get, bad key'));
  session.del('a', throwing('del'));
  session.regenerate(throwing('regenerate'));
  session.end(throwing('end'));
  session.set({ b: 2 }, throwing('set after end'));
  session.get().nodeify(throwing('nodeify'));
  setTimeout(() => res.end('done'), 800);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
await new Promise((resolve) => http.get(`http://127.0.0.1:${server.address().port}/`, (res) => res.resume().on('end', resolve)));
MongoSess.countSessions({}, throwing('countSessions'));
MongoSess.endAll(throwing('endAll, no filter'));
await pause(800);
server.close();
MongoSess.close(throwing('close'));
await pause(500);
process.stdout.write(`RESULT ${JSON.stringify({ calls, outcomes, surfaced })}\n`);
