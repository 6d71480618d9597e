// The options every framework integration takes: the session options, the store whose sessions
// the requests get, and session options that depend on the request. Like the integrations, it
// reaches mongosess through the main entry only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import MongoSess from 'mongosess';
import type { MongoSessStore, Session, SessionOptions } from './framework-types.js';

/** Options of `mongosess/express`, `/koa` and `/fastify`: those of `new MongoSess(req, res, options)`, and two more. */
export interface FrameworkOptions<Request> extends SessionOptions {
  /**
   * The store whose sessions the requests get (connect it before serving).
   * @default MongoSess's own store, the one `MongoSess.connect()` connects
   */
  store?: MongoSessStore;
  /**
   * Session options that depend on the request, over the others: a tenant's cookie domain, for
   * example. Called once per request; each distinct result (compared by value) is checked once,
   * not per request, and the last 1000 distinct results are kept.
   * @default undefined (the same options for every request)
   */
  perRequest?: (request: Request) => SessionOptions | undefined;
}

/** How many distinct `perRequest` results one integration keeps resolved. */
export const PER_REQUEST_CACHE_SIZE = 1000;

/** What an integration needs: each request's options, and the session for them. */
export interface FrameworkSessions<Request> {
  optionsFor(request: Request): SessionOptions | undefined;
  open(req: IncomingMessage, res: ServerResponse, options: SessionOptions | undefined): Session;
}

/**
 * Reads an integration's options (an options object, or a function of the request that returns
 * session options, the same as `{ perRequest: fn }`). Bad `store` or `perRequest` values throw
 * here, when the integration is set up; the session options are checked at the first request.
 */
export function frameworkSessions<Request>(
  input: FrameworkOptions<Request> | ((request: Request) => SessionOptions | undefined) | undefined,
): FrameworkSessions<Request> {
  const options: FrameworkOptions<Request> = typeof input === 'function' ? { perRequest: input } : (input ?? {});
  const { store, perRequest, ...rest } = options;
  if (store !== undefined && !(store instanceof MongoSess.MongoSessStore)) {
    throw new MongoSess.MongoSessConfigError(`store must be a MongoSessStore (new MongoSessStore(options)), got: ${typeof store}`);
  }
  if (perRequest !== undefined && typeof perRequest !== 'function') {
    throw new MongoSess.MongoSessConfigError(`perRequest must be a function of the request, got: ${typeof perRequest}`);
  }
  // Without options, none: the session then uses its defaults (resolved once by mongosess).
  const base: SessionOptions | undefined = input === undefined ? undefined : rest;
  const open: FrameworkSessions<Request>['open'] = store
    ? (req, res, options) => store.session(req, res, options)
    : (req, res, options) => MongoSess(req, res, options);
  if (!perRequest) return { optionsFor: () => base, open };
  const cache = new OptionsCache(base, PER_REQUEST_CACHE_SIZE);
  return { optionsFor: (request) => cache.get(perRequest(request)), open };
}

/**
 * The options of each distinct `perRequest` result, merged over the base options. Equal results
 * (even fresh objects each time) map to one options object, which mongosess resolves and checks
 * once (it caches by object). Least recently used results go first past `limit`.
 */
export class OptionsCache {
  readonly #base: SessionOptions | undefined;
  readonly #limit: number;
  readonly #entries = new Map<string, SessionOptions>();

  constructor(base: SessionOptions | undefined, limit: number) {
    this.#base = base;
    this.#limit = limit;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(result: SessionOptions | undefined): SessionOptions | undefined {
    if (result === undefined) return this.#base;
    // Not an options object: passed on for mongosess to report.
    if (typeof result !== 'object' || result === null) return result;
    const key = optionsKey(result);
    const known = this.#entries.get(key);
    if (known) {
      this.#entries.delete(key);
      this.#entries.set(key, known);
      return known;
    }
    const merged: SessionOptions = { ...this.#base, ...result };
    this.#entries.set(key, merged);
    if (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return merged;
  }
}

/** Numbers for objects compared by identity (a Keygrip, a function): never reused, never leaked. */
const identities = new WeakMap<object, number>();
let nextIdentity = 0;

function identityOf(value: object): string {
  let id = identities.get(value);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(value, id);
  }
  return `#${id}`;
}

/** A value as text: equal options give equal text. Strings are quoted, so no two kinds collide. */
function valueKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (Buffer.isBuffer(value)) return `b:${value.toString('base64')}`;
      return identityOf(value);
    case 'function':
      return identityOf(value);
    case 'symbol':
      return `s:${String(value.description)}`;
    default:
      return `${typeof value}:${String(value)}`;
  }
}

/**
 * The text of one options object: its own keys in order, with their values. An array (`keys`)
 * counts by its items, any other object (a Keygrip) by identity. It stays in memory only; it
 * holds the keys' text, as the options do.
 */
export function optionsKey(options: object): string {
  const record = options as Record<string, unknown>;
  return Object.keys(record)
    .sort()
    .map((name) => {
      const value = record[name];
      const text = Array.isArray(value) ? `[${value.map(valueKey).join(',')}]` : valueKey(value);
      return `${JSON.stringify(name)}:${text}`;
    })
    .join(',');
}
