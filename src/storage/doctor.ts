/**
 * `mongosess doctor`: what the server under an app's sessions can do, checked by asking it and by
 * small probes in a scratch collection (dropped afterwards), each with a verdict and a fix.
 * Nothing in the sessions collection is written.
 */
import { randomBytes } from 'node:crypto';
import { MongoServerError, type Collection, type Db, type Document, type IndexDescriptionInfo, type MongoClient } from 'mongodb';
import { sizeFilter } from '../data/size.js';
import { HANDLE_INDEX, userIndexName } from '../devices/indexes.js';

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly check: string;
  readonly verdict: Verdict;
  /** What was found. */
  readonly detail: string;
  /** What to do about it; absent when the verdict is ok. */
  readonly fix?: string;
}

export interface DoctorTarget {
  client: MongoClient;
  db: string;
  collection: string;
  /** connect()'s `userKey`, when the app sets one: its index is checked too. */
  userKey: string | undefined;
}

/** How many concurrent updates of one document the atomicity probe sends. */
const PROBE_UPDATES = 50;

/** Runs every check, in order; a check that cannot run is a `fail` naming why. */
export async function diagnose(target: DoctorTarget): Promise<Check[]> {
  const db = target.client.db(target.db);
  const scratch: Scratch = db.collection(`mongosess_doctor_${randomBytes(4).toString('hex')}`);
  const checks: Check[] = [];
  const run = async (check: string, probe: () => Promise<Omit<Check, 'check'>>) => {
    try {
      checks.push({ check, ...(await probe()) });
    } catch (err) {
      checks.push({
        check,
        verdict: 'fail',
        detail: `the check failed: ${describeError(err)}`,
        fix: 'check the user has read and write rights on this database',
      });
    }
  };
  try {
    await run('server', () => server(target.client));
    await run('ttl indexes', async () => ttl(scratch));
    await run('$bsonSize', async () => bsonSize(scratch));
    await run('atomic updates', async () => atomicity(scratch));
    await run('write concern', async () => writeConcern(target.client, db));
    await run('indexes', async () => indexes(db, target));
  } finally {
    await scratch.drop().catch(() => undefined);
  }
  return checks;
}

async function server(client: MongoClient): Promise<Omit<Check, 'check'>> {
  const admin = client.db('admin');
  const info = await admin.command({ buildInfo: 1 });
  const hello = await admin.command({ hello: 1 }).catch(() => admin.command({ isMaster: 1 }));
  const topology =
    hello['msg'] === 'isdbgrid'
      ? 'a sharded cluster'
      : typeof hello['setName'] === 'string'
        ? `replica set ${hello['setName']}`
        : 'a standalone server';
  const ferret = typeof info['ferretdbVersion'] === 'string' ? info['ferretdbVersion'] : undefined;
  if (ferret) {
    return {
      verdict: 'warn',
      detail: `FerretDB ${ferret} (compatible with MongoDB ${String(info['version'])}), ${topology}`,
      fix: 'FerretDB works for development; run production sessions on MongoDB 5.0 or later (see the checks below)',
    };
  }
  const version = String(info['version']);
  const major = Number.parseInt(version, 10);
  if (!(major >= 5)) {
    return {
      verdict: 'warn',
      detail: `MongoDB ${version}, ${topology}`,
      fix: 'mongosess is tested on MongoDB 5.0 to 8.x; upgrade the server',
    };
  }
  if (topology === 'a standalone server') {
    return {
      verdict: 'warn',
      detail: `MongoDB ${version}, ${topology}`,
      fix: 'a standalone has no failover: use a replica set in production',
    };
  }
  return { verdict: 'ok', detail: `MongoDB ${version}, ${topology}` };
}

/** A collection of the doctor's own, with string ids. */
type Scratch = Collection<Document & { _id: string }>;

async function ttl(scratch: Scratch): Promise<Omit<Check, 'check'>> {
  try {
    await scratch.createIndex({ at: 1 }, { expireAfterSeconds: 0 });
    return { verdict: 'ok', detail: 'the server accepts TTL indexes: expired sessions are removed by the server' };
  } catch (err) {
    if (!(err instanceof MongoServerError)) throw err;
    return {
      verdict: 'warn',
      detail: `the server refused a TTL index (${err.codeName ?? err.code})`,
      fix: "set autoRemove: 'interval' in connect(): one process sweeps expired sessions every autoRemoveInterval",
    };
  }
}

async function bsonSize(scratch: Scratch): Promise<Omit<Check, 'check'>> {
  await scratch.insertOne({ _id: 'size', d: { a: 1 } });
  try {
    const found = await scratch.findOne({ _id: 'size', ...sizeFilter('d', 1024, 0) } as Document);
    if (found) return { verdict: 'ok', detail: 'the server evaluates $bsonSize: maxDataBytes bounds the stored session' };
  } catch (err) {
    if (!(err instanceof MongoServerError)) throw err;
  }
  return {
    verdict: 'warn',
    detail: 'the server cannot evaluate $bsonSize in a query',
    fix: 'maxDataBytes then bounds each set() but not the stored session; use MongoDB 4.4 or later',
  };
}

