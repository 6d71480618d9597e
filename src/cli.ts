#!/usr/bin/env node
/**
 * `npx mongosess`: the operator's command line. count, list and end sessions by a JSON filter on
 * their data, end one by handle, and `doctor` the server. It uses the public API (imported by
 * package name, like the framework entries) and, for doctor, its own client.
 *
 * Exit codes: 0 done; 1 doctor found a failing check; 2 bad usage (arguments, filter, options);
 * 3 the database could not be reached or refused the work.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { BSON, MongoClient } from 'mongodb';
import MongoSess, {
  MongoSessConfigError,
  MongoSessDatabaseError,
  MongoSessDecryptionError,
  MongoSessValidationError,
  type SessionSummary,
} from 'mongosess';
import { databaseInUri } from './config/connect-options.js';
import { diagnose, type Check } from './storage/doctor.js';

const EXIT = { ok: 0, problems: 1, usage: 2, database: 3 } as const;

const HELP = `Usage: mongosess <command> [filter] [options]

Commands:
  count [filter]        Count the live sessions whose data matches filter (default: all)
  list [filter]         List them: handle, created, last seen, expiry, data
  end <filter>          End them (end '{}' ends every session: it needs --all)
  end --handle <h>      End the one session with this handle (from list), if it matches filter
  doctor                Check the server: kind and version, TTL indexes, $bsonSize, atomic
                        updates, write concern, and the collection's indexes

filter is JSON (Extended JSON for dates and ids) on session data, e.g. '{"userId": 42}'.

Options:
  --uri <uri>               MongoDB connection string (default: $MONGODB_URI)
  --db <name>               Database (default: the one in the URI, else mongosess)
  --collection <name>       Collection (default: sessions)
  --limit <n>               list: at most n sessions (default: 100)
  --user-key <key>          doctor: the app's userKey, whose index is checked too
  --expires <ms>            The app's expires: how long end keeps tombstones (default: 14 days)
  --absolute-timeout <ms>   The app's absoluteTimeout, if set: sessions past it are not live
  --encrypted-fields <a,b>  With the app's encryption.fields: the data keys it encrypts
  --all                     end: allow the empty filter
  --json                    Machine-readable output on stdout
  -h, --help                This help
  -v, --version             The version

Encryption: where the app connects with encryption, set MONGOSESS_ENCRYPTION_KEYS to its keys,
newest first, comma-separated (base64 or hex, as the app has them; an environment variable, not an
argument, so that the keys are not in the process list), and pass --encrypted-fields if the app
has fields. Without the keys, list fails on an encrypted session; filters can only name keys the
app stores in clear, and a filter on a key the app encrypts matches nothing.

Exit codes: 0 done, 1 doctor found a failing check, 2 bad usage, 3 database unreachable or refused.
Only sessions of mongosess 1.x are counted, listed and ended here; 0.4 sessions are reached by the app.
`;

/** A mistake in the command line: exit code 2, and the message says how to fix it. */
class UsageError extends Error {}

interface Parsed {
  command: 'count' | 'list' | 'end' | 'doctor';
  filter: Record<string, unknown>;
  uri: string;
  db: string | undefined;
  collection: string | undefined;
  limit: number | undefined;
  userKey: string | undefined;
  expires: number | undefined;
  absoluteTimeout: number | undefined;
  /** connect's `encryption`, from MONGOSESS_ENCRYPTION_KEYS and --encrypted-fields. */
  encryption: { keys: string[]; fields?: string[] } | undefined;
  handle: string | undefined;
  all: boolean;
  json: boolean;
}

