import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomFillSync, scryptSync, type KeyObject } from 'node:crypto';
import { Binary, BSON } from 'mongodb';
import { MongoSessConfigError, MongoSessDecryptionError } from '../edge/errors.js';
import { isBinaryLike, OWN_BSON, type BinaryLike, type ClientBson } from './bson-value.js';
import { checkObject, describe, fail } from '../config/validate-option.js';

/**
 * Encryption of one session value at rest: AES-256-GCM from node:crypto, a fresh random IV per
 * value, and the id of the key that sealed it stored with it, so that older keys keep opening
 * what they sealed while the newest seals everything written from now on (rotation).
 *
 * A sealed value is a BSON Binary of the user-defined subtype SEALED_SUBTYPE:
 *
 *     format (1 byte, 1) | key id (4) | IV (12) | ciphertext | GCM tag (16)
 *
 * The plaintext is the value serialized as BSON (`{ v: value }`), so a Date, ObjectId, Binary,
 * Decimal128 or nested document comes back as what was stored. The associated data (checked by
 * the tag, not stored twice) is the format byte, the key id and the data key's name: a value
 * copied under another key does not open.
 */

/** BSON Binary subtype of sealed values (0x80 to 0xff are user-defined); reserved for them. */
export const SEALED_SUBTYPE = 0x8e;
const FORMAT = 1;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
const OVERHEAD = HEADER_BYTES + IV_BYTES + TAG_BYTES;
export const KEY_BYTES = 32;

/**
 * The KDF for passphrases: scrypt (memory-hard, in node:crypto) with a fixed salt and fixed
 * parameters. Every app server must derive the same key from the same passphrase with nothing
 * stored, so the salt cannot be random; a salt unique to mongosess still keeps tables computed
 * for other software useless, and the passphrase itself must be long (PASSPHRASE_MIN). N = 2^15,
 * r = 8 (32 MiB, about 0.1 s once per key at connect) is scrypt's interactive-login setting.
 * Changing any of these changes every derived key: they are part of the stored format.
 */
