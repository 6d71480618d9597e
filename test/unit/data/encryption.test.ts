// Keys are checked and derived at configuration; sealed values round-trip with their BSON types,
// carry their key's id (rotation), and any damage makes them refuse to open, saying nothing secret.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Binary, Decimal128, Long, ObjectId } from 'mongodb';
import { isSealed, KDF, open, resolveEncryption, seal, SEALED_SUBTYPE, type EncryptionSettings } from '../../../src/data/encryption.js';
import { MongoSessConfigError, MongoSessDecryptionError } from '../../../src/edge/errors.js';

const KEY = randomBytes(32);
const OLD_KEY = randomBytes(32);
const PASSPHRASE = 'correct horse battery staple, with a pinch of salt';

function settings(keys: unknown[], fields?: string[]): EncryptionSettings {
  const resolved = resolveEncryption(fields ? { keys, fields } : { keys });
  assert.ok(resolved);
  return resolved;
}

/** A change that flips the low bit of one byte (or sets it to `value`). */
function setByte(at: (bytes: Buffer) => number, value?: number): (bytes: Buffer) => Buffer {
  return (bytes) => {
    const index = at(bytes);
    bytes[index] = value ?? (bytes[index] as number) ^ 1;
    return bytes;
  };
}

/** The stored bytes of a sealed value, as a Buffer to damage. */
function bytesOf(sealed: Binary): Buffer {
  return Buffer.from(sealed.buffer.subarray(0, sealed.position));
}

