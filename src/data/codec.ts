import { describeKey, invalid } from './path.js';
import { checkSealingClient, isSealed, open, seal, SEALED_SUBTYPE, type EncryptionSettings } from './encryption.js';
import type { ClientBson } from './bson-value.js';
import { MongoSessDecryptionError, MongoSessError, warning } from '../edge/errors.js';

/**
 * The seam between the user's data and what is stored: every value a `set()` writes passes
 * `encode`, every stored data object a reader sees passes `decode`, and every key a write path
 * or a filter names passes `checkPath`/`checkFilterKey`. Encryption at rest (data/encryption.ts)
 * plugs in here; without it the codec changes nothing.
 *
 * Stored data is otherwise opaque: regenerate() and the move of a 0.4 session copy it as stored
 * (an encrypted value opens under any session id, see data/encryption.ts), and the size guard
 * (data/size.ts) charges what is stored.
 */
export interface DataCodec {
  /**
   * Whether values are decrypted with connect's `encryption` keys. Without them a sealed value is a
   * misconfiguration (refused whole); with them, a value one of them did not seal was retired or damaged.
   */
  readonly decrypts: boolean;
  /** Refuses, at connect, a client (by its BSON library) that cannot store what `encode` makes. */
  checkClient(bson: ClientBson): void;
  /** The stored form of the checked value of set()'s key `segments.join('.')`. */
  encode(segments: readonly string[], value: unknown): unknown;
  /** Refuses a del() path the codec cannot apply. */
  checkPath(segments: readonly string[], action: 'del'): void;
  /** Refuses a filter key (endAll, countSessions, listSessions) on data stored unqueryable. */
  checkFilterKey(segments: readonly string[]): void;
  /**
   * The user's data from a stored data object (the same object when nothing changes). Throws a
   * MongoSessDecryptionError when any value does not decode: a session is served whole or not at all.
   */
  decode(stored: Record<string, unknown>): Record<string, unknown>;
}

/** Distinct decryption failures remembered, so that warnings stay bounded too. */
const MAX_WARNED = 100;

/** Values of the sealed subtype are mongosess's own; a plain one would be misread as encrypted. */
function refuseReserved(segments: readonly string[], value: unknown): void {
  if (segments.length === 1 && isSealed(value)) {
    invalid(
      `the value at ${describeKey(segments[0] as string)} is a Binary of subtype 0x${SEALED_SUBTYPE.toString(16)}, ` +
        'which mongosess reserves for encrypted values; use another subtype',
    );
  }
}

/** No encryption: values are stored as given. */
export const PLAIN_CODEC: DataCodec = {
  decrypts: false,
  checkClient() {},
  encode(segments, value) {
    refuseReserved(segments, value);
    return value;
  },
  checkPath() {},
  checkFilterKey() {},
  decode(stored) {
    for (const key in stored) {
      if (isSealed(stored[key])) {
        throw new MongoSessDecryptionError(
          `the session cannot be read: the value of key ${describeKey(key)} is encrypted, and connect() has no encryption option. ` +
            'Nothing of the session was served. Pass encryption: { keys } with the key it was written with',
        );
      }
    }
    return stored;
  },
};

/**
 * Encrypts the value of each top-level key (or of the keys in `fields`) with the newest key, and
 * decrypts with whichever configured key sealed a value. Values stored in clear (written before
 * encryption was turned on) are served as they are and encrypted when next set.
 */
export function encryptingCodec(settings: EncryptionSettings, warn: (message: string) => void): DataCodec {
  const { fields } = settings;
  const encrypts = fields ? (key: string) => fields.has(key) : () => true;
  /** One decryption per stored object: get() reads the session many times within a request. */
  const decoded = new WeakMap<object, Record<string, unknown>>();
  /** Each distinct failure is warned about once per process, so a bad key cannot flood the logs. */
  const warned = new Set<string>();

  const refuseIfEncrypted = (segments: readonly string[], what: string, fix: string): void => {
    const top = segments[0] as string;
    if (encrypts(top)) {
      invalid(
        `${what} ${describeKey(segments.join('.'))}: ${describeKey(top)} is encrypted ` +
          `(${fields ? 'listed in encryption.fields' : 'encryption without fields encrypts every key'}), ${fix}`,
      );
    }
  };

  return {
    decrypts: true,
    checkClient: checkSealingClient,
    encode(segments, value) {
      if (segments.length > 1) {
        refuseIfEncrypted(segments, 'set() cannot write into', `so its value is stored whole; set the whole key instead`);
        return value;
      }
      refuseReserved(segments, value);
      const key = segments[0] as string;
      return encrypts(key) ? seal(settings, key, value) : value;
    },
    checkPath(segments) {
      if (segments.length > 1)
        refuseIfEncrypted(segments, 'del() cannot remove', 'so its value is stored whole; set the whole key instead');
    },
    checkFilterKey(segments) {
      refuseIfEncrypted(segments, 'cannot filter on', 'so the database cannot compare it; leave it out of encryption.fields to query it');
    },
    decode(stored) {
      const cached = decoded.get(stored);
      if (cached) return cached;
      let copy: Record<string, unknown> | undefined;
      for (const key in stored) {
        const value = stored[key];
        if (!isSealed(value)) continue;
        copy ??= { ...stored };
        try {
          copy[key] = open(settings, key, value);
        } catch (err) {
          if (err instanceof MongoSessError && !warned.has(err.message) && warned.size < MAX_WARNED) {
            warned.add(err.message);
            warn(warning(`${err.message.replace(/^mongosess: /, '')} (warned once per process for each cause)`));
          }
          throw err;
        }
      }
      const result = copy ?? stored;
      decoded.set(stored, result);
      return result;
    },
  };
}