export const KDF = { salt: 'mongosess/encryption/v1', N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
/** A passphrase must be at least this long, with at least PASSPHRASE_DISTINCT different characters. */
export const PASSPHRASE_MIN = 32;
export const PASSPHRASE_DISTINCT = 10;

const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$|^[A-Za-z0-9_-]{43}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** The `encryption` option of `connect()`. */
export interface EncryptionOptions {
  /**
   * The keys, newest first: the newest encrypts every value written, each one decrypts what it
   * encrypted. A key is 32 bytes (a Buffer, or a string of them in base64 or hex, e.g. from
   * `openssl rand -base64 32`), or a passphrase of at least 32 characters, stretched by scrypt.
   * To rotate, put the new key first and keep the old ones until nothing written with them is left.
   */
  keys: readonly (string | Buffer | Uint8Array)[];
  /**
   * Only these top-level data keys are encrypted; the others stay in clear, so `endAll`,
   * `countSessions`, `listSessions` and indexes can filter on them.
   * @default every key is encrypted
   */
  fields?: readonly string[];
}

/** One usable key: its AES key and the 4-byte id stored with what it seals. */
interface SealingKey {
  id: number;
  key: KeyObject;
}

/** The `encryption` option, checked: keys ready to use, and which data keys they apply to. */
export interface EncryptionSettings {
  /** Newest first. */
  keys: readonly SealingKey[];
  /** undefined: every key. */
  fields: ReadonlySet<string> | undefined;
}

/** Checks the `encryption` option of connect() and derives its keys. Never echoes a key. */
export function resolveEncryption(value: unknown): EncryptionSettings | undefined {
  if (value === undefined) return undefined;
  const options = checkObject('encryption', value);
  for (const name of Object.keys(options)) {
    if (name !== 'keys' && name !== 'fields') fail(`unknown encryption option "${name}"; the options are: keys, fields`);
  }
  const { keys, fields } = options;
  if (!Array.isArray(keys) || keys.length === 0) {
    fail(`encryption.keys must be a non-empty array of keys, newest first, got: ${Array.isArray(keys) ? 'an empty array' : typeof keys}`);
  }
  const sealing: SealingKey[] = [];
  for (const [index, key] of keys.entries()) {
    const bytes = keyBytes(key, `encryption.keys[${index}]`);
    const id = keyId(bytes);
    const same = sealing.findIndex((other) => other.id === id);
    if (same !== -1) fail(`encryption.keys[${index}] is the same key as encryption.keys[${same}] (or shares its id); remove one`);
    sealing.push({ id, key: createSecretKey(bytes) });
  }
  return { keys: sealing, fields: fields === undefined ? undefined : checkFields(fields) };
}

function checkFields(fields: unknown): ReadonlySet<string> {
  if (!Array.isArray(fields) || fields.length === 0) {
    fail('encryption.fields must be a non-empty array of top-level data keys; leave it out to encrypt every key');
  }
  for (const [index, field] of fields.entries()) {
    if (typeof field !== 'string' || field.length === 0 || field.includes('.') || field.startsWith('$')) {
      fail(
        `encryption.fields[${index}] must be a top-level data key (a non-empty string without '.' or a leading '$'), got: ${describe(field)}`,
      );
    }
  }
  return new Set(fields as string[]);
}

/** The 32 bytes of a configured key. Messages describe its shape, never its content. */
function keyBytes(key: unknown, name: string): Buffer {
  const shapes = `a Buffer of ${KEY_BYTES} random bytes, their base64 or hex, or a passphrase of at least ${PASSPHRASE_MIN} characters`;
  if (key instanceof Uint8Array) {
    if (key.length !== KEY_BYTES) fail(`${name} is ${key.length} bytes; it must be ${shapes}`);
    return Buffer.from(key);
  }
  if (typeof key !== 'string') fail(`${name} must be ${shapes}, got: ${key === null ? 'null' : typeof key}`);
  if (BASE64_KEY.test(key)) return Buffer.from(key, key.endsWith('=') ? 'base64' : 'base64url');
  if (HEX_KEY.test(key)) return Buffer.from(key, 'hex');
  const characters = [...key];
  if (characters.length < PASSPHRASE_MIN) fail(`${name} is a passphrase of ${characters.length} characters; it must be ${shapes}`);
  if (new Set(characters).size < PASSPHRASE_DISTINCT) {
    fail(`${name} is a passphrase of fewer than ${PASSPHRASE_DISTINCT} different characters, too easy to guess; it must be ${shapes}`);
  }
  return scryptSync(key.normalize('NFC'), KDF.salt, KEY_BYTES, { N: KDF.N, r: KDF.r, p: KDF.p, maxmem: KDF.maxmem });
}

/** A key's id: the first 4 bytes of an HMAC of a constant, so it says nothing about the key. */
function keyId(bytes: Buffer): number {
  return createHmac('sha256', bytes).update('mongosess key id').digest().readUInt32BE(0);
}

/**
 * IVs come from a pool of random bytes filled 4 KiB at a time: one call into the CSPRNG costs as
 * much as filling hundreds of IVs, and a sealed write would otherwise pay it each time. Each IV
 * is taken once; IVs are not secret (they are stored with the value), only never reused.
 */
const ivPool = Buffer.alloc(IV_BYTES * 341);
let ivAt = ivPool.length;

function nextIv(): Buffer {
  if (ivAt === ivPool.length) {
    randomFillSync(ivPool);
    ivAt = 0;
  }
  const iv = ivPool.subarray(ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return iv;
}

/**
 * Whether a stored value is a sealed one (whatever key sealed it), as any client's driver reads
 * it back: a mongodb 6.x client's is a bson 6 Binary.
 */
export function isSealed(value: unknown): value is BinaryLike {
  return isBinaryLike(value) && value.sub_type === SEALED_SUBTYPE;
}

/**
 * Refuses (at connect) a client that cannot write sealed values: they are Binary values of this
 * package's bson, and a client of another bson major (mongodb 6.x) refuses those. Its own Binary
 * class is out of reach, and the values inside a sealed one (an ObjectId) would come back as
 * this package's, which it could not write either.
 */
export function checkSealingClient(client: ClientBson): void {
  if (client.major === OWN_BSON.major) return;
  throw new MongoSessConfigError(
    `encryption needs a client from mongodb ${OWN_BSON.major}.x: encrypted values are bson ${OWN_BSON.major} Binary values, which the ` +
      `client passed (mongodb ${client.major}.x, such as Mongoose 8's getClient()) cannot write. Pass a MongoClient from mongodb ` +
      `${OWN_BSON.major}.x (Mongoose 9's getClient() qualifies), or let mongosess create one (uri)`,
  );
}

function additionalData(header: Uint8Array, name: string): Buffer {
  return Buffer.concat([header, Buffer.from(name, 'utf8')]);
}

/** Encrypts `value` (a checked session value) under data key `name` with the newest key. */
export function seal(settings: EncryptionSettings, name: string, value: unknown): Binary {
  const { id, key } = settings.keys[0] as SealingKey;
  const plaintext = BSON.serialize({ v: value });
  const out = Buffer.allocUnsafe(OVERHEAD + plaintext.length);
  out.writeUInt8(FORMAT, 0);
  out.writeUInt32BE(id, 1);
  const iv = nextIv();
  iv.copy(out, HEADER_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(out.subarray(0, HEADER_BYTES), name));
  let at = HEADER_BYTES + IV_BYTES;
  at += cipher.update(plaintext).copy(out, at);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return new Binary(out, SEALED_SUBTYPE);
}

/**
 * Decrypts a sealed value stored under data key `name`. Throws a MongoSessDecryptionError that
 * names the key and the reason, never the value or any key material.
 */
export function open(settings: EncryptionSettings, name: string, sealed: BinaryLike): unknown {
  const bytes = Buffer.from(sealed.buffer.buffer, sealed.buffer.byteOffset, sealed.position);
  if (bytes.length < OVERHEAD || bytes[0] !== FORMAT) {
    throw unreadable(name, `it is not an encrypted value of a format this version knows (truncated or damaged)`);
  }
  const id = bytes.readUInt32BE(1);
  const key = settings.keys.find((candidate) => candidate.id === id);
  if (!key) {
    throw unreadable(name, `it was encrypted with a key that is not in encryption.keys (key id ${id.toString(16).padStart(8, '0')})`);
  }
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(additionalData(bytes.subarray(0, HEADER_BYTES), name));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    plaintext = Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES + IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    // The cause (OpenSSL's "Unsupported state or unable to authenticate data") says no more.
    throw unreadable(name, 'it fails authentication (tampered, truncated, copied from another key, or a different key with the same id)');
  }
  return BSON.deserialize(plaintext)['v'];
}

function unreadable(name: string, reason: string): MongoSessDecryptionError {
  return new MongoSessDecryptionError(
    `the session cannot be read: the value of key ${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)} does not decrypt: ` +
      `${reason}. Nothing of the session was served. Add the key it was written with to encryption.keys, ` +
      'or set() that key again or end() the session',
  );
}