function parse(argv: string[]): Parsed | 'help' | 'version' {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        uri: { type: 'string' },
        db: { type: 'string' },
        collection: { type: 'string' },
        limit: { type: 'string' },
        'user-key': { type: 'string' },
        expires: { type: 'string' },
        'absolute-timeout': { type: 'string' },
        'encrypted-fields': { type: 'string' },
        handle: { type: 'string' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see mongosess --help`);
  }
  if (values['help']) return 'help';
  if (values['version']) return 'version';
  const [command, filterText, ...extra] = positionals;
  if (command === undefined) throw new UsageError('no command given; see mongosess --help');
  if (command !== 'count' && command !== 'list' && command !== 'end' && command !== 'doctor') {
    throw new UsageError(`unknown command ${JSON.stringify(command)}; use count, list, end or doctor`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}; quote the filter as one argument`);
  if (command === 'doctor' && filterText !== undefined) throw new UsageError('doctor takes no filter');
  const uri = (values['uri'] as string | undefined) ?? process.env['MONGODB_URI'];
  if (!uri) throw new UsageError('no server given: pass --uri mongodb://… or set MONGODB_URI');
  const handle = values['handle'] as string | undefined;
  if (handle !== undefined && command !== 'end') throw new UsageError('--handle only goes with end');
  if (command === 'end' && filterText === undefined && handle === undefined) {
    throw new UsageError('end needs a filter, e.g. end \'{"userId": 42}\' (or --handle)');
  }
  const filter = filterText === undefined ? {} : parseFilter(filterText);
  if (command === 'end' && handle === undefined && Object.keys(filter).length === 0 && !values['all']) {
    throw new UsageError("end '{}' ends every session: add --all if that is what you mean");
  }
  return {
    command,
    filter,
    uri,
    db: values['db'] as string | undefined,
    collection: values['collection'] as string | undefined,
    limit: integer('--limit', values['limit']),
    userKey: values['user-key'] as string | undefined,
    expires: integer('--expires', values['expires']),
    absoluteTimeout: integer('--absolute-timeout', values['absolute-timeout']),
    encryption: encryptionOf(process.env['MONGOSESS_ENCRYPTION_KEYS'], values['encrypted-fields']),
    handle,
    all: values['all'] === true,
    json: values['json'] === true,
  };
}

function parseFilter(text: string): Record<string, unknown> {
  let filter: unknown;
  try {
    filter = BSON.EJSON.parse(text, { relaxed: true });
  } catch (err) {
    throw new UsageError(`the filter is not JSON (${(err as Error).message}); e.g. '{"userId": 42}'`);
  }
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new UsageError(`the filter must be a JSON object, e.g. '{"userId": 42}'`);
  }
  return filter as Record<string, unknown>;
}

function encryptionOf(keys: string | undefined, fields: string | boolean | undefined): Parsed['encryption'] {
  const list = (text: string) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  if (keys === undefined || list(keys).length === 0) {
    if (typeof fields === 'string') throw new UsageError('--encrypted-fields needs the keys: set MONGOSESS_ENCRYPTION_KEYS');
    return undefined;
  }
  return { keys: list(keys), ...(typeof fields === 'string' ? { fields: list(fields) } : {}) };
}

