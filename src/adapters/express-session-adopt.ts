// The `adopt` option of `mongosess/express-session`: switching from express-session +
// connect-mongo without logging anyone out. A request that carries a live express-session cookie
// (signed `s:<id>.<signature>`, checked with the old secret) and no mongosess session of its own
// moves into mongosess on first use: a new hashed id and cookie, the old data, the old document
// deleted and the old cookie cleared. The new id is an HMAC of the old one under the old secret,
// so parallel requests with one old cookie arrive at the same new session (the first stores it,
// insert-only; the others find it); it is as secret as the old secret.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import MongoSess from 'mongosess';
import type { Session } from './framework-types.js';

/** The slice of a driver `Collection` that adoption uses: pass `client.db(name).collection('sessions')`. */
export interface AdoptCollection {
  /** Reads the connect-mongo document of an old session id. */
  findOne(filter: { _id: string }): Promise<unknown>;
  /** Deletes it once the session moved into mongosess. */
  deleteOne(filter: { _id: string }): Promise<unknown>;
}

/** The `adopt` option: where express-session + connect-mongo kept their sessions. */
export interface AdoptOptions {
  /**
   * express-session's cookie name (its `name` option).
   * @default 'connect.sid'
   */
  name?: string;
  /** express-session's secret(s): a cookie whose signature none of them made is never adopted. */
  secret: string | readonly string[];
  /** connect-mongo's collection, as a driver Collection (`client.db(name).collection('sessions')`). */
  collection: AdoptCollection;
  /**
   * express-session's cookie path, to clear the old cookie.
   * @default '/'
   */
  path?: string;
}

/** The adopt option, checked. */
export interface Adoption {
  readonly name: string;
  readonly secrets: readonly string[];
  readonly collection: AdoptCollection;
  readonly path: string;
}

const ADOPT_KNOWN = ['name', 'secret', 'collection', 'path'];
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function fail(message: string): never {
  throw new MongoSess.MongoSessConfigError(`mongosess/express-session: ${message}`);
}

export function resolveAdoption(input: unknown): Adoption | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('adopt must be an object { secret, collection, name? }');
  const options = input as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!ADOPT_KNOWN.includes(key)) fail(`unknown adopt option "${key}"; the adopt options are: ${ADOPT_KNOWN.join(', ')}`);
  }
  const { name = 'connect.sid', secret, collection, path = '/' } = options;
  if (typeof name !== 'string' || !TOKEN.test(name)) fail('adopt.name must be a cookie name');
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (!Array.isArray(secrets) || secrets.length === 0 || !secrets.every((s) => typeof s === 'string' && s.length > 0)) {
    fail("adopt.secret must be express-session's secret: a non-empty string or array of strings");
  }
  const handle = collection as Partial<AdoptCollection> | null | undefined;
  if (typeof handle?.findOne !== 'function' || typeof handle.deleteOne !== 'function') {
    fail("adopt.collection must be connect-mongo's collection (client.db(name).collection('sessions'))");
  }
  if (typeof path !== 'string' || !path.startsWith('/') || /[;\s]/.test(path)) fail('adopt.path must start with / and hold no ; or space');
  return { name, secrets: secrets as string[], collection: handle as AdoptCollection, path };
}

/** The value of cookie `name` in a Cookie header, if present. */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * express-session's session id from its cookie: `s:<id>.<signature>` (URL-encoded), the signature
 * being cookie-signature's (HMAC-SHA256, base64 without padding) under one of the secrets.
 * Undefined for an unsigned, badly signed or malformed cookie: those are never adopted.
 */
export function unsignOldCookie(raw: string | undefined, secrets: readonly string[]): string | undefined {
  if (!raw) return undefined;
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (!value.startsWith('s:')) return undefined;
  const signed = value.slice(2);
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, ''));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return id;
  }
  return undefined;
}

/** The mongosess id an old session moves to: the same for every request carrying it. */
function adoptedId(oldId: string, secrets: readonly string[]): string {
  return createHmac('sha256', secrets[0] ?? '')
    .update(`mongosess adopt\0${oldId}`)
    .digest('base64url');
}

/** connect-mongo's document: `{ _id, expires, session }`, `session` as JSON text (its default) or an object. */
async function loadOld(collection: AdoptCollection, oldId: string): Promise<Record<string, unknown> | undefined> {
  const doc = (await collection.findOne({ _id: oldId })) as { expires?: unknown; session?: unknown } | null;
  if (!doc) return undefined;
  if (doc.expires instanceof Date && doc.expires.getTime() <= Date.now()) return undefined;
  let data: unknown = doc.session;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  // express-session's `cookie` is its cookie's settings, not data: mongosess keeps those itself.
  const { cookie: _cookie, ...rest } = data as Record<string, unknown>;
  return rest;
}

/**
 * Moves the request's old session into `core` if there is one to move (see above); then deletes
 * the old document and clears the old cookie. A request with a mongosess session of its own is
 * left alone (its old cookie is cleared).
 */
export async function adoptOld(adoption: Adoption, core: Session, cookieHeader: string | undefined, res: ServerResponse): Promise<void> {
  const oldId = unsignOldCookie(readCookie(cookieHeader, adoption.name), adoption.secrets);
  if (oldId === undefined) return;
  const adopted = await core.adopt(adoptedId(oldId, adoption.secrets), () => loadOld(adoption.collection, oldId));
  if (adopted) await adoption.collection.deleteOne({ _id: oldId });
  clearOldCookie(res, adoption);
}

function clearOldCookie(res: ServerResponse, { name, path }: Adoption): void {
  if (res.headersSent) return;
  const current = res.getHeader('set-cookie');
  const lines = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
  res.setHeader('set-cookie', [...lines, `${name}=; Path=${path}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly`]);
}
