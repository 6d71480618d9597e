import { MongoClient } from 'mongodb';
import { uniqueDbName } from './db.js';

/**
 * Whether the server at `uri` applies concurrent updates of one document atomically, as MongoDB
 * does: 50 parallel `$inc`s of one field must give 50. FerretDB 1.x (SQLite backend) reads,
 * modifies and writes back without a lock, and loses some.
 */
export async function updatesAreAtomic(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    const probe = client.db(uniqueDbName('atomic')).collection<{ _id: string; n: number }>('probe');
    await probe.insertOne({ _id: 'x', n: 0 });
    await Promise.all(Array.from({ length: 50 }, () => probe.updateOne({ _id: 'x' }, { $inc: { n: 1 } })));
    const n = (await probe.findOne({ _id: 'x' }))?.n;
    await probe.drop();
    return n === 50;
  } finally {
    await client.close();
  }
}