function integer(name: string, text: string | boolean | undefined): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} takes a whole number, got: ${JSON.stringify(text)}`);
  return Number(text);
}

async function withSessions<T>(args: Parsed, warnings: string[], work: () => Promise<T>): Promise<T> {
  await MongoSess.connect({
    uri: args.uri,
    ...(args.db !== undefined ? { db: args.db } : {}),
    ...(args.collection !== undefined ? { collection: args.collection } : {}),
    ...(args.expires !== undefined ? { expires: args.expires } : {}),
    ...(args.absoluteTimeout !== undefined ? { absoluteTimeout: args.absoluteTimeout } : {}),
    ...(args.encryption ? { encryption: args.encryption } : {}),
    // An operator's look never removes or moves anything on its own.
    autoRemove: 'disabled',
    upgradeLegacySessions: false,
    // Stored deadlines are checked whatever the app's rolling setting (the stricter filter).
    rolling: true,
    warn: (message) => warnings.push(message),
  });
  try {
    return await work();
  } finally {
    await new Promise((resolve) => MongoSess.close(resolve));
  }
}

async function doctor(args: Parsed): Promise<Check[]> {
  const client = new MongoClient(args.uri, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
    // The database connect() would use: --db, else the one in the URI, else mongosess.
    const db = args.db ?? databaseInUri(args.uri) ?? 'mongosess';
    return await diagnose({ client, db, collection: args.collection ?? 'sessions', userKey: args.userKey });
  } finally {
    await client.close();
  }
}

function row(summary: SessionSummary): string {
  const date = (d: Date | undefined) => (d ? d.toISOString() : '-');
  const undecryptable = summary.undecryptable ? ` (does not decrypt: ${summary.undecryptable.join(', ')})` : '';
  const data = BSON.EJSON.stringify(summary.data, { relaxed: true }) + undecryptable;
  return [summary.handle ?? '(0.4 session)', date(summary.createdAt), date(summary.lastSeenAt), date(summary.expiresAt), data].join('  ');
}

const MARK: Record<Check['verdict'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

async function main(argv: string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  const args = parse(argv);
  if (args === 'help') {
    out(HELP);
    return EXIT.ok;
  }
  if (args === 'version') {
    out(`${(createRequire(import.meta.url)('../package.json') as { version: string }).version}\n`);
    return EXIT.ok;
  }
  // Plain JSON: dates as ISO strings, ObjectIds as hex (their toJSON), as scripts expect.
  const json = (value: unknown) => out(`${JSON.stringify(value, undefined, 2)}\n`);
  const { command } = args;
  if (command === 'doctor') {
    const checks = await doctor(args);
    if (args.json) json({ checks, ok: checks.every((c) => c.verdict !== 'fail') });
    else for (const c of checks) out(`${MARK[c.verdict]}  ${c.check}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}\n`);
    return checks.some((c) => c.verdict === 'fail') ? EXIT.problems : EXIT.ok;
  }
  const warnings: string[] = [];
  const result = await withSessions(args, warnings, async () => {
    switch (command) {
      case 'count':
        return { count: await MongoSess.countSessions(args.filter) };
      case 'list':
        return { sessions: await MongoSess.listSessions(args.filter, args.limit !== undefined ? { limit: args.limit } : {}) };
      case 'end':
        if (args.handle !== undefined) return { ended: (await MongoSess.endSession(args.handle as never, args.filter)) ? 1 : 0 };
        return { ended: await MongoSess.endAll(args.filter) };
      default:
        return unreachable(command);
    }
  });
  for (const warning of warnings) err(`warning: ${warning}\n`);
  if (args.json) json(result);
  else if ('count' in result) out(`${result.count}\n`);
  else if ('ended' in result) out(`ended ${result.ended} session${result.ended === 1 ? '' : 's'}\n`);
  else {
    out('handle  created  last seen  expires  data\n');
    for (const summary of result.sessions) out(`${row(summary)}\n`);
  }
  return EXIT.ok;
}

function unreachable(value: never): never {
  throw new Error(`unhandled command ${String(value)}`);
}

/** An error as the operator sees it: its message, never a stack; and the exit code it means. */
function failure(error: unknown): { message: string; code: number } {
  if (error instanceof UsageError) return { message: `mongosess: ${error.message}`, code: EXIT.usage };
  if (error instanceof MongoSessConfigError || error instanceof MongoSessValidationError)
    return { message: error.message, code: EXIT.usage };
  if (error instanceof MongoSessDatabaseError) return { message: error.message, code: EXIT.database };
  if (error instanceof MongoSessDecryptionError) {
    return { message: `${error.message}; set MONGOSESS_ENCRYPTION_KEYS to the app's keys (see mongosess --help)`, code: EXIT.usage };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && /^Mongo/.test(error.name))
    return { message: `mongosess: the database failed: ${message}`, code: EXIT.database };
  return { message: `mongosess: ${message}`, code: EXIT.problems };
}

main(
  process.argv.slice(2),
  (text) => process.stdout.write(text),
  (text) => process.stderr.write(text),
).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const { message, code } = failure(error);
    process.stderr.write(`${message}\n`);
    process.exitCode = code;
  },
);