async function atomicity(scratch: Scratch): Promise<Omit<Check, 'check'>> {
  await scratch.insertOne({ _id: 'atomic', n: 0 });
  await Promise.all(Array.from({ length: PROBE_UPDATES }, () => scratch.updateOne({ _id: 'atomic' }, { $inc: { n: 1 } })));
  const n = (await scratch.findOne({ _id: 'atomic' }))?.['n'];
  if (n === PROBE_UPDATES) {
    return { verdict: 'ok', detail: `${PROBE_UPDATES} concurrent updates of one document all applied` };
  }
  return {
    verdict: 'fail',
    detail: `${PROBE_UPDATES} concurrent updates of one document left ${String(n)}: updates are not atomic, so concurrent writes to one session are lost and an ended session can come back`,
    fix: 'use MongoDB (FerretDB 1.x applies updates without a lock)',
  };
}

async function writeConcern(client: MongoClient, db: Db): Promise<Omit<Check, 'check'>> {
  const probe: Scratch = db.collection(`mongosess_doctor_wc_${randomBytes(4).toString('hex')}`);
  const own = client.options.writeConcern;
  const clientDefault =
    own?.w !== undefined ? `the client's write concern is w: ${String(own.w)}` : "the client uses the server's default write concern";
  try {
    await probe.insertOne({ _id: 'wc' }, { writeConcern: { w: 'majority', wtimeoutMS: 5_000 } });
  } catch (err) {
    if (!(err instanceof MongoServerError)) throw err;
    return {
      verdict: 'fail',
      detail: `a write with w: 'majority' failed (${err.codeName ?? err.code}); ${clientDefault}`,
      fix: "logouts use w: 'majority' by default: fix the replica set, or set writeConcern: { w: 1 } in connect() knowing a failover can undo a logout",
    };
  } finally {
    await probe.drop().catch(() => undefined);
  }
  if (own?.w === 0) {
    return { verdict: 'fail', detail: clientDefault, fix: 'remove w: 0 from the URI: unacknowledged writes can lose sessions silently' };
  }
  return { verdict: 'ok', detail: `writes with w: 'majority' (used for logouts) are acknowledged; ${clientDefault}` };
}

async function indexes(db: Db, target: DoctorTarget): Promise<Omit<Check, 'check'>> {
  let found: IndexDescriptionInfo[];
  try {
    found = await db.collection(target.collection).listIndexes().toArray();
  } catch (err) {
    if (err instanceof MongoServerError && err.code === 26) {
      return {
        verdict: 'warn',
        detail: `the collection ${target.db}.${target.collection} does not exist yet`,
        fix: 'check --db and --collection; connect() creates the collection and its indexes',
      };
    }
    throw err;
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  const expiry = found.find((i) => sameKey(i, ['expiresAt']));
  const legacy = found.find((i) => sameKey(i, ['createdAt']) && i.expireAfterSeconds !== undefined);
  if (!expiry) {
    problems.push('no index on expiresAt');
    fixes.push('start the app once: connect() creates it (a TTL index, or a plain one for the sweep)');
  } else if (expiry.expireAfterSeconds === undefined) {
    problems.push(`expiresAt is indexed without TTL (${expiry.name}): the app's sweep removes expired sessions`);
    fixes.push(`where the server has TTL indexes, drop ${expiry.name} and connect() with autoRemove: 'native' makes a TTL index`);
  }
  if (legacy) {
    problems.push(`mongosess 0.4's TTL index on createdAt is still there (${legacy.name})`);
    fixes.push('connect() with upgradeLegacySessions (the default) replaces it');
  }
  if (!found.some((i) => i.name === HANDLE_INDEX)) {
    problems.push(`no ${HANDLE_INDEX} index: endSession(handle) scans the collection`);
    fixes.push('connect() of this version creates it');
  }
  if (target.userKey !== undefined && !found.some((i) => sameKey(i, [`d.${target.userKey}`]))) {
    problems.push(`no index on the user key d.${target.userKey} (${userIndexName(target.userKey)})`);
    fixes.push(`connect() with userKey: '${target.userKey}' creates it`);
  }
  const names = found.map((i) => i.name).join(', ');
  if (problems.length === 0) return { verdict: 'ok', detail: `indexes: ${names}` };
  return { verdict: 'warn', detail: `${problems.join('; ')} (indexes: ${names})`, ...(fixes.length > 0 ? { fix: fixes.join('; ') } : {}) };
}

function sameKey(index: IndexDescriptionInfo, keys: string[]): boolean {
  const own = Object.keys(index.key);
  return own.length === keys.length && own.every((key, i) => key === keys[i]);
}

function describeError(err: unknown): string {
  if (err instanceof MongoServerError) return `the server refused it (${err.codeName ?? err.code})`;
  return err instanceof Error ? err.message : String(err);
}
