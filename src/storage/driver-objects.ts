/**
 * Recognizes the driver's objects whichever copy of the `mongodb` package made them. A caller's
 * client can come from another copy: Mongoose's `connection.getClient()` brings its own `mongodb`
 * (6.x for Mongoose 8, a 7.x other than ours for Mongoose 9), as does an app pinned to mongodb
 * 6. Their clients and errors are not `instanceof` this package's classes, so they are
 * recognized by shape and by class name.
 */
import { MongoClient, MongoServerError, type ObjectId } from 'mongodb';
import { bsonKindOf, OWN_BSON, type ClientBson } from '../data/bson-value.js';
import { MongoSessConfigError } from '../edge/errors.js';

/** The driver majors mongosess works with (the API it uses: findOneAndUpdate returning the document, …). */
const SUPPORTED_MAJORS = [6, 7] as const;

/** Whether `value` is a MongoClient from any copy of the driver: the methods mongosess uses. */
export function isMongoClient(value: unknown): value is MongoClient {
  if (value instanceof MongoClient) return true;
  const client = value as (Partial<Record<'db' | 'connect' | 'close' | 'startSession', unknown>> & { options?: unknown }) | null;
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof client.db === 'function' &&
    typeof client.connect === 'function' &&
    typeof client.close === 'function' &&
    typeof client.startSession === 'function' &&
    typeof client.options === 'object' &&
    client.options !== null
  );
}

/**
 * The version of the driver that made `client`, from its handshake metadata (a plain object in
 * 6.x, a promise of one in 7.x), or undefined if it does not say.
 */
export async function driverVersion(client: MongoClient): Promise<string | undefined> {
  try {
    const metadata: unknown = await (client.options as { metadata?: unknown }).metadata;
    const version = (metadata as { driver?: { version?: unknown } } | undefined)?.driver?.version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a client's driver version is not supported, or undefined when it is (or does not say).
 * A bundled copy can append its wrapper's version after a '|' (driverInfo): the first counts.
 */
export function unsupportedDriver(version: string | undefined): string | undefined {
  if (version === undefined) return undefined;
  const major = driverMajor(version);
  if (SUPPORTED_MAJORS.some((supported) => supported === major)) return undefined;
  return `client comes from mongodb ${version.split('|')[0]}, which mongosess does not support: pass a MongoClient from mongodb ${SUPPORTED_MAJORS.map((m) => `${m}.x`).join(' or ')} (Mongoose 8 and 9's getClient() qualify)`;
}

/**
 * The BSON library of a caller's `client` (whose driver `version` says, if it does): its major
 * and its ObjectId class, which the driver's default pkFactory makes (in mongodb 6.x and 7.x).
 * A pkFactory of the app's own may make other ids: the driver's major is then its bson's, and
 * only this package's major has a class at hand. Throws a MongoSessConfigError when the client
 * tells neither.
 */
export function clientBson(client: MongoClient, version: string | undefined): ClientBson {
  const { pkFactory } = client.options;
  if (client instanceof MongoClient) return OWN_BSON;
  const pk: unknown = pkFactory.createPk();
  const kind = typeof pk === 'object' && pk !== null ? bsonKindOf(pk) : undefined;
  if (kind?.type === 'ObjectId') {
    const ClientObjectId = (pk as object).constructor as new (hex: string) => ObjectId;
    return { major: kind.major, objectId: (hex) => new ClientObjectId(hex) };
  }
  if (version !== undefined && driverMajor(version) === OWN_BSON.major) return OWN_BSON;
  throw new MongoSessConfigError(
    `client has a pkFactory that makes no ObjectId, and its driver (${version === undefined ? 'of an unknown version' : `mongodb ${version.split('|')[0]}`}) ` +
      "does not use this package's bson: mongosess needs the client's ObjectId class (mongosess 0.4 sessions have ObjectId ids, and stored " +
      'values are checked against it). Pass a client without a pkFactory of its own, or let mongosess create one (uri)',
  );
}

function driverMajor(version: string): number {
  return Number(/^(\d+)\./.exec(version)?.[1]);
}

/** Whether `value` is an instance of a class named `name` (or of a subclass), from any copy of the driver. */
function isInstanceNamed(value: unknown, name: string): boolean {
  for (
    let proto = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : null;
    proto;
    proto = Object.getPrototypeOf(proto)
  ) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === name) return true;
  }
  return false;
}

/** An error the server answered (a code, a code name), from any copy of the driver. */
export function isServerError(err: unknown): err is MongoServerError {
  return err instanceof MongoServerError || isInstanceNamed(err, 'MongoServerError');
}

/** The client was closed (or never connected), from any copy of the driver. */
export function isClientClosedError(err: unknown): boolean {
  return isInstanceNamed(err, 'MongoNotConnectedError') || isInstanceNamed(err, 'MongoTopologyClosedError');
}
