import type { W, WriteConcernSettings } from 'mongodb';
import { checkObject, describe, fail } from '../config/validate-option.js';

/**
 * The write concern of the writes that end sessions (`end`, `regenerate`'s claim of the old id,
 * `endAll`, tombstones, and the removal or claim of 0.4 sessions). A logout that a failover rolls
 * back is a session brought back to life, so these wait for a majority of the replica set.
 */
export interface EndingWriteConcern {
  /**
   * How many members must have the write: a number (1 or more), `'majority'`, or the name of a
   * custom write concern (replica set tags).
   */
  w?: number | 'majority' | (string & {});
  /** How long the server waits for `w` before reporting an error (the write itself is not undone). */
  wtimeoutMS?: number;
  /** Wait until the write is in the on-disk journal. */
  journal?: boolean;
}

export const DEFAULT_ENDING_WRITE_CONCERN: Readonly<WriteConcernSettings> = Object.freeze({ w: 'majority' });

const KNOWN = ['w', 'wtimeoutMS', 'journal'];
/** The driver's deprecated spellings, and options that are not part of a write concern. */
const INSTEAD: Record<string, string> = {
  j: 'journal',
  wtimeout: 'wtimeoutMS',
  fsync: 'journal',
  timeoutMS: "wtimeoutMS (timeoutMS is the driver's whole-operation timeout: set it in clientOptions)",
};

/** Checks a `writeConcern` option; returns it as the driver takes it. */
export function endingWriteConcern(name: string, value: unknown, fallback: Readonly<WriteConcernSettings>): WriteConcernSettings {
  if (value === undefined) return { ...fallback };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(`${name} must be an object such as { w: 'majority' }, got: ${describe(value)}`);
  }
  const settings = checkObject(name, value);
  for (const key of Object.keys(settings)) {
    const instead = INSTEAD[key];
    if (instead) fail(`${name}.${key} is not supported; use ${instead}`);
    if (!KNOWN.includes(key)) fail(`unknown ${name} option "${key}"; the options are: ${KNOWN.join(', ')}`);
  }
  const { w, wtimeoutMS, journal } = settings;
  if (w !== undefined) {
    if (w === 0) {
      fail(`${name}.w must not be 0: an unacknowledged write cannot tell that a session was ended; use 'majority' or 1`);
    }
    const count = typeof w === 'number' && Number.isSafeInteger(w) && w > 0;
    const tag = typeof w === 'string' && w.length > 0;
    if (!count && !tag) fail(`${name}.w must be 'majority', a positive integer or a write concern tag name, got: ${describe(w)}`);
  }
  if (wtimeoutMS !== undefined && (typeof wtimeoutMS !== 'number' || !Number.isSafeInteger(wtimeoutMS) || wtimeoutMS < 0)) {
    fail(`${name}.wtimeoutMS must be a non-negative integer number of ms, got: ${describe(wtimeoutMS)}`);
  }
  if (journal !== undefined && typeof journal !== 'boolean') fail(`${name}.journal must be true or false, got: ${describe(journal)}`);
  return toDriver(settings as EndingWriteConcern);
}

/**
 * A copy in the driver's shape. The driver's type names only numbers and 'majority' for `w`,
 * but servers also accept custom write concern names, and the driver passes them on.
 */
function toDriver({ w, wtimeoutMS, journal }: EndingWriteConcern): WriteConcernSettings {
  return {
    ...(w !== undefined ? { w: w as W } : {}),
    ...(wtimeoutMS !== undefined ? { wtimeoutMS } : {}),
    ...(journal !== undefined ? { journal } : {}),
  };
}