describe('encryption keys at configuration', () => {
  it('takes 32 bytes as a Buffer, a Uint8Array, base64, base64url or hex: all the same key', () => {
    const sealed = seal(settings([KEY]), 'k', 'v');
    for (const form of [new Uint8Array(KEY), KEY.toString('base64'), KEY.toString('base64url'), KEY.toString('hex')]) {
      assert.equal(open(settings([form]), 'k', sealed), 'v');
    }
  });

  it('stretches a passphrase with scrypt, with fixed parameters: every server derives the same key', () => {
    assert.deepEqual({ ...KDF }, { salt: 'mongosess/encryption/v1', N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const sealed = seal(settings([PASSPHRASE]), 'k', 'v');
    assert.equal(open(settings([PASSPHRASE]), 'k', sealed), 'v');
    assert.throws(() => open(settings([`${PASSPHRASE}!`]), 'k', sealed), MongoSessDecryptionError);
  });

  const refused: [string, unknown, RegExp][] = [
    ['no option object', 'secret', /encryption must be an object/],
    ['no keys', {}, /encryption\.keys must be a non-empty array of keys, newest first, got: undefined/],
    ['an empty key list', { keys: [] }, /got: an empty array/],
    ['a key of 16 bytes', { keys: [randomBytes(16)] }, /encryption\.keys\[0\] is 16 bytes; it must be a Buffer of 32 random bytes/],
    ['a short passphrase', { keys: ['hunter2hunter2'] }, /encryption\.keys\[0\] is a passphrase of 14 characters; it must be/],
    ['a repetitive passphrase', { keys: ['ab'.repeat(20)] }, /fewer than 10 different characters, too easy to guess/],
    ['a number', { keys: [KEY, 42] }, /encryption\.keys\[1\] must be .*, got: number/],
    ['the same key twice', { keys: [KEY, KEY.toString('base64')] }, /encryption\.keys\[1\] is the same key as encryption\.keys\[0\]/],
    ['an unknown option', { keys: [KEY], field: ['a'] }, /unknown encryption option "field"; the options are: keys, fields/],
    ['empty fields', { keys: [KEY], fields: [] }, /encryption\.fields must be a non-empty array/],
    ['a dotted field', { keys: [KEY], fields: ['user.email'] }, /encryption\.fields\[0\] must be a top-level data key/],
  ];
  for (const [what, value, message] of refused) {
    it(`refuses ${what} with a config error that says how to fix it`, () => {
      assert.throws(
        () => resolveEncryption(value),
        (err: unknown) => err instanceof MongoSessConfigError && message.test(err.message),
      );
    });
  }

  it('never echoes a key in an error', () => {
    const secrets = ['short-secret-123', 'x'.repeat(40), randomBytes(16).toString('base64')];
    for (const secret of secrets) {
      assert.throws(
        () => resolveEncryption({ keys: [secret] }),
        (err: unknown) => err instanceof MongoSessConfigError && !err.message.includes(secret.slice(0, 8)),
      );
    }
  });
});

describe('sealed values', () => {
  const s = settings([KEY]);

  it('keep their BSON types: Date, ObjectId, Binary, Decimal128, Long, nested documents and arrays', () => {
    const value = {
      at: new Date('2024-05-06T07:08:09.010Z'),
      id: new ObjectId(),
      bin: new Binary(Buffer.from([1, 2, 3]), 4),
      price: Decimal128.fromString('19.99'),
      big: Long.fromString('9007199254740993'),
      nested: { list: [1, 'two', { three: null }], deep: { on: true } },
    };
    const back = open(s, 'cart', seal(s, 'cart', value)) as typeof value;
    assert.ok(back.at instanceof Date && back.at.getTime() === value.at.getTime());
    assert.ok(back.id instanceof ObjectId && back.id.equals(value.id));
    assert.ok(back.bin instanceof Binary && back.bin.sub_type === 4);
    assert.deepEqual(Buffer.from(back.bin.buffer), Buffer.from([1, 2, 3]));
    assert.ok(back.price instanceof Decimal128 && back.price.toString() === '19.99');
    // As the driver reads a Long that does not fit a double: still a Long.
    assert.equal(String(back.big), '9007199254740993');
    assert.deepEqual(back.nested, value.nested);
    for (const scalar of ['text', 0, -1.5, true, null, '']) assert.equal(open(s, 'k', seal(s, 'k', scalar)), scalar);
  });

  it('are Binary of the reserved subtype, with a fresh IV each time and no plaintext in the bytes', () => {
    const a = seal(s, 'email', 'ann@example.com');
    const b = seal(s, 'email', 'ann@example.com');
    assert.ok(isSealed(a) && a.sub_type === SEALED_SUBTYPE);
    assert.notDeepEqual(bytesOf(a), bytesOf(b));
    assert.notDeepEqual(bytesOf(a).subarray(5, 17), bytesOf(b).subarray(5, 17), 'the IVs differ');
    assert.ok(!bytesOf(a).includes(Buffer.from('example')));
  });

  it('open with an older key after rotation; new values are sealed with the newest', () => {
    const old = settings([OLD_KEY]);
    const rotated = settings([KEY, OLD_KEY]);
    const before = seal(old, 'k', 'written before rotation');
    assert.equal(open(rotated, 'k', before), 'written before rotation');
    const after = seal(rotated, 'k', 'written after');
    assert.equal(open(s, 'k', after), 'written after', 'the newest key sealed it');
    assert.throws(() => open(old, 'k', after), /encrypted with a key that is not in encryption\.keys \(key id [0-9a-f]{8}\)/);
  });

  it('refuse to open when tampered, truncated, under another key name or with a wrong key, naming no value', () => {
    const sealed = seal(s, 'token', 'secret-oauth-token');
    const damaged = (change: (bytes: Buffer) => Buffer) => new Binary(change(bytesOf(sealed)), SEALED_SUBTYPE);
    const cases: [string, () => unknown, RegExp][] = [
      ['a flipped ciphertext bit', () => open(s, 'token', damaged(setByte(() => 20))), /fails authentication/],
      ['a flipped tag bit', () => open(s, 'token', damaged(setByte((b) => b.length - 1))), /fails authentication/],
      [
        'the tag cut off',
        () =>
          open(
            s,
            'token',
            damaged((b) => b.subarray(0, b.length - 16)),
          ),
        /fails authentication/,
      ],
      [
        'cut to a few bytes',
        () =>
          open(
            s,
            'token',
            damaged((b) => b.subarray(0, 10)),
          ),
        /truncated or damaged/,
      ],
      ['an unknown format', () => open(s, 'token', damaged(setByte(() => 0, 9))), /truncated or damaged/],
      ['moved under another key name', () => open(s, 'role', sealed), /fails authentication/],
      ['a wrong key', () => open(settings([OLD_KEY]), 'token', sealed), /not in encryption\.keys/],
    ];
    for (const [what, run, reason] of cases) {
      assert.throws(
        run,
        (err: unknown) =>
          err instanceof MongoSessDecryptionError &&
          err.name === 'MongoSessDecryptionError' &&
          reason.test(err.message) &&
          err.message.includes('"token"') === (what !== 'moved under another key name') &&
          !err.message.includes('secret-oauth') &&
          !err.message.includes(KEY.toString('base64').slice(0, 8)),
        what,
      );
    }
  });
});
